"""The application layer: what every entry point does with a register (checks, audit, export, enrolment).

The command line, the review page and publishing tools all come through here, so a
face number, a register and its key mean the same whichever way minorguard is used.
"""

from minorguard.application.checks import (
    Checks,
    ExportedCopy,
    KnownAdultsUnavailable,
    RegisterUnavailable,
    open_checks,
    open_register_for_checks,
    register_is_expected,
)

__all__ = ["Checks", "ExportedCopy", "KnownAdultsUnavailable", "RegisterUnavailable", "open_checks", "open_register_for_checks", "register_is_expected"]
