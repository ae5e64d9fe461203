"""Cheap signals of a candidate .tflite, without building: flash and SRAM from the budget analysis and
memory plan (with the filters stored as tinyc build will store them: tinyc.analyze.weights' decision for
the fit's flash budget), and the per-layer features the latency model prices."""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.fit.latency import LayerFeatures


@dataclass(frozen=True)
class StaticCost:
    flash: int  # bytes the firmware needs in flash (tinyc check's accounting, packed weights counted packed)
    sram: int  # arena + runtime state + stack + I/O + packed-weight decode buffer
    arena: int
    weight_scratch: int
    dense_weights: int  # weight bytes as int8
    packed_weights: int  # the same weights as codegen stores them
    macs: int
    layers: tuple[LayerFeatures, ...]
    packed_layers: int = 0  # filters the weight decision stores packed

    def to_json(self) -> dict:
        return {"flash": self.flash, "sram": self.sram, "arena": self.arena, "weight_scratch": self.weight_scratch,
                "dense_weights": self.dense_weights, "packed_weights": self.packed_weights, "macs": self.macs,
                "packed_layers": self.packed_layers}


def static_cost(tflite: bytes, board, weights: str = "auto", flash_limit: int | None = None) -> StaticCost:
    """tinyc check's accounting (tinyc.codegen.footprint: constants as generated, filters stored as
    ``weights`` decides for ``flash_limit`` (by default the board's flash), static scratch, kernel code
    compiled for the core), plus the per-layer latency features (a packed layer is its own kind)."""
    from tinyc.analyze import budget as budgetmod
    from tinyc.analyze.memory import plan_improved
    from tinyc.codegen import footprint
    from tinyc.model import ops
    from tinyc.model.graph import parse

    g = parse(tflite)
    ops.check_supported(g)
    plan = plan_improved(g)
    low = footprint.lowering(g, plan, board, weights, flash_limit)
    b = budgetmod.compute(g, board, suggest_boards=False, plan=plan, generated=footprint.generated(low, board))
    lowered = low.lowered
    saved = sum(p.dense_bytes - p.packed_bytes for p in lowered.packed)
    constants = next(i.bytes for i in b.flash_items if i.name == "weights")
    storage = {p.op_index: p.mode for p in lowered.packed}
    layers = []
    for op in g.operators:
        out = g.tensor(op.outputs[0]).shape if op.outputs else ()
        n = 1
        for d in out:
            n *= int(d)
        kind = op.op + (f"/{storage[op.index]}" if op.index in storage else "")
        layers.append(LayerFeatures(op.index, kind, int(ops.macs(g, op)), n))
    return StaticCost(flash=b.flash_used, sram=b.sram_used, arena=int(plan.arena_size),
                      weight_scratch=int(lowered.weight_scratch), dense_weights=constants + saved,
                      packed_weights=constants, macs=sum(l.macs for l in layers), layers=tuple(layers),
                      packed_layers=len(lowered.packed))
