"""From an int8 .tflite to linked firmware for a board: check -> generate -> render -> build.

The output directory holds ``model/`` (the generated C), ``firmware/`` (the PlatformIO project) and
``tinyc-build.json`` (what was built, for ``tinyc flash`` / ``bench`` / ``validate``). It is written
through ``tinyc.outputs.OutputDir``: made in the folder's own temp area and swapped in at the end, so a
failed or killed build never leaves a half-written output, and only tinyc's own files are ever replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from tinyc import paths
from tinyc.boards import Board, get_board
from tinyc.buildkey import firmware_key
from tinyc.errors import DoesNotFit, TinycError

if TYPE_CHECKING:  # annotations only: importing these at run time would load the code generator everywhere
    from tinyc.analyze.budget import Budget
    from tinyc.codegen.generate import GeneratedModel
    from tinyc.deploy.memuse import MemoryUse

BUILD_FILE = "tinyc-build.json"


@dataclass(frozen=True)
class Predicted:
    """tinyc check's figures for a build (``predicted`` in tinyc-build.json)."""

    flash: int
    sram: int
    arena: int
    estimate: bool  # some items are estimates until the linker places them (code, stack, buffers)

    def to_json(self) -> dict[str, Any]:
        return {"flash": self.flash, "sram": self.sram, "arena": self.arena, "estimate": self.estimate}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Predicted":
        return cls(int(d["flash"]), int(d["sram"]), int(d.get("arena", 0)), bool(d.get("estimate", True)))


@dataclass(frozen=True)
class BuiltFirmware:
    """A build of a model for a board: what ``tinyc-build.json`` records, written by ``build_into`` and read
    back by ``load_build`` (``tinyc flash``/``bench``/``validate --firmware``, the build cache, ``tinyc fit``).
    ``generated`` and ``budget`` are held only by the process that made the build (None when read back:
    the file keeps what its readers use of them, the kernel set and choices, and the check's totals)."""

    out_dir: Path
    model: Path
    model_hash: str
    board: Board
    run_board: Board
    elf: Path
    memory: MemoryUse  # as linked
    variant: str  # the kernel set generated for
    choices: tuple[dict[str, Any], ...] = ()  # per call: kernel, kernel set, reason (KernelChoice.to_json)
    input_copy: bool = True  # the harness keeps a copy of the input (else the host resends it per run)
    predicted: Predicted | None = None  # None when the check was skipped
    generated: GeneratedModel | None = field(default=None, compare=False)
    budget: Budget | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        generated = self.generated.to_json() if self.generated is not None else {
            "variant": self.variant, "choices": list(self.choices)}
        return {"out_dir": str(self.out_dir), "model": str(self.model), "model_hash": self.model_hash,
                "board": self.board.id, "run_board": self.run_board.id, "elf": str(self.elf),
                "generated": generated, "memory": self.memory.to_json(), "input_copy": self.input_copy,
                "predicted": None if self.predicted is None else self.predicted.to_json()}

    @classmethod
    def from_json(cls, d: dict[str, Any], out_dir: Path, elf: Path) -> "BuiltFirmware":
        """The record ``to_json`` wrote, for the folder as it is now (``out_dir``, ``elf``); KeyError,
        TypeError or ValueError when it is not one."""
        from tinyc.deploy.memuse import MemoryUse

        gen, pred = d.get("generated") or {}, d.get("predicted")
        return cls(Path(out_dir), Path(d["model"]), d["model_hash"], get_board(d["board"]),
                   get_board(d["run_board"]), elf, MemoryUse.from_json(d["memory"]), str(gen["variant"]),
                   tuple(gen.get("choices") or ()), bool(d.get("input_copy", True)),
                   None if pred is None else Predicted.from_json(pred))


def model_hash(model: Path) -> str:
    return hashlib.sha256(Path(model).read_bytes()).hexdigest()[:16]


def resolve_boards(board_id: str, emulate: bool) -> tuple[Board, Board]:
    """(board whose limits the build uses, board that runs it: its emulated stand-in with ``emulate``)."""
    from tinyc.deploy.targets import resolve

    return resolve(board_id, emulate)


def check_budget(graph, board: Board, weights: str = "auto", flash_limit: int | None = None):
    """tinyc check's budget, with its weight-storage decision (``weights``; ``flash_limit``: the flash the
    decision may fill, by default the board's) that the build then generates."""
    from tinyc.codegen import footprint

    return footprint.check(graph, board, weights=weights, flash_limit=flash_limit)


