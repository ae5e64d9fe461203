"""What the generated firmware will cost, before anything is written or linked.

`tinyc check` (and `tinyc build`'s check step) lowers the model exactly as `tinyc generate` would for the
board's kernel set, so the flash constants and the static scratch are exact, and compiles the kernel
sources it would copy for the board's core to measure their code. Compiled sizes are cached by content.
It also sizes and prices every filter dense and packed, for the weight-storage decision
(tinyc.analyze.weights) that generate then follows.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from tinyc import paths
from tinyc.analyze import budget as budgetmod
from tinyc.analyze import weights as weights_mod
from tinyc.analyze.weights import FilterOption, WeightPlan
from tinyc.analyze.memory import plan_improved, plan_tflm
from tinyc.boards import Board
from tinyc.codegen.generate import plan_layout, runtime_files, variant_for
from tinyc.codegen.lower import LoweredModel, lower
from tinyc.codegen import instructions
from tinyc.codegen.specialize import DECODED, Specialization, specialize
from tinyc.model.graph import Graph

CC = "arm-none-eabi-gcc"
SIZE = "arm-none-eabi-size"


def code_bytes(files: list[Path], board: Board, defines: tuple[str, ...] = ()) -> int | None:
    """.text + .rodata of the kernel sources compiled for ``board`` (-O2, as projects build), or None
    without a cross compiler."""
    if not shutil.which(CC) or not shutil.which(SIZE):
        return None
    sources = [f for f in files if f.suffix == ".c"]
    flags = [*board.cpu_flags, "-O2", "-std=c99", "-ffunction-sections", "-fdata-sections",
             *(f"-D{d}=1" for d in defines)]
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
    weights: WeightPlan | None = None  # how the filters are stored, and why
    specialization: Specialization | None = None


@dataclass(frozen=True)
class KernelFit:
    """What the board leaves the optimized kernels: the most static scratch one may take (None: no limit) and
    the layers that keep their reference kernels, with why (op index, reason)."""

    scratch_limit: int | None = None
    portable: tuple[tuple[int, str], ...] = ()
    resident: tuple[int, ...] = ()  # packed layers whose filter tinyc_model_init() decodes into RAM of its own

    @staticmethod
    def of(weights) -> "KernelFit":
        return KernelFit(getattr(weights, "scratch_limit", None), tuple(getattr(weights, "portable", ()) or ()),
                         tuple(getattr(weights, "resident", ()) or ()))


def _lower(graph: Graph, plan, board: Board, weights, fit: KernelFit | None = None) -> Lowering:
    offsets, arena, order = plan_layout(graph, plan)
    lowered = lower(graph, offsets, arena, order, weights=weights)
    variant, defines = variant_for(board)
    fit = fit or KernelFit()
    spec = specialize(lowered, variant, fit.scratch_limit, dict(fit.portable), fit.resident)
    return Lowering(spec.lowered, variant, tuple(defines), spec.scratch_bytes,
                    tuple(runtime_files(spec.lowered, variant)), spec.flash_delta, specialization=spec)


FITTED_SETS = ("arm_scalar",)  # the kernel sets whose scratch and re-packing adapt to the board


def fit_kernels(graph: Graph, plan, board: Board, dense: Lowering, flash_limit: int) -> KernelFit:
    """Where the optimized kernel set would overflow the board with every filter dense: its static scratch
    shrinks to what the SRAM leaves (the convolutions take K in smaller chunks; a kernel that still does not fit
    keeps its reference kernel), and where its re-packing (widened depthwise weights, padded rows) alone
    overflows the flash, the layers whose re-packing grows most keep their reference kernels until it fits."""
    if dense.variant not in FITTED_SETS:
        return KernelFit()
    limit = None
    sram = budgetmod.compute(graph, board, plan=plan, generated=generated(dense, board), suggest_boards=False)
    if sram.sram_headroom < 0 and dense.scratch_bytes:
        limit = max(0, (dense.scratch_bytes + sram.sram_headroom) // 4 * 4)
    portable: list[tuple[int, str]] = []
    over = budgetmod.flash_needed(graph, board, generated(dense, board)) - flash_limit
    if over > 0 and dense.repack_bytes > 0:
        ref = _lower(graph, plan, board, "dense", KernelFit(portable=tuple(
            (c.index, "") for c in dense.lowered.calls)))
        before, after = layer_bytes(ref.lowered), layer_bytes(dense.lowered)
        growth = sorted(((after.get(i, 0) - before.get(i, 0), i) for i in after), reverse=True)
        if sum(g for g, _ in growth if g > 0) >= over:
            left = over
            for g, i in growth:
                if left <= 0 or g <= 0:
                    break
                portable.append((i, f"its {dense.variant} re-packing (+{g:,} B) would overflow the board's flash"))
                left -= g
    return KernelFit(limit, tuple(portable))



def fast_packed(low: Lowering) -> list:
    """The calls that decode a packed filter whole for an optimized set's matmul (static SRAM, re-packed
    constants), as opposed to the portable kernels' one channel at a time."""
    return [c for c in low.lowered.calls if c.kernel.packed and c.kernel.kernel_set.value != "reference"]


