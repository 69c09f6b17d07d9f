"""The `minorguard` command's entry point: loads the command line under a Ctrl-C guard.

Loading the command (OpenCV, ONNX Runtime, the register's database layer) takes most of a second, and a Ctrl-C in it
printed Python's traceback and ended with the signal's status; the command's own handling starts only once it has
loaded. This module imports nothing heavy itself.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def run() -> None:
    try:
        from minorguard.cli import main
    except KeyboardInterrupt:
        sys.exit(_interrupted())
    sys.exit(main())


def _interrupted() -> int:
    from minorguard.locale import t
    from minorguard.locale.choice import lang_in_argv

    try:
        sys.stderr.write(t("cli.interrupted", lang_in_argv(sys.argv[1:])) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # no stderr left to say it on: the exit code says it
        pass
    return EXIT_INTERRUPTED
