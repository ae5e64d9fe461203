"""The one exception type for user mistakes: the CLI prints it as one line and exits non-zero."""

from __future__ import annotations


class TinycError(Exception):
    """A problem the user can fix. The message names the file, the problem and the fix, on one line;
    ``details`` (a compiler's last lines, say) are printed indented below it."""

    exit_code = 2

    def __init__(self, message: str = "", *, details: str = ""):
        super().__init__(message)
        self.details = details


class DoesNotFit(TinycError):
    """The model does not fit the board; the verdict has already been printed."""

    exit_code = 1


class NotImplementedYet(TinycError):
    """A capability tinyc does not have (yet): said plainly rather than faked."""

    exit_code = 3