def does_not_fit(model: Path, b, source: Path | None = None) -> DoesNotFit:
    """``source``: the Keras model ``model`` was optimized from (the int8 file is then not kept)."""
    if source is not None:
        int8 = f"{Path(source).stem}.int8.tflite"
        fix = (f" ('tinyc optimize {source} -o {int8}' then 'tinyc check {int8} --board {b.board}' says what would "
               f"make it fit; --force-build builds anyway and lets the linker decide)")
    else:
        fix = (f" (tinyc check {model} --board {b.board} says what would make it fit; --force-build builds anyway "
               f"and lets the linker decide)")
    return DoesNotFit.over_budget(model, b, source=source, fix=fix)


def build_model_firmware(model: Path, board_id: str, out_dir: Path, *, emulate: bool = False, force: bool = False,
                         skip_check: bool = False, test_hooks: bool = False,
                         step: Callable[[str], None] = lambda s: None, profile: bool = False,
                         wait: bool = False, weights: str = "auto", flash_limit: int | None = None) -> BuiltFirmware:
    """Check, generate and build into ``out_dir`` (``tinyc.outputs.OutputDir``: staged, swapped in whole,
    ``force`` replacing only tinyc's earlier output; ``wait`` waits for another writer, for cache folders)."""
    from tinyc.outputs import OutputDir

    with OutputDir(out_dir, force=force, inputs=[model], planned=BUILD_ENTRIES, wait=wait) as dest:
        built = build_into(model, board_id, dest, emulate=emulate, skip_check=skip_check, test_hooks=test_hooks,
                           step=step, profile=profile, weights=weights, flash_limit=flash_limit)
        dest.commit()
    return built


BUILD_ENTRIES = ("model", "firmware", BUILD_FILE)


