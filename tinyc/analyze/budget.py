"""Flash and SRAM budget of a model on a board: what it needs, what the board has, and what to cut.

Measured from the model: weights, biases, quantization data (from the .tflite), the arena (from the
memory plan, kernel scratch included). Estimated until the C runtime's build reports real sizes, and
labelled ``estimate`` wherever they appear: kernel code, runtime code, runtime state, stack, I/O buffers.
The SRAM lines add up to what the linker places (.data + .bss + arena + stack, within a few dozen bytes):
the harness's own buffers and its copy of the input are counted as the harness declares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinyc.analyze.memory import MemoryPlan, plan_improved, plan_tflm
from tinyc import operators
from tinyc.analyze.weights import WeightPlan
from tinyc.boards import Board, MemoryRegion, contiguous_ram, physical
from tinyc.model import ops as opsmod
from tinyc.model.graph import Graph

__all__ = ["Item", "LayerRow", "LayerCode", "Budget", "compute", "arena_region", "flash_region", "flash_needed"]

# Kernel code estimates: each operator's declared CodeSize (tinyc/operators/), measured per kernel file.
SHARED_KERNEL_CODE = 180  # requantization helpers (include/tinyc_quant.h, quant.c)
RUNTIME_CODE_ESTIMATE = 8448  # startup, port, serial harness, libc: linked harness on mps2-an500, Nov 2026
# SRAM besides the arena, the model's static scratch and the stack, as linked (arm-none-eabi-nm / the map,
# tinyc build on nucleo-f746, mps3-an547, bluepill, microbit, rpi-pico, nano33ble, nucleo-h743/l476rg/f401re,
# November 2026): the ports' state is 12-30 B (SysTick wrap count and base; the UART ports' state) and the
# linker's alignment padding 19-29 B; the harness (firmware/apps/harness/main.c) declares line[577],
# run_ticks[64] (512 B) and run_crc[64] (256 B: the last RUN's results, replayed when the host asks again),
# tx_crc, the last command's sequence number and CRC, the frame's CRC and the RUN counters (26 B), and
# staging_at[inputs + 1] (4 B each), plus its copy of the input.
RUNTIME_STATE_ESTIMATE = 48  # port state + alignment padding
HARNESS_BUFFERS = 577 + 512 + 256 + 26  # + 4 * (inputs + 1): see harness_buffers()
STACK_ESTIMATE = 4096  # what tinyc's linker script reserves (tinyc.deploy.project.DEFAULT_STACK)
INPUT_COPY_MARGIN = 512  # SRAM left free beside the harness's input copy, else it goes without one
PER_OP_TABLE = 32  # op descriptor in flash
PER_TENSOR_TABLE = 16  # tensor descriptor in flash


@dataclass(frozen=True)
class Item:
    """One line of the budget. The names are read by tinyc/deploy/report.py: keep them stable."""

    name: str
    bytes: int
    estimate: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "estimate": self.estimate, "note": self.note}


@dataclass(frozen=True)
class LayerCode:
    """What the generator emits for one operator (tinyc.codegen.footprint.layer_code)."""

    index: int
    kernel: str  # the runtime macro called
    kernel_set: str  # arm_mve, arm_dsp or reference (the portable C kernels)
    reason: str | None  # why the portable kernel, where the board has an optimized set
    weights: str | None  # the filter's storage ("dense", "packed lut", ...), None without a filter
    instructions: float | None  # predicted per inference (tinyc.codegen.instructions), None: never measured
    measured: bool = True  # the kernel itself was measured (else a related kernel's cost stands in)

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "kernel_set": self.kernel_set, "reason": self.reason, "weights": self.weights,
                "instructions": None if self.instructions is None else round(self.instructions),
                "instructions_measured": self.measured}


@dataclass(frozen=True)
class LayerRow:
    index: int
    op: str
    output_shape: tuple[int, ...]
    macs: int
    params: int
    weight_bytes: int
    code: LayerCode | None = None  # with the generated code's facts (tinyc check always has them)

    def to_json(self) -> dict[str, Any]:
        d = {"index": self.index, "op": self.op, "output_shape": list(self.output_shape), "macs": self.macs,
             "params": self.params, "weight_bytes": self.weight_bytes}
        return d | (self.code.to_json() if self.code else {})


@dataclass(frozen=True)
class Budget:
    model: str
    board: str
    flash_region: MemoryRegion
    ram_region: MemoryRegion
    flash_items: tuple[Item, ...]
    sram_items: tuple[Item, ...]
    plan: MemoryPlan
    tflm_plan: MemoryPlan
    layers: tuple[LayerRow, ...]
    largest_tensors: tuple[tuple[int, str, tuple[int, ...], int], ...]  # (index, name, shape, bytes)
    peak_op: int | None
    peak_op_name: str
    advice: tuple[str, ...] = ()
    tflm_recorded: dict[str, int] | None = None
    fitting_boards: tuple[str, ...] = field(default=())
    other_regions: tuple[MemoryRegion, ...] = field(default=())  # board regions tinyc's link leaves unused
    weights: WeightPlan | None = None  # how the filters are stored on this board, and why
    input_copy: bool = True  # the harness keeps a copy of the input (counted in SRAM); else the host resends it

    @property
    def flash_used(self) -> int:
        return sum(i.bytes for i in self.flash_items)

    @property
    def sram_used(self) -> int:
        return sum(i.bytes for i in self.sram_items)

    @property
    def flash_available(self) -> int:
        return self.flash_region.size

    @property
    def sram_available(self) -> int:
        return self.ram_region.size

    @property
    def flash_headroom(self) -> int:
        return self.flash_available - self.flash_used

    @property
    def sram_headroom(self) -> int:
        return self.sram_available - self.sram_used

    @property
    def fits(self) -> bool:
        return self.flash_headroom >= 0 and self.sram_headroom >= 0

    @property
    def estimate(self) -> bool:
        return any(i.estimate for i in self.flash_items + self.sram_items)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.layers)

    def to_json(self) -> dict[str, Any]:
        def region(r):
            return {"name": r.name, "origin": r.origin, "size": r.size}
        return {
            "model": self.model, "board": self.board, "fits": self.fits, "estimate": self.estimate,
            "flash": {"region": region(self.flash_region), "used": self.flash_used,
                      "available": self.flash_available, "headroom": self.flash_headroom,
                      "estimate": any(i.estimate for i in self.flash_items),
                      "items": [i.to_json() for i in self.flash_items]},
            "sram": {"region": region(self.ram_region), "used": self.sram_used,
                     "available": self.sram_available, "headroom": self.sram_headroom,
                     "estimate": any(i.estimate for i in self.sram_items),
                     "items": [i.to_json() for i in self.sram_items]},
            "arena": {"tinyc": self.plan.arena_size, "tflm_equivalent": self.tflm_plan.arena_size,
                      "plan": self.plan.detail, "notes": list(self.plan.notes),
                      "tflm_recorded": self.tflm_recorded},
            "peak": {"op": self.peak_op, "op_name": self.peak_op_name, "live_bytes": self.plan.peak_live_bytes},
            "largest_tensors": [{"index": i, "name": n, "shape": list(s), "bytes": b}
                                for i, n, s, b in self.largest_tensors],
            "layers": [r.to_json() for r in self.layers],
            "total_macs": self.total_macs, "total_params": self.total_params,
            "advice": list(self.advice), "fitting_boards": list(self.fitting_boards),
            "weights": self.weights.to_json() if self.weights else None, "input_copy": self.input_copy,
            "regions": [{"name": self.flash_region.name, "kind": "flash", "used": self.flash_used,
                         "available": self.flash_available, "headroom": self.flash_headroom},
                        {"name": self.ram_region.name, "kind": "ram", "used": self.sram_used,
                         "available": self.sram_available, "headroom": self.sram_headroom}]
                       + [{"name": r.name, "kind": r.kind, "used": 0, "available": r.size, "headroom": r.size}
                          for r in self.other_regions],
        }


def arena_region(board: Board) -> MemoryRegion:
    """The RAM the firmware links into, as the linker script tinyc renders does (e.g. F746 DTCM+SRAM1+SRAM2)."""
    return contiguous_ram(board.regions)


def flash_region(board: Board) -> MemoryRegion:
    """The flash region the firmware links into (the board's largest)."""
    return max(board.flash_regions, key=lambda r: r.size)


_flash_region = flash_region


def harness_buffers(g: Graph) -> int:
    """The serial harness's own static buffers (its copy of the input apart)."""
    return HARNESS_BUFFERS + 4 * (len(g.inputs) + 1)


def input_bytes(g: Graph) -> int:
    return sum(g.tensor(i).nbytes for i in g.inputs)


def _flash_items(g: Graph, board: Board) -> list[Item]:
    weights = bias = 0
    quant = 0
    seen: set[int] = set()
    for op in g.operators:
        for pos, i in enumerate(op.inputs):
            if i < 0 or i in seen:
                continue
            t = g.tensor(i)
            if not t.is_constant:
                continue
            seen.add(i)
            if t.dtype == "int32" and pos == 2:
                bias += t.stored_nbytes
            else:
                weights += t.stored_nbytes
        if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op.inputs) > 1:
            w = g.tensor(op.inputs[1])
            channels = w.shape[0] if op.op != "DEPTHWISE_CONV_2D" else w.shape[-1]
            quant += 8 * channels  # per-channel multiplier + shift, precomputed
    quant += sum(8 for t in g.tensors if t.quantization.is_quantized and not t.is_constant)
    kernels = sorted({op.op for op in g.operators if op.index not in g.folded})
    # every declared operator has its figure (tests/test_kernel_registry.py); one tinyc cannot run adds none (the
    # compatibility report refuses the model)
    sizes = [operators.get(k).code_size for k in kernels if operators.find(k) is not None]
    code = SHARED_KERNEL_CODE + sum(c.reference + (c.dsp_extra if board.dsp else 0) for c in sizes)
    return [
        Item("weights", weights, note="constant tensors from the .tflite"),
        Item("biases", bias, note="int32 bias vectors"),
        Item("quantization data", quant, estimate=True,
             note="per-channel multipliers/shifts, tensor scales/zero points (runtime layout assumed)"),
        Item("graph tables", PER_OP_TABLE * len(g.operators) + PER_TENSOR_TABLE * len(g.tensors), estimate=True,
             note="op and tensor descriptors"),
        Item("kernel code", code, estimate=True, note=f"{len(kernels)} kernels: {', '.join(kernels)}"),
        Item("runtime code", RUNTIME_CODE_ESTIMATE, estimate=True, note="startup, port, serial harness"),
    ]


