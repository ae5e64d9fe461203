"""The one exception type for user mistakes: the CLI prints it as one line and exits non-zero."""

from __future__ import annotations


class TinycError(Exception):
    """A problem the user can fix. The message names the file, the problem and the fix."""

    exit_code = 2


class DoesNotFit(TinycError):
    """The model does not fit the board; the verdict has already been printed."""

    exit_code = 1


class NotImplementedYet(TinycError):
    """A capability tinyc does not have (yet): said plainly rather than faked."""

    exit_code = 3
