"""How each CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED filter is stored in flash: a decision per board.

A packed filter (docs/compressed-weights.md) takes less flash, but only the portable kernels decode it:
on a Cortex-M7 a packed layer costs several times the instructions of the DSP kernel for the same layer,
on the M55 10-30 times the Helium one's. So with ``auto`` a filter is packed only when the model does not
fit the board's flash with every filter dense; then the filters that save the most flash per instruction
added go first (greedy on instructions added / bytes saved), until the saving covers the overflow, and any
chosen filter the others already cover is left dense again. ``packed`` packs every filter whose blob is
smaller; ``dense`` none.

Pure data in, pure data out: tinyc.codegen.footprint sizes and prices each filter both ways (lowered and
specialized exactly as generate does it for the board) and lowering takes the per-layer choice made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MODES = ("auto", "packed", "dense")


@dataclass(frozen=True)
class FilterOption:
    """One filter that packing would shrink, sized and priced both ways for the board's kernel set."""

    ops: tuple[int, ...]  # operators that read this filter (one, unless a filter is shared)
    op: str
    tensor: str
    mode: str  # the packing mode its blob would use (tinyc.model.packing.MODE_NAMES)
    dense_bytes: int  # flash of these layers' constants with the filter dense (re-packed for the kernel set)
    packed_bytes: int  # the same with the filter packed
    dense_kernel: str
    packed_kernel: str
    dense_instructions: float | None  # predicted per inference (tinyc.codegen.instructions)
    packed_instructions: float | None
    measured: bool = True  # both kernels' costs measured (else a related kernel's stand in)

    @property
    def saved(self) -> int:
        return self.dense_bytes - self.packed_bytes

    @property
    def extra(self) -> float:
        """Instructions packing adds per inference (the packed kernel minus the dense one)."""
        if self.dense_instructions is None or self.packed_instructions is None:
            return float("inf")
        return self.packed_instructions - self.dense_instructions

    @property
    def cost_per_byte(self) -> float:
        return self.extra / self.saved if self.saved > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        def num(v):
            return None if v is None else round(v)
        return {"ops": list(self.ops), "op": self.op, "tensor": self.tensor, "mode": self.mode,
                "dense_bytes": self.dense_bytes, "packed_bytes": self.packed_bytes, "saved": self.saved,
                "dense_kernel": self.dense_kernel, "packed_kernel": self.packed_kernel,
                "dense_instructions": num(self.dense_instructions),
                "packed_instructions": num(self.packed_instructions),
                "extra_instructions": None if self.extra == float("inf") else round(self.extra),
                "measured": self.measured}


@dataclass(frozen=True)
class WeightPlan:
    """The storage chosen for every filter packing would shrink (any other filter is dense)."""

    mode: str  # what was asked: auto, packed or dense
    packed: tuple[int, ...]  # operator indices whose filter is stored packed
    options: tuple[FilterOption, ...]
    need: int = 0  # flash bytes over the limit with every filter dense (<= 0: the model fits dense)
    limit: int | None = None  # the flash the decision was made for

    def choice(self) -> dict[int, str]:
        """The per-layer choice lowering takes (op index -> "packed"); layers not named stay dense."""
        return {i: "packed" for i in self.packed}

    def format_of(self, op_index: int) -> str | None:
        """"packed", "dense", or None for a layer whose filter packing would not shrink."""
        if op_index in self.packed:
            return "packed"
        return "dense" if any(op_index in o.ops for o in self.options) else None

    @property
    def saved(self) -> int:
        return sum(o.saved for o in self.options if o.ops[0] in self.packed)

    @property
    def extra(self) -> float:
        return sum(o.extra for o in self.options if o.ops[0] in self.packed)

    def reason(self) -> str:
        n = len({o.ops[0] for o in self.options if o.ops[0] in self.packed})
        if self.mode == "dense":
            return "--weights dense: every filter dense"
        if self.mode == "packed":
            return f"--weights packed: {n} filters packed wherever smaller"
        if not self.options:
            return "no filter would be smaller packed: every filter dense"
        if self.need <= 0:
            return "the model fits with every filter dense: dense (the optimized kernels)"
        if self.saved < self.need:
            return (f"dense is {self.need:,} B over the flash; packing every filter saves only {self.saved:,} B")
        return (f"dense is {self.need:,} B over the flash: {n} filters packed (fewest instructions added per "
                f"byte saved first), saving {self.saved:,} B")

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "packed": list(self.packed), "need": self.need, "limit": self.limit,
                "saved": self.saved, "extra_instructions": None if self.extra == float("inf") else round(self.extra),
                "reason": self.reason(), "options": [o.to_json() for o in self.options]}


def decide(options: tuple[FilterOption, ...] | list[FilterOption], mode: str, need: int,
           limit: int | None = None) -> WeightPlan:
    """The filters to pack: none (``dense``, or ``auto`` while ``need`` <= 0), every one that saves bytes
    (``packed``), or for ``auto`` the cheapest in instructions per byte saved until ``need`` bytes are
    saved, then without any the others already cover. Saving less than ``need`` in all packs them all."""
    if mode not in MODES:
        raise ValueError(f"weights mode {mode!r}")
    options = tuple(options)
    useful = [o for o in options if o.saved > 0]
    if mode == "dense" or (mode == "auto" and need <= 0):
        chosen: list[FilterOption] = []
    elif mode == "packed":
        chosen = useful
    else:
        ranked = sorted(useful, key=lambda o: (o.cost_per_byte, -o.saved, o.ops))
        chosen, total = [], 0
        for o in ranked:
            if total >= need:
                break
            chosen.append(o)
            total += o.saved
        if total >= need:  # a filter taken early may be covered by those taken after it
            for o in sorted(chosen, key=lambda o: (-o.extra, o.ops)):
                if total - o.saved >= need:
                    chosen.remove(o)
                    total -= o.saved
    packed = tuple(sorted(i for o in chosen for i in o.ops))
    return WeightPlan(mode, packed, options, need, limit)