@dataclass(frozen=True)
class Generated:
    """What the code generator will emit for this model and board, known before anything is built
    (tinyc.codegen.footprint computes it): the constants exactly as emitted (weights packed where that
    is smaller, DSP re-packing, biases, requantization constants, tables), static RAM outside the arena
    (decode and im2col scratch), and the kernel code measured from compiled objects."""

    constants: int
    static_ram: int
    kernel_code: int | None  # None: no cross compiler to measure with
    kernel_set: str
    kernel_files: tuple[str, ...]
    packed_layers: int
    repack_bytes: int = 0  # what re-packing for the optimized kernel set adds to the constants (may be < 0)
    weights: WeightPlan | None = None  # the filters' storage the constants were generated with
    layers: tuple[LayerCode, ...] = ()  # per operator: kernel, kernel set, storage, predicted instructions


def _generated_flash_items(gen: Generated, estimated: list[Item]) -> list[Item]:
    code = next(i for i in estimated if i.name == "kernel code")
    if gen.kernel_code is not None:
        code = Item("kernel code", gen.kernel_code, estimate=True,
                    note=f"{gen.kernel_set} kernels compiled for this core ({len(gen.kernel_files)} files, -O2); "
                         f"the linker drops functions no call uses")
    packed = f", {gen.packed_layers} filters packed" if gen.packed_layers else ""
    repack = f"; {gen.kernel_set} re-packing {gen.repack_bytes:+,} B of it" if gen.repack_bytes else ""
    return [Item("weights", gen.constants,
                 note=f"every constant array as generated: weights{packed}, biases, requantization constants"
                      f"{repack}")]\
        + [code] + [i for i in estimated if i.name == "runtime code"]


