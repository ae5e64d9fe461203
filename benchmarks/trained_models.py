"""The public trained int8 models of ../shared/models (extracted from tensorflow/tflite-micro) and the
TFLite Micro + CMSIS-NN instruction counts its README.md measured for each core (same QEMU -icount
shift=0, same arm-none-eabi-gcc 12.2 -O2 as tinyc's benchmarks). Read from the README's tables, so the
figures stay with their source; shared by benchmarks/bench_codegen.py and tests/test_trained_models.py.

Columns used per core: M7 -> "M7"; M4 -> "M7" (the README: TFLM + CMSIS-NN on the M4 model was within
1% of the M7 on every model, use the M7 column for both); M55 -> "M55 asm" (CMSIS-NN's hand-written
Helium code, what TFLM's Makefile builds).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMN_FOR_CORE = {"cortex-m7": "M7", "cortex-m4": "M7", "cortex-m55": "M55 asm"}


def models_dir() -> Path:
    """TINYC_TRAINED_MODELS, else ../shared/models beside the checkout."""
    return Path(os.environ.get("TINYC_TRAINED_MODELS") or ROOT.parent / "shared" / "models")


@dataclass(frozen=True)
class TrainedModel:
    name: str  # file stem
    path: Path
    size: int  # bytes, per the README
    sha16: str  # first 16 hex digits of the sha256, per the README
    ops: tuple[str, ...]
    macs: int
    tflm: dict[str, int] = field(default_factory=dict)  # README column -> TFLM + CMSIS-NN instructions
    tflm_arena: int | None = None  # "arena used (M3, B)"

    def tflm_for(self, core: str) -> int | None:
        """TFLM + CMSIS-NN instructions for ``core`` (None when the README has no column for it)."""
        col = COLUMN_FOR_CORE.get(core)
        return self.tflm.get(col) if col else None

    def file_matches(self) -> bool:
        data = self.path.read_bytes()
        return len(data) == self.size and hashlib.sha256(data).hexdigest()[:16] == self.sha16


def _table(text: str, first_header: str) -> list[dict[str, str]]:
    """The markdown table whose header row starts with ``| first_header |``, as dicts per row."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    header = [c.strip() for c in lines[start].strip().strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append(dict(zip(header, cells)))
    return rows


def _int(cell: str) -> int:
    return int(cell.replace(",", ""))


@cache
def load(directory: Path | None = None) -> dict[str, TrainedModel]:
    """Every model of the README's file table, with its TFLM + CMSIS-NN row (name -> TrainedModel)."""
    d = Path(directory) if directory else models_dir()
    text = (d / "README.md").read_text()
    counts = {r["model"]: r for r in _table(text, "model")}
    out = {}
    for r in _table(text, "file"):
        name = r["file"].removesuffix(".tflite")
        row = counts.get(name, {})
        tflm = {col: _int(v) for col, v in row.items()
                if col != "model" and not col.startswith("arena") and re.fullmatch(r"[\d,]+", v)}
        arena = next((_int(v) for col, v in row.items() if col.startswith("arena")), None)
        out[name] = TrainedModel(name, d / r["file"], _int(r["bytes"]), r["sha256 (16)"],
                                 tuple(o.strip() for o in r["ops"].split(",")), _int(r["MACs"]), tflm, arena)
    return out


def supported(models: dict[str, TrainedModel]) -> tuple[list[str], dict[str, str]]:
    """(names tinyc supports, {name: tinyc's one-line rejection} for the others)."""
    from tinyc.errors import TinycError
    from tinyc.model import graph, ops

    ok, rejected = [], {}
    for name, m in models.items():
        try:
            ops.check_supported(graph.load(m.path))
            ok.append(name)
        except TinycError as exc:
            rejected[name] = str(exc)
    return ok, rejected
