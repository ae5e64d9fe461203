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

    @classmethod
    def over_budget(cls, model, budget, *, source=None, fix: str = "") -> "DoesNotFit":
        """The one does-not-fit line of check and build: the model (``source``: the Keras model it was
        optimized from), the board, by how much, then ``fix``."""
        parts = [f"{what} by {-room} B" for what, room in (("flash", budget.flash_headroom),
                                                           ("SRAM", budget.sram_headroom)) if room < 0]
        which = f"{source} does not fit {budget.board} once optimized to int8" if source is not None \
            else f"{model} does not fit {budget.board}"
        return cls(f"{which}: over {' and '.join(parts)}{fix}")


class NotImplementedYet(TinycError):
    """A capability tinyc does not have (yet): said plainly rather than faked."""

    exit_code = 3