def flash_needed(g: Graph, board: Board, generated: Generated) -> int:
    """The flash ``compute`` would count for this generated code (every flash line added up)."""
    return sum(i.bytes for i in _generated_flash_items(generated, _flash_items(g, board)))


def compute(g: Graph, board: Board, planner: str = "improved", tflm_recorded: dict[str, int] | None = None,
            suggest_boards: bool = True, plan: MemoryPlan | None = None,
            generated: Generated | None = None) -> Budget:
    """The budget of ``g`` on ``board`` (planner "improved" or "tflm"). With ``generated`` (and the
    ``plan`` it was generated from), flash constants and static scratch are exact instead of estimated."""
    tflm = plan_tflm(g)
    if plan is None:
        plan = plan_improved(g) if planner == "improved" else tflm
    scratch = sum(b.size for b in plan.scratch())
    flash_items = _flash_items(g, board)
    if generated is not None:
        flash_items = _generated_flash_items(generated, flash_items)
    sram_items = [
        Item("tensor arena", plan.arena_size,
             note=f"{plan.strategy} plan; includes {scratch} B kernel scratch" if scratch else f"{plan.strategy} plan"),
        Item("runtime state", RUNTIME_STATE_ESTIMATE, estimate=True,
             note="port state and the linker's alignment padding, as linked"),
        Item("stack", STACK_ESTIMATE, estimate=True, note="reserved by the linker script"),
        Item("I/O buffers", harness_buffers(g), note="the serial harness's line and run buffers; tensors live in "
                                                     "the arena"),
    ]
    if generated is not None and generated.static_ram:
        sram_items.append(Item("kernel scratch", generated.static_ram,
                               note="static buffers outside the arena: packed-weight decode, DSP im2col"))
    # The harness keeps a copy of the input to refill it before each timed run, where there is room for it
    # (not the model's memory: an application feeding its own input needs none).
    copy_bytes = input_bytes(g)
    copy = arena_region(board).size - sum(i.bytes for i in sram_items) >= copy_bytes + INPUT_COPY_MARGIN
    sram_items.append(Item("harness input copy", copy_bytes if copy else 0,
                           note="the benchmark harness's copy of the input, refilled before each timed run "
                                "(not the model's)" if copy else
                                "no room for the harness's copy of the input: the host resends it before each run"))
    code = {c.index: c for c in generated.layers} if generated is not None else {}
    layers = []
    for op in g.operators:
        out = g.tensor(op.outputs[0]).shape if op.outputs else ()
        wbytes = sum(g.tensor(i).stored_nbytes for i in dict.fromkeys(op.inputs) if i >= 0 and g.tensor(i).is_constant)
        layers.append(LayerRow(op.index, op.op, out, opsmod.macs(g, op), opsmod.params(g, op), wbytes,
                               code.get(op.index)))
    live = plan.live_at(plan.peak_step) if plan.order else []
    peak_tensors = sorted((b for b in live if b.kind == "tensor"), key=lambda b: -b.size)
    largest = tuple((b.tensor, g.tensor(b.tensor).name, g.tensor(b.tensor).shape, b.nbytes)
                    for b in sorted((b for b in plan.buffers if b.kind == "tensor"), key=lambda b: -b.nbytes)[:5])
    peak_op = plan.peak_op
    peak_name = f"op {peak_op} {g.operators[peak_op].op}" if peak_op is not None else "-"
    budget = Budget(
        model=g.name, board=board.id, flash_region=_flash_region(board), ram_region=arena_region(board),
        flash_items=tuple(flash_items), sram_items=tuple(sram_items), plan=plan, tflm_plan=tflm,
        layers=tuple(layers), largest_tensors=largest, peak_op=peak_op, peak_op_name=peak_name,
        tflm_recorded=tflm_recorded, weights=generated.weights if generated is not None else None,
        input_copy=copy,
    )
    advice = _advice(g, budget, peak_tensors)
    fitting: tuple[str, ...] = ()
    if not budget.fits and suggest_boards:
        fitting = tuple(b.id for b in physical()
                        if _flash_region(b).size >= budget.flash_used and arena_region(b).size >= budget.sram_used)
    linked = {budget.flash_region.name, *budget.ram_region.name.split("+")}
    others = tuple(r for r in board.regions if r.name not in linked)
    return Budget(**{**budget.__dict__, "advice": tuple(advice), "fitting_boards": fitting,
                     "other_regions": others})


