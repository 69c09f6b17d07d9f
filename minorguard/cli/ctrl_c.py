"""Ctrl-C stops a batch even where Python swallowed the KeyboardInterrupt it raised.

Python raises a Ctrl-C's KeyboardInterrupt wherever the main thread happens to be; raised inside an object's finaliser
(``__del__``: a pipe or a worker's connection closed while a scan waits for its workers) it is printed as "Exception
ignored" and dropped, and an audit saw a scan print a traceback and go on to judge every photo. The command's own
handler also remembers the key, and the batch loops ask after each photo.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ctrl_c_remembered", "stop_if_pressed"]

_pressed = threading.Event()


@contextmanager
def ctrl_c_remembered() -> Iterator[None]:
    """While the command runs: Ctrl-C raises KeyboardInterrupt as ever and is also remembered. Leaves a handler that
    is not Python's default alone (a caller embedding the command line chose its own)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def pressed(_signum: int, _frame: object) -> None:
        _pressed.set()
        raise KeyboardInterrupt

    _pressed.clear()
    signal.signal(signal.SIGINT, pressed)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _pressed.clear()


def stop_if_pressed() -> None:
    """Raise KeyboardInterrupt when Ctrl-C was pressed during the command, whatever became of the first one."""
    if _pressed.is_set():
        raise KeyboardInterrupt
