"""Tensor lifetimes and arena plans: a TFLM-equivalent greedy plan, and tinyc's improved plan.

The TFLM-equivalent plan follows TFLite Micro's GreedyMemoryPlanner as its recorded "arena head":
every non-constant tensor (and every scratch buffer a reference kernel requests) is a buffer with a
size rounded up to 16 bytes and a lifetime [first op that writes it, last op that reads it]; graph
inputs live from op 0, graph outputs to the last op. Buffers are placed largest first (ties: the
last-added buffer first, as TFLM sorts them) at the lowest offset that does not overlap any placed
buffer alive at the same time.

The improved plan (what tinyc's runtime uses) reads the op-rule table in ``tinyc.model.ops``: view ops
(RESHAPE) share their input's bytes, declared in-place kernels overwrite their input, several
placement orders are tried, and on branching graphs other valid execution orders are searched. It
keeps the TFLM-equivalent plan as a candidate, so it is never larger.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from tinyc.model import ops as opsmod
from tinyc.model.graph import Graph

__all__ = ["ALIGNMENT", "Buffer", "MemoryPlan", "buffers", "plan_tflm", "plan_improved", "validate",
           "execution_orders", "greedy_order", "inplace_ops"]

ALIGNMENT = 16  # TFLM's MicroArenaBufferAlignment()


def align(n: int, a: int = ALIGNMENT) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Buffer:
    """One arena allocation: a tensor (with any tensors aliased onto it) or a kernel scratch buffer."""

    id: int
    kind: str  # "tensor" or "scratch"
    tensor: int | None  # tensor index (kind == "tensor")
    op: int | None  # op index that requests it (kind == "scratch")
    nbytes: int  # unaligned bytes
    size: int  # bytes reserved (aligned)
    first: int  # first step alive (position in the execution order)
    last: int  # last step alive
    offset: int = -1
    aliases: tuple[int, ...] = ()  # other tensors that share these bytes (views, in-place outputs)
    role: str = ""  # scratch: "inplace" when an in-place kernel needs it (ops.inplace_form)
    # Tensors sharing bytes through in-place kernels: (first, last, aligned size) runs of the bytes the
    # group holds while its members live (size is their maximum); empty: ``size`` the whole lifetime.
    segments: tuple[tuple[int, int, int], ...] = ()

    @property
    def end(self) -> int:
        return self.offset + self.size

    def size_at(self, step: int) -> int:
        if not self.first <= step <= self.last:
            return 0
        for f, l, n in self.segments:
            if f <= step <= l:
                return n
        return 0 if self.segments else self.size

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return not (self.last < other.first or other.last < self.first)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "tensor": self.tensor, "op": self.op, "nbytes": self.nbytes,
                "size": self.size, "first": self.first, "last": self.last, "offset": self.offset,
                "aliases": list(self.aliases), "role": self.role,
                "segments": [list(x) for x in self.segments]}


@dataclass(frozen=True)
class MemoryPlan:
    strategy: str  # "tflm" or "improved"
    arena_size: int  # bytes of the planned (non-persistent) arena
    buffers: tuple[Buffer, ...]
    order: tuple[int, ...]  # op indices in the order the runtime must execute them
    alignment: int = ALIGNMENT
    peak_step: int = 0  # step (position in ``order``) where the live bytes peak
    peak_live_bytes: int = 0
    detail: str = ""  # how the plan was found
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Bytes at the arena's end holding variable tensors for the whole run (the TFLM-equivalent plan: TFLite Micro
    # keeps them in its persistent tail, outside the planned head).
    persistent: int = 0

    @property
    def head(self) -> int:
        """The planned part of the arena: what TFLite Micro records as its head for the TFLM-equivalent plan."""
        return self.arena_size - self.persistent

    @property
    def peak_op(self) -> int | None:
        return self.order[self.peak_step] if self.order else None

    def offset_of(self, tensor: int) -> int | None:
        """Arena offset of a tensor (aliases included); None when not in the arena (constant/unused)."""
        for b in self.buffers:
            if b.kind == "tensor" and (b.tensor == tensor or tensor in b.aliases):
                return b.offset
        return None

    def tensor_offsets(self) -> dict[int, int]:
        out = {}
        for b in self.buffers:
            if b.kind == "tensor":
                out[b.tensor] = b.offset
                for a in b.aliases:
                    out[a] = b.offset
        return out

    def scratch(self) -> list[Buffer]:
        return [b for b in self.buffers if b.kind == "scratch"]

    def scratch_offsets(self) -> dict[int, list[tuple[int, int, str]]]:
        """Per op index: (offset, bytes, role) of each scratch buffer it uses, in request order."""
        out: dict[int, list[tuple[int, int, str]]] = {}
        for b in self.buffers:
            if b.kind == "scratch" and b.op is not None:
                out.setdefault(b.op, []).append((b.offset, b.nbytes, b.role))
        return out

    def live_at(self, step: int) -> list[Buffer]:
        return [b for b in self.buffers if b.first <= step <= b.last]

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "arena_size": self.arena_size, "alignment": self.alignment,
                "order": list(self.order), "peak_op": self.peak_op, "peak_live_bytes": self.peak_live_bytes,
                "detail": self.detail, "notes": list(self.notes),
                "buffers": [b.to_json() for b in self.buffers]}


# --- lifetimes ---------------------------------------------------------------------------------------

def buffers(graph: Graph, order: Iterable[int] | None = None, *, alias_views: bool = False,
            inplace: bool = False, rules: dict[str, opsmod.OpRule] | None = None,
            runtime: str = "tflm", inplace_ops: Iterable[int] | None = None) -> list[Buffer]:
    """The arena buffers of ``graph`` executed in ``order`` (default: file order), unplaced.

    With ``alias_views``/``inplace`` the op-rule table decides which outputs share their input's bytes
    (``inplace_ops`` limits in-place kernels to those op indices); an in-place kernel's scratch becomes
    a scratch buffer with role "inplace". ``runtime`` picks whose kernel scratch buffers are planned
    ("tflm" or "tinyc").
    """
    allowed = None if inplace_ops is None else set(inplace_ops)
    inplace_scratch: dict[int, int] = {}
    inplace_out: set[int] = set()  # outputs written over an input by an in-place kernel
    rules = opsmod.OP_RULES if rules is None else rules
    order = tuple(range(len(graph.operators))) if order is None else tuple(order)
    n = len(order)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in graph.inputs:
        if t >= 0 and not graph.tensor(t).is_constant:
            first[t] = 0
            last.setdefault(t, 0)
    folded = set(graph.folded)  # computed at generation time: they read nothing at run time
    for step, oi in enumerate(order):
        op = graph.operators[oi]
        for t in (() if oi in folded else op.inputs):
            if t >= 0 and not graph.tensor(t).is_constant:
                last[t] = step
                first.setdefault(t, step)  # a tensor read but never written: treat as created here
        for t in op.outputs:
            if t >= 0 and not graph.tensor(t).is_constant:
                first.setdefault(t, step)
                last[t] = max(last.get(t, step), step)
    for t in graph.outputs:
        if t >= 0 and t in first:
            last[t] = n - 1

    # union-find of tensors that share bytes
    parent: dict[int, int] = {}

    def root(t: int) -> int:
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    if alias_views or inplace:
        for step, oi in enumerate(order):
            op = graph.operators[oi]
            rule = rules.get(op.op)
            if rule is None or not op.outputs:
                continue
            src = None
            form = None
            out = op.outputs[0]
            if alias_views and rule.view:
                src = op.inputs[0] if op.inputs else None
            elif inplace and (allowed is None or oi in allowed) and out >= 0 and out in first \
                    and root(out) == out:
                form = opsmod.inplace_form(graph, op, rules)
                for pos in (form.inputs if form is not None else ()):
                    cand = op.inputs[pos] if pos < len(op.inputs) else -1
                    # in place only when this op is the input's last reader and the input is not a graph output
                    if cand >= 0 and cand in first and cand not in graph.outputs \
                            and _members_last(root(cand), parent, last) == step:
                        src = cand
                        break
            if src is None or src < 0 or out < 0 or out not in first or src not in first:
                continue
            a, b = graph.tensor(src), graph.tensor(out)
            if rule.view and alias_views:
                if b.nbytes != a.nbytes:
                    continue
            elif form is not None and form.scheme == "elementwise" and b.nbytes > a.nbytes:
                continue
            parent[out] = root(src)
            if form is not None:
                inplace_scratch[oi] = form.scratch
                inplace_out.add(out)

    groups: dict[int, list[int]] = {}
    for t in first:
        if runtime == "tflm" and graph.tensor(t).is_variable:
            continue  # TFLite Micro allocates variable tensors in its persistent tail, not in the planned head
        groups.setdefault(root(t), []).append(t)

    out_buffers: list[Buffer] = []
    for r in sorted(groups):
        members = sorted(groups[r])
        nbytes = max(graph.tensor(t).nbytes for t in members)
        if nbytes == 0:
            continue
        lo, hi = min(first[t] for t in members), max(last[t] for t in members)
        segments: list[tuple[int, int, int]] = []
        if any(t in inplace_out for t in members):
            for step in range(lo, hi + 1):
                n = align(max((graph.tensor(t).nbytes for t in members if first[t] <= step <= last[t]), default=0))
                if segments and segments[-1][2] == n and segments[-1][1] == step - 1:
                    segments[-1] = (segments[-1][0], step, n)
                else:
                    segments.append((step, step, n))
            if len(segments) == 1:
                segments = []
        out_buffers.append(Buffer(
            id=len(out_buffers), kind="tensor", tensor=r, op=None, nbytes=nbytes, size=align(nbytes),
            first=lo, last=hi, aliases=tuple(t for t in members if t != r), segments=tuple(segments)))
    for step, oi in enumerate(order):
        op = graph.operators[oi]
        rule = rules.get(op.op)
        if runtime == "tflm":
            sizes = list(rule.scratch(graph, op)) if rule and rule.scratch else []
        else:
            sizes = list(rule.runtime_scratch(graph, op)) if rule and rule.runtime_scratch else []
        for nb in sizes:
            if nb > 0:
                out_buffers.append(Buffer(id=len(out_buffers), kind="scratch", tensor=None, op=oi, nbytes=nb,
                                          size=align(nb), first=step, last=step))
        if oi in inplace_scratch:
            nb = inplace_scratch[oi]
            if nb > 0:
                out_buffers.append(Buffer(id=len(out_buffers), kind="scratch", tensor=None, op=oi, nbytes=nb,
                                          size=align(nb), first=step, last=step, role="inplace"))
    return out_buffers


def _members_last(r: int, parent: dict[int, int], last: dict[int, int]) -> int:
    """Last use over every tensor already merged into group ``r``."""
    def root(t):
        while parent.get(t, t) != t:
            t = parent[t]
        return t
    return max([last[t] for t in last if root(t) == r] or [-1])


# --- placement ---------------------------------------------------------------------------------------

# Placers return each buffer's offset (in ``bufs`` order); _at makes the placed buffers of the one kept.

def _at(bufs: list[Buffer], offsets: list[int]) -> list[Buffer]:
    return [replace(b, offset=o) for b, o in zip(bufs, offsets)]


def _place_greedy(bufs: list[Buffer], key) -> list[int]:
    """TFLM-style first fit: place buffers in ``key`` order at the lowest offset free for their lifetime."""
    ordered = sorted(range(len(bufs)), key=lambda i: key(bufs[i], i))
    placed: list[int] = []
    offsets = [0] * len(bufs)
    for i in ordered:
        b = bufs[i]
        candidate = 0
        for j in sorted((j for j in placed if bufs[j].overlaps_in_time(b)), key=offsets.__getitem__):
            if offsets[j] - candidate >= b.size:
                break
            candidate = max(candidate, offsets[j] + bufs[j].size)
        offsets[i] = candidate
        placed.append(i)
    return offsets


def _place_best_fit(bufs: list[Buffer], key) -> list[int]:
    """Like greedy, but each buffer takes the smallest gap that fits (ties: lowest offset)."""
    ordered = sorted(range(len(bufs)), key=lambda i: key(bufs[i], i))
    placed: list[int] = []
    offsets = [0] * len(bufs)
    for i in ordered:
        b = bufs[i]
        gaps = []
        candidate = 0
        for j in sorted((j for j in placed if bufs[j].overlaps_in_time(b)), key=offsets.__getitem__):
            if offsets[j] - candidate >= b.size:
                gaps.append((offsets[j] - candidate, candidate))
            candidate = max(candidate, offsets[j] + bufs[j].size)
        offsets[i] = min(gaps)[1] if gaps else candidate
        placed.append(i)
    return offsets


def _profile(b: Buffer, n_steps: int):
    import numpy as np

    row = np.zeros(n_steps, dtype=np.int64)
    if b.segments:
        for f, l, n in b.segments:
            row[f:l + 1] = n
    else:
        row[b.first:b.last + 1] = b.size
    return row


def _place_segments(bufs: list[Buffer], key, best_fit: bool = False) -> list[int]:
    """First (or best) fit where a buffer's size may change over its lifetime (``Buffer.segments``): a
    candidate offset is free when, at every step both are alive, the buffer's bytes then clear every
    placed buffer's bytes then.

    Against one placed buffer at offset ``off`` the offsets c taken are, step by step, off - need < c <
    off + held: open intervals that all contain ``off``, so together the one interval
    (off - most the buffer needs at a shared step, off + most the placed one holds at a shared step).
    A free offset that is lowest or starts a gap is 0 or the end of one of those intervals."""
    import numpy as np

    n_steps = max((b.last for b in bufs), default=0) + 1
    prof = np.stack([_profile(b, n_steps) for b in bufs]) if bufs else np.zeros((0, n_steps), np.int64)
    # most[i][j]: the most bytes buffer i holds at a step where buffer j holds some (0: never together)
    most = (prof[:, None, :] * (prof > 0)[None, :, :]).max(axis=2, initial=0).tolist()
    ordered = sorted(range(len(bufs)), key=lambda i: key(bufs[i], i))
    placed: list[int] = []
    offsets = [0] * len(bufs)
    for i in ordered:
        mine = most[i]
        taken = sorted((offsets[j] - mine[j], offsets[j] + most[j][i]) for j in placed if mine[j])
        offset = 0
        if taken:
            los = [lo for lo, _ in taken]
            reach = list(itertools.accumulate((hi for _, hi in taken), max))  # furthest end of those below

            def free(c: int) -> bool:
                k = bisect.bisect_left(los, c)  # intervals starting below c
                return k == 0 or reach[k - 1] <= c

            cands = sorted({0, *(hi for _, hi in taken)})
            if best_fit:
                valid = [c for c in cands if free(c)]
                # the smallest free gap above each valid candidate (ties: lowest offset): up to the
                # nearest offset at or above it among the placed buffers it shares a step with
                starts = sorted({offsets[j] for j in placed if mine[j]})
                gaps = []
                for c in valid:
                    k = bisect.bisect_left(starts, c)
                    gaps.append((starts[k] - c if k < len(starts) else 1 << 62, c))
                offset = min(gaps)[1]
            else:
                offset = next(c for c in cands if free(c))
        offsets[i] = offset
        placed.append(i)
    return offsets


def _tflm_key(b: Buffer, i: int):
    # TFLM fills its sort array from the tail, then bubble-sorts by size (stable): ties go last-added first
    return (-b.size, -i)


_KEYS = {
    "size": _tflm_key,
    "size*lifetime": lambda b, i: (-(b.size * (b.last - b.first + 1)), -b.size, i),
    "lifetime": lambda b, i: (-(b.last - b.first), -b.size, i),
    "first-use": lambda b, i: (b.first, -b.size, i),
}


def _arena(bufs: list[Buffer]) -> int:
    return max((b.end for b in bufs), default=0)


def _peak(bufs: list[Buffer], n_steps: int) -> tuple[int, int]:
    best = (0, 0)
    for s in range(max(n_steps, 1)):
        live = sum(b.size_at(s) for b in bufs if b.first <= s <= b.last)
        if live > best[1]:
            best = (s, live)
    return best


def _make(strategy: str, bufs: list[Buffer], order: tuple[int, ...], detail: str,
          notes: tuple[str, ...] = ()) -> MemoryPlan:
    step, live = _peak(bufs, len(order))
    return MemoryPlan(strategy=strategy, arena_size=_arena(bufs), buffers=tuple(bufs), order=order,
                      peak_step=step, peak_live_bytes=live, detail=detail, notes=notes)


def plan_tflm(graph: Graph) -> MemoryPlan:
    """The plan TFLite Micro's GreedyMemoryPlanner makes (its recorded arena head). TFLite Micro runs the
    operators tinyc folds (tinyc.model.fold) and plans their outputs: they are planned here too."""
    order = tuple(range(len(graph.operators)))
    bufs = buffers(graph.as_file(), order)
    placed = _at(bufs, _place_greedy(bufs, _tflm_key))
    head = _arena(placed)
    # variable tensors (an LSTM's state): above the head for the whole run, as in TFLite Micro's persistent tail
    offset, n = align(head), len(order)
    for t in sorted({i for op in graph.operators for i in op.inputs if i >= 0 and graph.tensor(i).is_variable}):
        nb = graph.tensor(t).nbytes
        placed.append(Buffer(id=len(placed), kind="tensor", tensor=t, op=None, nbytes=nb, size=align(nb), first=0,
                             last=max(n - 1, 0), offset=offset))
        offset += align(nb)
    plan = _make("tflm", placed, order, "TFLM GreedyMemoryPlanner: largest first, first fit, file order")
    return replace(plan, persistent=plan.arena_size - head)


# --- execution orders --------------------------------------------------------------------------------

def _deps(graph: Graph) -> list[set[int]]:
    prod = {t: op.index for op in graph.operators for t in op.outputs if t >= 0}
    return [{prod[t] for t in op.inputs if t in prod} for op in graph.operators]


def execution_orders(graph: Graph, limit: int = 64) -> list[tuple[int, ...]]:
    """Up to ``limit`` valid topological orders, the file order first. Chains have exactly one."""
    n = len(graph.operators)
    deps = _deps(graph)
    file_order = tuple(range(n))
    orders = [file_order]
    users = [set() for _ in range(n)]
    for i, d in enumerate(deps):
        for j in d:
            users[j].add(i)
    if n > 400:
        return orders

    def rec(prefix: list[int], done: set[int], ready: list[int]):
        if len(orders) >= limit:
            return
        if len(prefix) == n:
            t = tuple(prefix)
            if t != file_order:
                orders.append(t)
            return
        if len(ready) == 1:  # no choice: follow the chain without branching the search
            choice = [ready[0]]
        else:
            choice = sorted(ready)
        for op in choice:
            nd = done | {op}
            nr = [r for r in ready if r != op] + [u for u in sorted(users[op])
                                                  if u not in nd and deps[u] <= nd]
            rec(prefix + [op], nd, nr)
            if len(orders) >= limit:
                return

    rec([], set(), [i for i in range(n) if not deps[i]])
    return orders


def greedy_order(graph: Graph) -> tuple[int, ...]:
    """A low-footprint order: run next the ready op that adds the fewest live bytes (outputs it creates
    minus inputs it frees); ties keep file order. A heuristic candidate beside the enumerated orders."""
    n = len(graph.operators)
    deps = _deps(graph)
    readers: dict[int, set[int]] = {}
    for op in graph.operators:
        for t in op.inputs:
            if t >= 0 and not graph.tensor(t).is_constant:
                readers.setdefault(t, set()).add(op.index)
    outputs = set(graph.outputs)
    done: set[int] = set()
    order: list[int] = []
    while len(order) < n:
        ready = [i for i in range(n) if i not in done and deps[i] <= done]
        if not ready:  # a cycle cannot happen in a valid model; keep file order for safety
            return tuple(range(n))

        def delta(i: int) -> int:
            op = graph.operators[i]
            made = sum(graph.tensor(t).nbytes for t in op.outputs if t >= 0)
            freed = sum(graph.tensor(t).nbytes for t in set(op.inputs)
                        if t >= 0 and t not in outputs and t in readers and readers[t] - done == {i})
            return made - freed

        pick = min(ready, key=lambda i: (delta(i), i))
        order.append(pick)
        done.add(pick)
    return tuple(order)


def inplace_ops(graph: Graph, plan: MemoryPlan, rules: dict[str, opsmod.OpRule] | None = None) -> dict[int, int]:
    """Ops the plan runs in place: op index -> the input position its output overwrites (same buffer)."""
    group: dict[int, int] = {}
    for b in plan.buffers:
        if b.kind == "tensor":
            for t in (b.tensor, *b.aliases):
                group[t] = b.id
    out: dict[int, int] = {}
    for oi in plan.order:
        op = graph.operators[oi]
        if not op.outputs or op.outputs[0] not in group:
            continue
        rule = (opsmod.OP_RULES if rules is None else rules).get(op.op)
        if rule is None or rule.view:
            continue
        form = opsmod.inplace_form(graph, op, rules)
        for pos in (form.inputs if form is not None else ()):
            t = op.inputs[pos] if pos < len(op.inputs) else -1
            if t >= 0 and group.get(t) == group[op.outputs[0]]:
                out[oi] = pos
                break
    return out


def _search(graph: Graph, orders, rules, inplace_choices, baseline_order) -> tuple[MemoryPlan | None, int]:
    best = None  # (arena size, buffers, offsets, order, detail) of the smallest so far
    candidates = 0
    for order in orders:
        for choice in inplace_choices:
            if choice is False:
                bufs = buffers(graph, order, alias_views=True, inplace=False, rules=rules, runtime="tinyc")
            else:
                bufs = buffers(graph, order, alias_views=True, inplace=True, rules=rules, runtime="tinyc",
                               inplace_ops=None if choice is True else choice)
            segmented = any(b.segments for b in bufs)
            for kname, key in _KEYS.items():
                for pname, placer in (("first-fit", _place_greedy), ("best-fit", _place_best_fit)):
                    if segmented:
                        placer = (lambda bb, kk, bf=(pname == "best-fit"): _place_segments(bb, kk, bf))
                    offsets = placer(bufs, key)
                    size = max((o + b.size for b, o in zip(bufs, offsets)), default=0)
                    candidates += 1
                    if best is None or size < best[0]:
                        best = (size, bufs, offsets, order,
                                f"{pname} by {kname}" + ("" if order == baseline_order else ", reordered"))
    if best is None:
        return None, candidates
    _, bufs, offsets, order, detail = best
    return _make("improved", _at(bufs, offsets), order, detail), candidates


def plan_improved(graph: Graph, rules: dict[str, opsmod.OpRule] | None = None,
                  order_limit: int = 64, inplace: bool = True) -> MemoryPlan:
    """tinyc's plan: aliasing views, declared in-place kernels (``inplace``), tinyc's own kernel scratch
    (the op table's runtime_scratch), several placements, order search.

    Plans without in-place kernels are tried first and kept on a tie; when in-place kernels make the
    arena smaller, the plan keeps only the in-place ops it needs for that size (the others keep their
    normal, possibly optimized, kernels)."""
    rules = opsmod.OP_RULES if rules is None else rules
    baseline = plan_tflm(graph)
    orders = execution_orders(graph, order_limit)
    heuristic = greedy_order(graph)
    if heuristic not in orders:
        orders.append(heuristic)
    best, candidates = _search(graph, orders, rules, (False, True) if inplace else (False,), baseline.order)
    if best is not None and best.arena_size < baseline.arena_size:
        used = inplace_ops(graph, best, rules)
        keep = set(used)
        for oi in sorted(used, key=lambda o: best.order.index(o)):
            trial, n = _search(graph, [best.order], rules, [frozenset(keep - {oi})], baseline.order)
            candidates += n
            if trial is not None and trial.arena_size <= best.arena_size:
                keep.discard(oi)
                best = replace(trial, detail=best.detail)
    notes = [f"searched {candidates} candidate plans"]
    if best is None or best.arena_size >= baseline.arena_size:
        if baseline.arena_size == baseline.peak_live_bytes:
            notes.append("optimal for this order: the arena equals the bytes live at the peak op")
        return replace(baseline, strategy="improved", detail="TFLM-equivalent plan (no candidate was smaller)",
                       notes=tuple(notes))
    if best.arena_size == best.peak_live_bytes:
        notes.append("optimal for this order: the arena equals the bytes live at the peak op")
    ip = inplace_ops(graph, best, rules)
    aliased = sum(len(b.aliases) for b in best.buffers) - len(ip)
    if aliased:
        notes.append(f"{aliased} tensor(s) share bytes with their input (views)")
    if ip:
        scratch = sum(b.size for b in best.buffers if b.kind == "scratch" and b.role == "inplace")
        notes.append(f"{len(ip)} op(s) run in place (ops {', '.join(map(str, sorted(ip)))}; "
                     f"in-place scratch {scratch} B)")
    if best.order != baseline.order:
        notes.append("the runtime must execute the ops in this plan's order")
    return replace(best, notes=tuple(notes))


def validate(plan: MemoryPlan) -> None:
    """Raise AssertionError if two buffers alive at the same time overlap in memory, or any is unaligned."""
    bufs = plan.buffers
    for b in bufs:
        assert b.offset >= 0 and b.offset % plan.alignment == 0, f"buffer {b.id} at {b.offset} unaligned"
        assert b.end <= plan.arena_size, f"buffer {b.id} ends past the arena"
    for a, b in itertools.combinations(bufs, 2):
        if a.overlaps_in_time(b):
            if not (a.segments or b.segments):
                assert a.end <= b.offset or b.end <= a.offset, (
                    f"buffers {a.id} ({a.kind} {a.tensor}) and {b.id} ({b.kind} {b.tensor}) overlap")
                continue
            for s in range(max(a.first, b.first), min(a.last, b.last) + 1):
                na, nb = a.size_at(s), b.size_at(s)
                assert not na or not nb or a.offset + na <= b.offset or b.offset + nb <= a.offset, (
                    f"buffers {a.id} ({a.kind} {a.tensor}) and {b.id} ({b.kind} {b.tensor}) overlap at step {s}")