def _advice(g: Graph, b: Budget, peak_tensors) -> list[str]:
    out = []
    if b.flash_headroom < 0:
        over = -b.flash_headroom
        big = max(b.layers, key=lambda r: r.weight_bytes)
        weights = next(i.bytes for i in b.flash_items if i.name == "weights")
        share = 100 * big.weight_bytes / max(weights, 1)
        out.append(
            f"flash: cut {over} B ({over / 1024:.1f} KiB). Weights are {weights} B; the largest layer is "
            f"op {big.index} {big.op} with {big.params} params ({big.weight_bytes} B, {share:.0f}% of weights). "
            f"Weight clustering (16 clusters, 4-bit indices) would roughly halve weight storage; magnitude "
            f"pruning helps flash only with sparse storage; a smaller model (fewer channels) cuts both.")
    if b.sram_headroom < 0:
        over = -b.sram_headroom
        names = ", ".join(f"tensor {bb.tensor} {list(g.tensor(bb.tensor).shape)} ({bb.size} B)"
                          for bb in peak_tensors[:3])
        out.append(
            f"SRAM: cut {over} B ({over / 1024:.1f} KiB). The arena peaks at {b.peak_op_name} "
            f"({b.plan.peak_live_bytes} B live: {names}). Structured pruning (fewer channels) of the layers "
            f"around the peak shrinks those activations; weight pruning/clustering does not reduce SRAM.")
    for mem, items, head in (("flash", b.flash_items, b.flash_headroom), ("SRAM", b.sram_items, b.sram_headroom)):
        estimated = sum(i.bytes for i in items if i.estimate)
        if head < 0 and -head <= estimated:
            out.append(f"{mem}: the overflow ({-head} B) is within the estimated items ({estimated} B: "
                       + ", ".join(i.name for i in items if i.estimate)
                       + "); the verdict depends on those estimates: a smaller stack reservation or a build "
                       "that reports real sizes may change it")
    return out