def fit_packed(graph: Graph, plan, board: Board, choice, low: Lowering, fit: KernelFit,
               flash_limit: int) -> tuple[Lowering, KernelFit]:
    """Where the packed filters the weight plan chose overflow the board on the optimized set's packed kernel
    (each filter decoded whole into static SRAM for the matmul, its bias and requantization re-packed in
    flash): the decode buffer shrinks to what the SRAM leaves (a filter that no longer fits it takes the
    portable kernel, one channel at a time), then the layers whose re-packing grows the flash most take the
    portable kernel until the model fits. Returns the lowering and the fit generate() follows."""
    portable = dict(fit.portable)
    for _ in range(len(fast_packed(low)) + 2):
        fast = fast_packed(low)
        if not fast:
            break
        sram = budgetmod.compute(graph, board, plan=plan, generated=generated(low, board), suggest_boards=False)
        if sram.sram_headroom < 0:
            decoded = sum(b.count * 4 for c in low.lowered.calls for b in c.buffers if b.name == DECODED)
            limit = max(0, decoded + sram.sram_headroom)
            fit = KernelFit(limit if fit.scratch_limit is None else min(limit, fit.scratch_limit), fit.portable)
            low = _lower(graph, plan, board, choice, fit)
            continue
        over = budgetmod.flash_needed(graph, board, generated(low, board)) - flash_limit
        if over <= 0:
            break
        ref = _lower(graph, plan, board, choice, KernelFit(fit.scratch_limit, tuple(
            {**portable, **{c.index: "" for c in fast}}.items())))
        before, after = layer_bytes(ref.lowered), layer_bytes(low.lowered)
        growth = sorted(((after.get(c.index, 0) - before.get(c.index, 0), c.index) for c in fast), reverse=True)
        left = over
        for g, i in growth:
            if left <= 0 or g <= 0:
                break
            portable[i] = f"its {low.variant} packed re-packing (+{g:,} B) would overflow the board's flash"
            left -= g
        if left > 0:  # re-packing is not all that overflows: every packed filter portable, the least code
            portable.update({c.index: "the board's flash holds only the portable packed kernel"
                             for c in fast if c.index not in portable})
        fit = KernelFit(fit.scratch_limit, tuple(sorted(portable.items())))
        low = _lower(graph, plan, board, choice, fit)
    return low, fit


RESIDENT_SETS = ("arm_dsp", "arm_mve")  # the kernel sets that can keep a packed filter decoded in RAM


def fit_resident(graph: Graph, plan, board: Board, choice, low: Lowering, fit: KernelFit
                 ) -> tuple[Lowering, KernelFit, float | None]:
    """--weights packed-ram: the packed filters that tinyc_model_init() decodes once into RAM of their own, in
    the layout of the optimized set's dense kernel (CONV_2D, FULLY_CONNECTED, DEPTHWISE_CONV_2D), so that each
    inference runs that kernel on them: all of them where the SRAM the board leaves holds them, else the most
    instructions saved per byte first. Returns the lowering, the fit generate() follows, and the instructions
    per inference saved (None: a kernel cost not measured)."""
    if low.variant not in RESIDENT_SETS:
        return low, fit, 0.0
    asked = tuple(sorted({c.index for c in low.lowered.calls if c.kernel.packed} - dict(fit.portable).keys()))
    every = _lower(graph, plan, board, choice, replace(fit, resident=asked))
    fast = sorted({c.index for c in every.lowered.init_calls})  # those the set keeps decoded (not every op can)
    if not fast:
        return low, fit, 0.0
    if fast != list(asked):
        every = _lower(graph, plan, board, choice, replace(fit, resident=tuple(fast)))
    set_name = instructions.cost_set(board, low.variant)
    before = instructions.call_instructions(set_name, graph, low.lowered)
    after = instructions.call_instructions(set_name, graph, every.lowered)
    known = all(before.get(i, (None,))[0] is not None and after.get(i, (None,))[0] is not None for i in fast)
    saved = {i: (before[i][0] - after[i][0]) if known else 0.0 for i in fast}
    ram = {c.index: b.nbytes for c in every.lowered.calls for b in c.buffers
           if c.index in saved and b.name == f"tinyc_op{c.index}_decoded"}

    def headroom(lw: Lowering) -> int:
        return budgetmod.compute(graph, board, plan=plan, generated=generated(lw, board),
                                 suggest_boards=False).sram_headroom

    if headroom(every) >= 0:
        chosen, out = tuple(fast), every
    else:  # one at a time against what the per-call lowering leaves (its DECODED buffer kept: conservative)
        left = headroom(low)
        chosen = []
        for i in sorted(fast, key=lambda i: (-saved[i] / max(1, ram.get(i, 1)), i)):
            if ram.get(i, 0) <= left:
                chosen.append(i)
                left -= ram.get(i, 0)
        chosen = tuple(sorted(chosen))
        out = _lower(graph, plan, board, choice, replace(fit, resident=chosen))
        while chosen and headroom(out) < 0:  # never expected: every buffer was counted
            chosen = chosen[:-1]
            out = _lower(graph, plan, board, choice, replace(fit, resident=chosen))
        if not chosen:
            return low, fit, 0.0
    return out, replace(fit, resident=chosen), (sum(saved[i] for i in chosen) if known else None)


