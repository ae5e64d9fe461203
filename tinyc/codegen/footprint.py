"""What the generated firmware will cost, before anything is written or linked.

`tinyc check` (and `tinyc build`'s check step) lowers the model exactly as `tinyc generate` would for the
board's kernel set, so the flash constants and the static scratch are exact, and compiles the kernel
sources it would copy for the board's core to measure their code. Compiled sizes are cached by content.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tinyc import paths
from tinyc.analyze import budget as budgetmod
from tinyc.analyze.memory import plan_improved, plan_tflm
from tinyc.boards import Board
from tinyc.codegen.generate import plan_layout, runtime_files, variant_for
from tinyc.codegen.lower import LoweredModel, lower
from tinyc.codegen.specialize import specialize
from tinyc.model.graph import Graph

CC = "arm-none-eabi-gcc"
SIZE = "arm-none-eabi-size"


def core_flags(board: Board) -> list[str]:
    """The same CPU flags firmware/platform/builder/main.py gives the board."""
    flags = [f"-mcpu={board.core}", "-mthumb"]
    return flags + ([f"-mfpu={board.fpu}", "-mfloat-abi=hard"] if board.fpu != "none" else ["-mfloat-abi=soft"])


def code_bytes(files: list[Path], board: Board, defines: tuple[str, ...] = ()) -> int | None:
    """.text + .rodata of the kernel sources compiled for ``board`` (-O2, as projects build), or None
    without a cross compiler."""
    if not shutil.which(CC) or not shutil.which(SIZE):
        return None
    sources = [f for f in files if f.suffix == ".c"]
    flags = core_flags(board) + ["-O2", "-std=c99", "-ffunction-sections", "-fdata-sections"] \
        + [f"-D{d}=1" for d in defines]
    h = hashlib.sha256(" ".join(flags).encode())
    for f in sorted(files):
        h.update(f.name.encode() + f.read_bytes())
    cache = paths.cache_dir() / "codesize" / f"{h.hexdigest()[:20]}.json"
    if cache.is_file():
        return json.loads(cache.read_text())["bytes"]
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            shutil.copy2(f, Path(tmp) / f.name)
        objs = []
        for f in sources:
            obj = Path(tmp) / (f.stem + ".o")
            subprocess.run([CC, *flags, "-I", tmp, "-c", str(Path(tmp) / f.name), "-o", str(obj)],
                           check=True, capture_output=True)
            objs.append(str(obj))
        total = 0
        if objs:
            out = subprocess.run([SIZE, "-A", "-d", *objs], check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) >= 2 and (parts[0].startswith(".text") or parts[0].startswith(".rodata")):
                    total += int(parts[1])
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"bytes": total}))
    return total


@dataclass(frozen=True)
class Lowering:
    """The model lowered and specialized exactly as generate() does it for the board."""

    lowered: LoweredModel
    variant: str
    defines: tuple[str, ...]
    scratch_bytes: int  # the optimized kernel set's static scratch
    files: tuple[Path, ...]
    repack_bytes: int = 0  # constants the optimized kernel set's re-packing adds (may be negative)


def lowering(graph: Graph, plan, board: Board, weights: str = "auto") -> Lowering:
    offsets, arena, order = plan_layout(graph, plan)
    lowered = lower(graph, offsets, arena, order, weights=weights)
    variant, defines = variant_for(board)
    spec = specialize(lowered, variant)
    return Lowering(spec.lowered, variant, tuple(defines), spec.scratch_bytes,
                    tuple(runtime_files(spec.lowered, variant)), spec.flash_delta)


def generated(low: Lowering, board: Board) -> budgetmod.Generated:
    return budgetmod.Generated(
        constants=low.lowered.weights_bytes, static_ram=low.lowered.weight_scratch + low.scratch_bytes,
        kernel_code=code_bytes(list(low.files), board, low.defines), kernel_set=low.variant,
        kernel_files=tuple(f.name for f in low.files if f.suffix == ".c"), packed_layers=len(low.lowered.packed),
        repack_bytes=low.repack_bytes)


def check(graph: Graph, board: Board, planner: str = "improved", tflm_recorded: dict | None = None,
          suggest_boards: bool = True) -> budgetmod.Budget:
    """The board budget with the generated code's exact constants and scratch."""
    plan = plan_improved(graph) if planner == "improved" else plan_tflm(graph)
    return budgetmod.compute(graph, board, planner=planner, tflm_recorded=tflm_recorded,
                             suggest_boards=suggest_boards, plan=plan,
                             generated=generated(lowering(graph, plan, board), board))
