"""From an int8 .tflite to linked firmware for a board: check -> generate -> render -> build.

The output directory holds ``model/`` (the generated C), ``firmware/`` (the PlatformIO project) and
``tinyc-build.json`` (what was built, for ``tinyc flash`` / ``bench`` / ``validate``). It is
written beside its final place and renamed at the end, so a failed build never leaves a half-written
directory where the user asked for one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tinyc import paths
from tinyc.boards import Board, emulation_target, get_board
from tinyc.buildkey import firmware_key
from tinyc.errors import DoesNotFit, TinycError

BUILD_FILE = "tinyc-build.json"
HARNESS_RAM_MARGIN = 2048  # the harness's own buffers beyond tinyc check's estimate, measured ~1.1 KiB


@dataclass(frozen=True)
class BuiltFirmware:
    out_dir: Path
    model: Path
    model_hash: str
    board: Board
    run_board: Board
    elf: Path
    generated: Any  # tinyc.codegen.generate.GeneratedModel
    budget: Any  # tinyc.analyze.budget.Budget, or None when the check was skipped
    memory: Any  # tinyc.deploy.memuse.MemoryUse
    input_copy: bool = True  # the harness keeps a copy of the input (else the host resends it per run)

    @property
    def emulated(self) -> bool:
        return self.run_board.kind == "emulated"

    def to_json(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "model": str(self.model), "model_hash": self.model_hash,
                "board": self.board.id, "run_board": self.run_board.id, "elf": str(self.elf),
                "generated": self.generated.to_json(), "memory": self.memory.to_json(),
                "input_copy": self.input_copy,
                "predicted": None if self.budget is None else {
                    "flash": self.budget.flash_used, "sram": self.budget.sram_used,
                    "arena": self.budget.plan.arena_size, "estimate": self.budget.estimate}}


def model_hash(model: Path) -> str:
    return hashlib.sha256(Path(model).read_bytes()).hexdigest()[:16]


def resolve_boards(board_id: str, emulate: bool) -> tuple[Board, Board]:
    """(board whose limits the build uses, board that runs it). A real board needs --emulate for now."""
    board = get_board(board_id)
    if board.kind == "emulated":
        return board, board
    if not emulate:
        return board, board
    return board, emulation_target(board)


def check_budget(graph, board: Board):
    from tinyc.codegen import footprint

    return footprint.check(graph, board)


def does_not_fit_message(model: Path, b) -> str:
    parts = []
    if b.flash_headroom < 0:
        parts.append(f"flash by {-b.flash_headroom} B")
    if b.sram_headroom < 0:
        parts.append(f"SRAM by {-b.sram_headroom} B")
    return (f"{model} does not fit {b.board}: over {' and '.join(parts)} (tinyc check {model} --board {b.board} "
            f"says what would make it fit; --force-build builds anyway and lets the linker decide)")


def build_model_firmware(model: Path, board_id: str, out_dir: Path, *, emulate: bool = False, force: bool = False,
                         skip_check: bool = False, test_hooks: bool = False,
                         step: Callable[[str], None] = lambda s: None, profile: bool = False) -> BuiltFirmware:
    """Check, generate and build. ``skip_check`` goes past a failed budget check to the linker; ``profile``
    generates the model with per-layer profiling (the harness's PROFILE command)."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.codegen.generate import generate
    from tinyc.deploy import memuse
    from tinyc.deploy.platformio import LinkOverflow, build
    from tinyc.deploy.project import render_harness_project
    from tinyc.model import graph as graphmod
    from tinyc.model import ops

    model = Path(model)
    out_dir = Path(out_dir)
    board, run_board = resolve_boards(board_id, emulate)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise TinycError(f"{out_dir}: exists and is not empty; pass --force to replace it or choose another -o")

    step("check")
    g = graphmod.load(model)
    ops.check_supported(g)
    budget = check_budget(g, board)
    if not budget.fits and not skip_check:
        raise DoesNotFit(does_not_fit_message(model, budget))

    tmp = out_dir.with_name(f".{out_dir.name}.tinyc-tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    step("generate")
    gm = generate(g, plan_improved(g), board, tmp / "model", profile=profile)
    input_bytes = sum(g.tensor(i).nbytes for i in g.inputs)
    step("build")
    # A copy of the input lets the firmware refill it before each timed run; tinyc check does not
    # count one, so it is left out where the board has no room for it (the host refills instead).
    copy = budget.sram_headroom >= input_bytes + HARNESS_RAM_MARGIN
    emulated_run = run_board is not board or board.kind == "emulated"
    while True:
        project = render_harness_project(tmp / "firmware", board, list(gm.sources), list(gm.include_dirs),
                                         input_bytes if copy else 0, emulate=emulated_run, test_hooks=test_hooks)
        try:
            build(project)  # raises (and keeps tmp for a look) when it fails
            break
        except LinkOverflow as exc:
            if not (copy and "region RAM" in str(exc)):
                raise
            copy = False
    if out_dir.exists():
        shutil.rmtree(out_dir)
    # PlatformIO's build dir holds absolute paths only in its caches; the ELF and map move fine.
    tmp.rename(out_dir)
    elf = out_dir / "firmware" / ".pio" / "build" / project.env_name / "firmware.elf"
    sources = [out_dir / "model" / Path(s).name for s in gm.sources]
    memory = memuse.measure(elf, sources)
    gm = type(gm)(**{**gm.__dict__, "out_dir": out_dir / "model", "sources": tuple(sources),
                     "headers": tuple(out_dir / "model" / Path(h).name for h in gm.headers),
                     "include_dirs": (out_dir / "model",)})
    built = BuiltFirmware(out_dir, model.resolve(), gm.model_hash, board, run_board, elf, gm, budget, memory, copy)
    (out_dir / BUILD_FILE).write_text(json.dumps(built.to_json(), indent=2))
    return built


@dataclass(frozen=True)
class BuildRecord:
    """What ``tinyc-build.json`` says about an earlier build."""

    out_dir: Path
    model: Path
    model_hash: str
    board: Board
    run_board: Board
    elf: Path
    data: dict

    @property
    def emulated(self) -> bool:
        return self.run_board.kind == "emulated"


def load_build(out_dir: Path) -> BuildRecord:
    f = Path(out_dir) / BUILD_FILE
    try:
        d = json.loads(f.read_text())
    except OSError:
        raise TinycError(f"{out_dir}: no tinyc build here ({BUILD_FILE} missing); run 'tinyc build MODEL "
                         f"--board ID -o {out_dir}' first") from None
    except json.JSONDecodeError as exc:
        raise TinycError(f"{f}: not valid JSON ({exc}); rebuild with 'tinyc build'") from None
    elf = Path(d["elf"])
    if not elf.is_file():
        raise TinycError(f"{elf}: the firmware is missing; rebuild with 'tinyc build'")
    return BuildRecord(Path(out_dir), Path(d["model"]), d["model_hash"], get_board(d["board"]),
                       get_board(d["run_board"]), elf, d)


def cached_build(model: Path, board_id: str, *, emulate: bool, step: Callable[[str], None] = lambda s: None,
                 profile: bool = False):
    """A build of ``model`` for the board, reused while the model, tinyc's firmware and templates are unchanged
    (``profile``: with per-layer profiling, a separate build)."""
    # every input of the build: model, board files, templates, firmware/, tinyc's code, tools, options
    out = paths.cache_dir() / "firmware" / firmware_key(model, board_id, emulate=emulate, profile=profile)
    if (out / BUILD_FILE).is_file():
        try:
            return load_build(out)
        except TinycError:
            pass
    build_model_firmware(model, board_id, out, emulate=emulate, force=True, step=step, profile=profile)
    return load_build(out)


def require_runnable(board: Board, run_board: Board) -> None:
    """Without --port, running needs an emulator: the real board itself is reached over its serial port."""
    if run_board.kind != "emulated":
        stand_in = board.emulation.qemu_machine
        hint = f", or add --emulate to run it on its emulated stand-in {stand_in}" if stand_in else ""
        raise TinycError(f"{board.id} is a real board: flash it with 'tinyc flash' and pass its serial port "
                         f"with --port{hint}")