def layer_bytes(lowered: LoweredModel) -> dict[int, int]:
    """op index -> flash bytes of the constant arrays its calls read (an array two calls share counts
    for the first)."""
    sizes = {c.name: c.nbytes for c in lowered.consts}
    seen: set[str] = set()
    out: dict[int, int] = {}
    for call in lowered.all_calls:
        names = {n for n in call.consts() if n in sizes} - seen
        out[call.index] = out.get(call.index, 0) + sum(sizes[n] for n in names)
        seen |= names
    return out


def filter_options(graph: Graph, board: Board, dense: Lowering, packed: Lowering) -> tuple[FilterOption, ...]:
    """Every filter the "packed" lowering packs, sized (exact constants of both lowerings, kernel set
    re-packing included) and priced (tinyc.codegen.instructions) dense and packed."""
    set_name = instructions.cost_set(board, dense.variant)
    size_d, size_p = layer_bytes(dense.lowered), layer_bytes(packed.lowered)
    instr_d = instructions.call_instructions(set_name, graph, dense.lowered)
    instr_p = instructions.call_instructions(set_name, graph, packed.lowered)
    kern_d = {c.index: c.macro for c in dense.lowered.calls}
    kern_p = {c.index: c.macro for c in packed.lowered.calls}
    by_name = {t.name: t.index for t in graph.tensors}
    out = []
    for p in packed.lowered.packed:
        blob = f"tinyc_t{by_name.get(p.tensor)}_packed"
        ops = tuple(sorted({c.index for c in packed.lowered.all_calls if blob in set(c.consts())}))
        if not ops:
            continue

        def total(instr):
            vals = [instr.get(i, (None, False)) for i in ops]
            return (None if any(v is None for v, _ in vals) else sum(v for v, _ in vals)), all(m for _, m in vals)

        (di, dm), (pi, pm) = total(instr_d), total(instr_p)
        out.append(FilterOption(ops, p.op, p.tensor, p.mode, sum(size_d.get(i, 0) for i in ops),
                                sum(size_p.get(i, 0) for i in ops), kern_d.get(ops[0], ""), kern_p.get(ops[0], ""),
                                di, pi, dm and pm))
    return tuple(out)


