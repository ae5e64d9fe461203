"""How each CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED filter is stored in flash: a decision per board.

A packed filter (docs/compressed-weights.md) takes less flash but is decoded on every inference: the DSP and
Helium sets decode a packed CONV_2D / FULLY_CONNECTED filter whole for their matmul (cheap for a convolution
over many pixels, several times the dense cost for a one-batch FULLY_CONNECTED), the portable kernels one
channel at a time. So with ``auto`` a filter is packed only when the model does not
fit the board's flash with every filter dense; then the filters packed are those that save the most flash per
instruction added: the greedy choice (cheapest instructions per byte saved first, until the saving covers the
overflow, then any filter the later ones cover left dense again), or, where a greedy choice overshoots with
a big filter, the combination that covers the overflow for fewer instructions (an exact covering knapsack
over the filters, to 1/8192 of the overflow). ``packed`` packs every filter whose blob is smaller; ``dense``
none.

Pure data in, pure data out: tinyc.codegen.footprint sizes and prices each filter both ways (lowered and
specialized exactly as generate does it for the board) and lowering takes the per-layer choice made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MODES = ("auto", "packed", "packed-ram", "dense")


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
    # bytes the packed filters had to save: ``need`` plus the packed kernels' own code (0: as ``need``)
    target: int = 0
    # the kernel fit to the board (tinyc.codegen.footprint): the most static scratch an optimized kernel may
    # take (None: no limit), and the layers that keep their reference kernels with why
    scratch_limit: int | None = None
    portable: tuple[tuple[int, str], ...] = ()
    # --weights packed-ram: the packed layers whose filter tinyc_model_init() decodes into RAM of its own, and
    # the instructions per inference that saves (predicted, as check's kernel costs)
    resident: tuple[int, ...] = ()
    resident_saved: float | None = None

    @property
    def cover(self) -> int:
        return max(self.need, self.target)

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
        if self.mode == "packed-ram":
            saved = "" if self.resident_saved is None else \
                f", about {round(self.resident_saved):,} instructions per inference fewer (predicted)"
            return (f"--weights packed-ram: {n} filters packed wherever smaller, {len(self.resident)} of them "
                    f"decoded into RAM at start-up (the SRAM the board leaves){saved}")
        if not self.options:
            return "no filter would be smaller packed: every filter dense"
        if self.need <= 0:
            return "the model fits with every filter dense: dense (the optimized kernels)"
        if self.saved < self.need:
            return (f"dense is {self.need:,} B over the flash; packing every filter saves only {self.saved:,} B")
        code = (f" ({self.cover - self.need:,} B more for the packed kernels' code)"
                if self.cover > self.need else "")
        return (f"dense is {self.need:,} B over the flash{code}: {n} filters packed (the fewest instructions "
                f"added for the flash saved), saving {self.saved:,} B")

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "packed": list(self.packed), "need": self.need, "limit": self.limit,
                "cover": self.cover,
                "saved": self.saved, "extra_instructions": None if self.extra == float("inf") else round(self.extra),
                "reason": self.reason(), "resident": list(self.resident),
                "resident_saved_instructions": None if self.resident_saved is None else round(self.resident_saved),
                "options": [o.to_json() for o in self.options]}


def decide(options: tuple[FilterOption, ...] | list[FilterOption], mode: str, need: int,
           limit: int | None = None) -> WeightPlan:
    """The filters to pack: none (``dense``, or ``auto`` while ``need`` <= 0), every one that saves bytes
    (``packed``), or for ``auto`` the filters that save ``need`` bytes for the fewest instructions added
    (_greedy, or _cheapest_cover where that adds fewer). Saving less than ``need`` in all packs them all."""
    if mode not in MODES:
        raise ValueError(f"weights mode {mode!r}")
    options = tuple(options)
    useful = [o for o in options if o.saved > 0]
    if mode == "dense" or (mode == "auto" and need <= 0):
        chosen: list[FilterOption] = []
    elif mode in ("packed", "packed-ram") or sum(o.saved for o in useful) < need:
        chosen = useful
    else:
        chosen = _greedy(useful, need)
        exact = _cheapest_cover(useful, need)
        if exact is not None and _extra(exact) < _extra(chosen):
            chosen = _without_spares(exact, need)
    packed = tuple(sorted(i for o in chosen for i in o.ops))
    return WeightPlan(mode, packed, options, need, limit, need)


def _extra(chosen) -> float:
    return sum(o.extra for o in chosen)


def _greedy(useful: list[FilterOption], need: int) -> list[FilterOption]:
    """Cheapest instructions per byte saved first until ``need`` bytes are saved; then without any filter
    taken early that the ones taken after it cover."""
    ranked = sorted(useful, key=lambda o: (o.cost_per_byte, -o.saved, o.ops))
    chosen, total = [], 0
    for o in ranked:
        if total >= need:
            break
        chosen.append(o)
        total += o.saved
    return _without_spares(chosen, need)


def _without_spares(chosen: list[FilterOption], need: int) -> list[FilterOption]:
    """Drop, dearest first, every filter the others already cover ``need`` without."""
    chosen, total = list(chosen), sum(o.saved for o in chosen)
    for o in sorted(chosen, key=lambda o: (-o.extra, o.ops)):
        if total - o.saved >= need:
            chosen.remove(o)
            total -= o.saved
    return chosen


def _cheapest_cover(useful: list[FilterOption], need: int, cells: int = 1 << 25) -> list[FilterOption] | None:
    """The set saving at least ``need`` bytes with the fewest instructions added: dynamic programming over
    the bytes saved, exact (in bytes) while filters x bytes stay under ``cells``, else in coarser units
    (each filter's saving rounded down, so the set found saves ``need`` for certain, perhaps not the
    cheapest). None when the rounding leaves no set that covers it."""
    unit = max(1, -(-need * max(1, len(useful)) // cells))
    target = -(-need // unit)
    big = 1e18  # a filter never priced: only when nothing else covers the need
    cost = [o.extra if np.isfinite(o.extra) else big for o in useful]
    dp = np.full(target + 1, np.inf)
    dp[0] = 0.0  # dp[j]: fewest instructions added to save at least j units with the filters seen so far
    take = np.zeros((len(useful), target + 1), dtype=bool)
    cells = np.arange(target + 1)
    for i, o in enumerate(useful):
        cand = dp[np.maximum(cells - o.saved // unit, 0)] + cost[i]
        take[i] = cand < dp
        dp = np.where(take[i], cand, dp)
    if not np.isfinite(dp[target]):
        return None
    chosen, j = [], target
    for i in range(len(useful) - 1, -1, -1):
        if take[i, j]:
            chosen.append(useful[i])
            j = max(0, j - useful[i].saved // unit)
    return chosen[::-1]
