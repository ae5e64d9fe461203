"""What links of a model's candidates added to the analysis' flash and RAM figures, kept per model and board.

tinyc check's figures for code, stack and harness buffers are estimates until a linker places them. When
``tinyc fit`` builds its best candidates, what the linked firmware took beyond the prediction (the largest
over the candidates measured) is kept for the next search of the *same* model on the same board: its flash
limit and constraints then start from what the linker said. It is keyed by the model's hash (and by the
board, emulation and tinyc's code generator), so a measurement of one model never shifts another model's
search.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class LinkedCorrection:
    path: Path  # where it is kept (tinyc's cache)
    flash: int = 0  # bytes links of this model's candidates took beyond the analysis (largest seen)
    ram: int = 0

    @classmethod
    def load(cls, cache: Path, board_id: str, emulate: bool, model_hash: str, source: str) -> "LinkedCorrection":
        """The correction of the model ``model_hash`` on the board (``source``: the code generator's hash),
        zero where none of its candidates has been linked yet."""
        path = Path(cache) / "linked" / f"{board_id}-{emulate}-{model_hash}-{source}.json"
        try:
            d = json.loads(path.read_text())
            return cls(path, int(d["flash"]), int(d["ram"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls(path)

    def record(self, linked_flash: int, linked_ram: int, predicted_flash: int, predicted_sram: int) -> None:
        """A candidate of this model was linked: keep the largest excess over the analysis, on disk."""
        self.flash = max(self.flash, linked_flash - predicted_flash)
        self.ram = max(self.ram, linked_ram - predicted_sram)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json()))
        tmp.replace(self.path)

    def flash_limit(self, flash_budget: int) -> int:
        """The flash the weight decision may fill: the budget less what links added."""
        return flash_budget - max(0, self.flash)

    def over(self, flash: int, sram: int, flash_budget: int, sram_budget: int) -> dict[str, int]:
        """How far the analysis' figures, corrected, are over the budgets (<= 0: within)."""
        return {"flash": flash + max(0, self.flash) - flash_budget, "sram": sram + max(0, self.ram) - sram_budget}

    def to_json(self) -> dict[str, Any]:
        return {"flash": self.flash, "ram": self.ram}
