"""What `tinyc optimize` did, step by step: sizes as stored, sparsity, unique weights, MACs, accuracy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tinyc.optimize.measure import ModelFigures


@dataclass(frozen=True)
class StepReport:
    name: str  # "float", "prune 50%", "cluster 16", "int8", ...
    detail: str
    float_accuracy: float | None  # the Keras model after this step (a float .tflite input: run by TFLM)
    int8_accuracy: float | None  # this step converted to int8, run by TFLite Micro
    float_bytes: int  # Keras parameters as float32 (a float .tflite input: its file size)
    figures: ModelFigures | None  # the int8 conversion of this step
    arena_bytes: int | None  # TFLM's recorded arena total for that conversion (x86 build)
    tflm_head_bytes: int | None  # of which planned tensor memory (TFLM's "head")
    planned_arena_bytes: int | None  # tinyc's own memory plan (tinyc.analyze.memory)

    def to_json(self) -> dict:
        d = asdict(self)
        d["figures"] = self.figures.to_json() if self.figures else None
        return d


@dataclass(frozen=True)
class OptimizeReport:
    model: str
    output: str
    seed: int
    data: dict[str, str]  # role -> source (train, calibration, test)
    steps: tuple[StepReport, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def final(self) -> StepReport:
        return self.steps[-1]

    def to_json(self) -> dict:
        return {"model": self.model, "output": self.output, "seed": self.seed, "data": self.data,
                "steps": [s.to_json() for s in self.steps], "warnings": list(self.warnings)}


def _pct(v: float | None) -> str:
    return "unknown" if v is None else f"{100 * v:.2f}%"


def render(report: OptimizeReport):
    """Rich tables: one row per step, then the final model's weight tensors."""
    from rich.table import Table

    from tinyc.ui import fmt_bytes, plain

    steps = Table(title=plain(f"tinyc optimize {report.model} -> {report.output}"), title_justify="left")
    for col in ("step", "float acc", "int8 acc (TFLM)", "float32", ".tflite", "packed (MCU)", "sparsity",
                "max unique/ch", "MACs", "arena plan", "TFLM arena"):
        steps.add_column(col, justify="left" if col == "step" else "right")
    for s in report.steps:
        f = s.figures
        steps.add_row(
            plain(s.name), _pct(s.float_accuracy), _pct(s.int8_accuracy), fmt_bytes(s.float_bytes),
            fmt_bytes(f.tflite_bytes) if f else "-", fmt_bytes(f.packed_bytes) if f else "-",
            f"{100 * f.sparsity:.1f}%" if f else "-",
            str(max((l.unique_per_channel for l in f.layers), default=0)) if f else "-",
            f"{f.macs:,}" if f else "-", f"{s.planned_arena_bytes:,} B" if s.planned_arena_bytes else "-",
            f"{s.arena_bytes:,} B" if s.arena_bytes else "-")
    steps.caption = (f"accuracy on {plain(report.data.get('test', 'none'))} (held out: never trained or calibrated on); "
                     "float acc: the Keras model after the step; int8 acc: that step converted to int8 and run "
                     "by the TFLite Micro interpreter; packed: weights stored in tinyc's packed format "
                     "(docs/compressed-weights.md); arena plan: tinyc's tensor arena; TFLM arena: the recorded "
                     "total on this x86 host, interpreter structs included")
    layers = Table(title="final model: weights as stored", title_justify="left")
    for col in ("tensor", "op", "shape", "weights", "sparsity", "unique", "unique/ch", "packing", "raw",
                "packed", "bits/weight"):
        layers.add_column(col, justify="left" if col in ("tensor", "op", "packing") else "right")
    if report.final.figures:
        for l in report.final.figures.layers:
            layers.add_row(plain(l.tensor[-40:]), plain(l.op), "x".join(map(str, l.shape)), f"{l.weights:,}",
                           f"{100 * l.sparsity:.1f}%", str(l.unique), str(l.unique_per_channel), plain(l.packing),
                           f"{l.raw_bytes:,} B", f"{l.packed_bytes:,} B", f"{l.bits_per_weight:.3f}")
    return steps, layers
