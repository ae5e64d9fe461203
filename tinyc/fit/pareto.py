"""Pareto front of evaluated candidates: accuracy up, latency and memory down."""

from __future__ import annotations

from typing import Mapping, Sequence

# (column, sense): +1 maximize, -1 minimize. The front every fit output (table, plot) is drawn from.
OBJECTIVES: tuple[tuple[str, int], ...] = (("accuracy", +1), ("latency", -1), ("flash", -1), ("sram", -1))


def dominates(a: Mapping, b: Mapping, objectives=OBJECTIVES) -> bool:
    """a is at least as good as b in every objective and strictly better in one."""
    better = False
    for col, sense in objectives:
        x, y = sense * float(a[col]), sense * float(b[col])
        if x < y:
            return False
        if x > y:
            better = True
    return better


def front(rows: Sequence[Mapping], objectives=OBJECTIVES) -> list[int]:
    """Indices of the rows no other row dominates (ties: identical rows are all kept)."""
    return [i for i, r in enumerate(rows)
            if not any(dominates(o, r, objectives) for j, o in enumerate(rows) if j != i)]