def lowering(graph: Graph, plan, board: Board, weights="auto", flash_limit: int | None = None,
             options: bool = False) -> Lowering:
    """Lower and specialize as generate() will. ``weights``: "auto" decides per filter for the board
    (tinyc.analyze.weights: dense while the model fits ``flash_limit``, by default the board's flash, with
    every filter dense), "packed" / "dense" as the user asked, or a choice made already (a WeightPlan, a
    per-layer mapping, "all"). ``options``: size and price every filter both ways even when the decision
    does not need it (what `tinyc check` reports)."""
    if isinstance(weights, WeightPlan):
        return replace(_lower(graph, plan, board, weights.choice(), KernelFit.of(weights)), weights=weights)
    if weights not in weights_mod.MODES:
        return _lower(graph, plan, board, weights)
    resident = weights == "packed-ram"
    dense = _lower(graph, plan, board, "dense")
    limit = budgetmod.flash_region(board).size if flash_limit is None else int(flash_limit)
    fit = fit_kernels(graph, plan, board, dense, limit)
    if fit != KernelFit():
        dense = _lower(graph, plan, board, "dense", fit)
    kfit = {"scratch_limit": fit.scratch_limit, "portable": fit.portable}
    need = budgetmod.flash_needed(graph, board, generated(dense, board)) - limit
    if weights == "dense" or (weights == "auto" and need <= 0):
        found = filter_options(graph, board, dense, _lower(graph, plan, board, "packed", fit)) if options else ()
        return replace(dense, weights=replace(weights_mod.decide(found, weights, need, limit), **kfit))
    found = filter_options(graph, board, dense, _lower(graph, plan, board, "packed", fit))
    target, wp = need, weights_mod.decide(found, weights, need, limit)
    while True:
        low = dense if not wp.packed else _lower(graph, plan, board, wp.choice(), fit)
        if weights != "auto" or not wp.packed:
            break
        # packed kernels bring their own code: pack more until the model fits (or all are packed)
        over = budgetmod.flash_needed(graph, board, generated(low, board)) - limit
        if over <= 0 or len(wp.packed) == sum(len(o.ops) for o in found if o.saved > 0):
            break
        target += over
        wp = replace(weights_mod.decide(found, "auto", target, limit), need=need)
    if wp.packed:
        low, fit = fit_packed(graph, plan, board, wp.choice(), low, fit, limit)
        kfit = {"scratch_limit": fit.scratch_limit, "portable": fit.portable}
        if resident:
            low, fit, saved = fit_resident(graph, plan, board, wp.choice(), low, fit)
            kfit.update(resident=fit.resident, resident_saved=saved)
    return replace(low, weights=replace(wp, **kfit))


def layer_code(graph: Graph, board: Board, low: Lowering) -> tuple[budgetmod.LayerCode, ...]:
    """Per operator: the kernel generate() calls, its kernel set, why it is a portable kernel where the
    board has an optimized set, the filter's storage, and its predicted instructions."""
    set_name = instructions.cost_set(board, low.variant)
    instr = instructions.call_instructions(set_name, graph, low.lowered)
    modes = instructions.packed_modes(low.lowered, graph)
    choices = {c.op_index: c for c in getattr(low.specialization, "choices", ()) or ()}
    wp = low.weights
    at_start = {c.index for c in low.lowered.init_calls}
    out = []
    for call in low.lowered.calls:
        if any(r.index == call.index for r in out):
            continue
        c = choices.get(call.index)  # Specialization.choices: the kernel set and why, where recorded
        kset = getattr(c, "kernel_set", None) or call.kernel.kernel_set.value
        reason = getattr(c, "reason", None)
        fmt = None
        if call.index in at_start:
            ram = sum(b.nbytes for b in call.buffers if b.name == f"tinyc_op{call.index}_decoded")
            fmt = f"packed {modes[call.index]}, decoded into RAM at start-up ({ram:,} B)"
        elif call.index in modes:
            fmt = f"packed {modes[call.index]}"
            if low.variant != "reference" and c is None:
                reason = "weights stored packed: only the portable kernel decodes them"
        elif wp is not None and wp.format_of(call.index) is not None:
            fmt = "dense"
        elif graph.operators[call.index].op in instructions.WEIGHT_OPS:
            fmt = "dense"
        v, measured = instr.get(call.index, (None, False))
        out.append(budgetmod.LayerCode(call.index, getattr(c, "kernel", None) or call.macro, kset, reason, fmt,
                                       v, measured))
    return tuple(out)


def generated(low: Lowering, board: Board, graph: Graph | None = None) -> budgetmod.Generated:
    return budgetmod.Generated(
        constants=low.lowered.weights_bytes, static_ram=low.lowered.weight_scratch + low.scratch_bytes,
        kernel_code=code_bytes(list(low.files), board, low.defines), kernel_set=low.variant,
        kernel_files=tuple(f.name for f in low.files if f.suffix == ".c"), packed_layers=len(low.lowered.packed),
        repack_bytes=low.repack_bytes, weights=low.weights,
        layers=layer_code(graph, board, low) if graph is not None else ())


def check(graph: Graph, board: Board, planner: str = "improved", tflm_recorded: dict | None = None,
          suggest_boards: bool = True, weights="auto", flash_limit: int | None = None) -> budgetmod.Budget:
    """The board budget with the generated code's exact constants and scratch, the filters stored as
    ``weights`` decides for this board (tinyc.analyze.weights)."""
    plan = plan_improved(graph) if planner == "improved" else plan_tflm(graph)
    low = lowering(graph, plan, board, weights, flash_limit, options=True)
    return budgetmod.compute(graph, board, planner=planner, tflm_recorded=tflm_recorded,
                             suggest_boards=suggest_boards, plan=plan, generated=generated(low, board, graph))