def build_into(model: Path, board_id: str, dest, *, emulate: bool = False, skip_check: bool = False,
               test_hooks: bool = False, step: Callable[[str], None] = lambda s: None, profile: bool = False,
               model_recorded: Path | None = None, source: Path | None = None, weights: str = "auto",
               flash_limit: int | None = None) -> BuiltFirmware:
    """Check, generate and build into ``dest.stage`` (an open ``OutputDir``): ``model/`` (the generated C),
    ``firmware/`` (the PlatformIO project) and ``tinyc-build.json``, which describes them where they will be
    once ``dest`` commits. ``skip_check`` goes past a failed budget check to the linker; ``profile`` generates
    the model with per-layer profiling (the harness's PROFILE command); ``model_recorded`` is where the model
    will be when it is itself part of the output, ``source`` the Keras model it was optimized from; ``weights``
    (auto/packed/dense) how the filters are stored, decided by the check (``flash_limit``: the flash that
    decision may fill, by default the board's) and generated as decided."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.codegen.generate import generate
    from tinyc.deploy import memuse
    from tinyc.deploy.platformio import BuildError, LinkOverflow, build
    from tinyc.deploy.project import render_harness_project
    from tinyc.model import graph as graphmod
    from tinyc.model import ops

    model = Path(model)
    board, run_board = resolve_boards(board_id, emulate)
    stage = dest.stage

    step("check")
    g = graphmod.load(model)
    ops.check_supported(g)
    budget = check_budget(g, board, weights, flash_limit)
    if not budget.fits and not skip_check:
        raise does_not_fit(model, budget, source)

    step("generate")
    gm = generate(g, plan_improved(g), board, stage / "model", profile=profile, weights=budget.weights)
    input_bytes = sum(g.tensor(i).nbytes for i in g.inputs)
    step("build")
    # A copy of the input lets the firmware refill it before each timed run: the check counted one
    # where the board has room for it (else the host refills the input instead).
    copy = budget.input_copy
    while True:
        project = render_harness_project(stage / "firmware", board, list(gm.sources), list(gm.include_dirs),
                                         input_bytes if copy else 0, emulate=emulate, test_hooks=test_hooks)
        try:
            build(project, shown=f"{Path(source or model).name} on {board.id}")
            break
        except LinkOverflow as exc:
            if not (copy and "region RAM" in str(exc)):
                raise
            copy = False
            shutil.rmtree(stage / "firmware")
        except BuildError as exc:  # the stage goes with the failed run: keep the project to look at
            kept = paths.cache_dir() / "failed-builds" / f"{board.id}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(stage / "firmware"), kept)
            raise BuildError(f"{exc} (project kept in {kept}; 'pio run -d {kept}' rebuilds it)".replace(
                str(stage / "firmware"), str(kept)), details=exc.details) from None
    staged_elf = stage / "firmware" / ".pio" / "build" / project.env_name / "firmware.elf"
    memory = memuse.measure(staged_elf, list(gm.sources))
    # PlatformIO's build dir holds absolute paths only in its caches; the ELF and map move fine.
    elf = dest.final("firmware", ".pio", "build", project.env_name, "firmware.elf")
    gm = gm.moved_to(dest.final("model"))
    recorded = Path(model_recorded) if model_recorded else model.resolve()
    predicted = Predicted(budget.flash_used, budget.sram_used, budget.plan.arena_size, budget.estimate)
    choices = tuple(c.to_json() for c in gm.choices)
    built = BuiltFirmware(dest.final(), recorded, gm.model_hash, board, run_board, elf, memory, gm.variant, choices,
                          copy, predicted, generated=gm, budget=budget)
    (stage / BUILD_FILE).write_text(json.dumps(built.to_json(), indent=2))
    return built


def load_build(out_dir: Path) -> BuiltFirmware:
    """The build recorded in ``out_dir`` (its tinyc-build.json), or one line saying what is wrong."""
    from tinyc.outputs import recover

    recover(out_dir)  # a build a kill interrupted mid-swap is finished first
    f = Path(out_dir) / BUILD_FILE
    try:
        d = json.loads(f.read_text())
    except OSError:
        raise TinycError(f"{out_dir}: no tinyc build here ({BUILD_FILE} missing); run 'tinyc build MODEL "
                         f"--board ID -o {out_dir}' first") from None
    except json.JSONDecodeError as exc:
        raise TinycError(f"{f}: not valid JSON ({exc}); rebuild with 'tinyc build'") from None
    try:
        elf = Path(d["elf"])
    except (KeyError, TypeError) as exc:
        raise TinycError(f"{f}: not a build record tinyc wrote ({type(exc).__name__}: {exc}); rebuild with "
                         "'tinyc build'") from None
    try:  # a build folder that was moved or copied: its firmware is where the folder is now
        elf = Path(out_dir).absolute() / elf.relative_to(d["out_dir"])
    except (KeyError, TypeError, ValueError):
        pass
    if not elf.is_file():
        raise TinycError(f"{elf}: the firmware is missing; rebuild with 'tinyc build'")
    try:
        return BuiltFirmware.from_json(d, Path(out_dir), elf)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TinycError(f"{f}: not a build record tinyc wrote ({type(exc).__name__}: {exc}); rebuild with "
                         "'tinyc build'") from None


def cached_build(model: Path, board_id: str, *, emulate: bool, step: Callable[[str], None] = lambda s: None,
                 profile: bool = False, weights: str = "auto"):
    """A build of ``model`` for the board, reused while every input of it is unchanged (``tinyc.buildkey``;
    ``profile``: with per-layer profiling, a separate build; ``weights``: --weights). Processes asking for
    the same build at once wait for the one that builds it."""
    # every input of the build: model, board files, templates, firmware/, tinyc's code, tools, options
    out = paths.cache_dir() / "firmware" / firmware_key(model, board_id, emulate=emulate, profile=profile,
                                                        weights=weights)
    if (out / BUILD_FILE).is_file():
        try:
            return load_build(out)
        except TinycError:
            pass
    from tinyc.outputs import OutputDir

    with OutputDir(out, force=True, wait=True, inputs=[model]) as dest:  # one builder per key; others wait
        if BUILD_FILE not in dest.owned:
            build_into(model, board_id, dest, emulate=emulate, step=step, profile=profile, weights=weights)
            dest.commit()
    return load_build(out)


def firmware_for(model: str | Path | None, board_id: str, emulate: bool, firmware_dir: str | Path | None, *,
                 say: Callable[[str], None] = lambda m: None, profile: bool = False,
                 weights: str = "auto") -> BuiltFirmware:
    """An earlier build (--firmware), or a cached build of MODEL (``profile``: with per-layer profiling;
    ``weights``: the filters' storage, --weights): what flash, bench and validate run (``Target.build``)."""
    if firmware_dir:
        rec = load_build(Path(firmware_dir))
        if rec.board.id != board_id:
            raise TinycError(f"{firmware_dir}: built for {rec.board.id}, not {board_id}; pass --board {rec.board.id}")
        if model is not None:  # a firmware of another model would be compared with this one's outputs
            try:
                same = model_hash(Path(model)) == rec.model_hash
            except OSError as exc:
                raise TinycError(f"{model}: cannot read it ({exc.strerror})") from None
            if not same:
                raise TinycError(f"{firmware_dir}: built from another model than {model} (or the model changed "
                                 f"since); rebuild it with 'tinyc build {model} --board {board_id} -o "
                                 f"{firmware_dir} --force', or leave out MODEL to use the one it was built from")
        return rec
    if model is None:
        raise TinycError("give a MODEL (.tflite) to build, or --firmware DIR from an earlier `tinyc build`")
    if not str(model).endswith(".tflite"):
        raise TinycError(f"{model}: bench/flash/validate take an int8 .tflite; `tinyc build` also optimizes "
                         f"Keras models")
    say(f"building firmware for {model} on {board_id}" + (" with per-layer profiling" if profile else "")
        + " (cached while nothing changes)")
    return cached_build(Path(model), board_id, emulate=emulate, profile=profile, weights=weights)
