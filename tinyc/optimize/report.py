"""What `tinyc optimize` did, step by step: sizes as stored, sparsity, unique weights, MACs, accuracy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tinyc.optimize.measure import ModelFigures


@dataclass(frozen=True)
class StepReport:
    name: str  # "float", "prune 50%", "cluster 16", "int8", ...
    detail: str
    # One-output classifiers only (None otherwise: see the per-output metrics):
    float_accuracy: float | None  # the Keras model after this step (a float .tflite input: run by TFLM)
    int8_accuracy: float | None  # this step converted to int8, run by TFLite Micro
    float_bytes: int  # Keras parameters as float32 (a float .tflite input: its file size)
    figures: ModelFigures | None  # the int8 conversion of this step
    arena_bytes: int | None  # TFLM's recorded arena total for that conversion (x86 build)
    tflm_head_bytes: int | None  # of which planned tensor memory (TFLM's "head")
    planned_arena_bytes: int | None  # tinyc's own memory plan (tinyc.analyze.memory)
    # Per output (the report's ``tasks`` order): the task's scores (accuracy; label accuracy and exact match;
    # MAE and RMSE) of the float model after this step and of its int8 conversion run by TFLite Micro.
    float_metrics: list[dict] | None = None
    int8_metrics: list[dict] | None = None
    # Per output: how much worse this step's int8 model is than the previous step's (the first step: than
    # the float input model), and than the float input model: points of accuracy, or % of RMSE (+ = worse).
    change: list[float | None] | None = None
    drop: list[float | None] | None = None

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
    tasks: tuple[dict, ...] = ()  # per output: name, kind, units, from_logits, loss, source (tinyc.optimize.tasks)
    input_saturation: dict | None = None  # role -> count/total of input values outside the int8 input range
    max_drop: float = 1.0

    @property
    def final(self) -> StepReport:
        return self.steps[-1]

    def to_json(self) -> dict:
        return {"model": self.model, "output": self.output, "seed": self.seed, "data": self.data,
                "tasks": list(self.tasks), "max_drop": self.max_drop, "input_saturation": self.input_saturation,
                "steps": [s.to_json() for s in self.steps], "warnings": list(self.warnings)}


def _pct(v: float | None) -> str:
    return "unknown" if v is None else f"{100 * v:.2f}%"


def _per_output(tasks, metrics: list[dict] | None) -> str:
    from tinyc.optimize import tasks as T
    from tinyc.ui import plain

    if not metrics:
        return "unknown"
    many = len(tasks) > 1
    return "\n".join((f"{plain(t.name)}: " if many else "") + T.describe(t, m) for t, m in zip(tasks, metrics))


def _change(tasks, change: list | None) -> str:
    from tinyc.optimize import tasks as T

    if not change or not tasks:
        return "-"
    return "\n".join(T.describe_change(t, c) for t, c in zip(tasks, change))


def render(report: OptimizeReport):
    """Rich tables: one row per step, then the final model's weight tensors."""
    from rich.table import Table

    from tinyc.ui import fmt_bytes, plain

    from tinyc.optimize import tasks as T

    tasks = [T.OutputTask(**{**t, "loss": None}) for t in report.tasks]
    single = T.single_classifier(tasks)
    steps = Table(title=plain(f"tinyc optimize {report.model} -> {report.output}"), title_justify="left",
                  caption_justify="left")
    score_cols = ("float acc", "int8 acc (TFLM)", "change") if single or not tasks else \
        ("float (per output)", "int8, TFLM (per output)", "change")
    for col in ("step", *score_cols, "float32", ".tflite", "packed (MCU)", "sparsity",
                "max unique/ch", "MACs", "arena plan", "TFLM arena"):
        steps.add_column(col, justify="left" if col in ("step", "float (per output)", "int8, TFLM (per output)")
                         else "right")
    for s in report.steps:
        f = s.figures
        if single or not tasks:
            scores = (_pct(s.float_accuracy), _pct(s.int8_accuracy), _change(tasks, s.change))
        else:
            scores = (_per_output(tasks, s.float_metrics), _per_output(tasks, s.int8_metrics), _change(tasks, s.change))
        steps.add_row(
            plain(s.name), *scores, fmt_bytes(s.float_bytes),
            fmt_bytes(f.tflite_bytes) if f else "-", fmt_bytes(f.packed_bytes) if f else "-",
            f"{100 * f.sparsity:.1f}%" if f else "-",
            str(max((l.unique_per_channel for l in f.layers), default=0)) if f else "-",
            f"{f.macs:,}" if f else "-", f"{s.planned_arena_bytes:,} B" if s.planned_arena_bytes else "-",
            f"{s.arena_bytes:,} B" if s.arena_bytes else "-")
    what = "accuracy" if single else "scores"
    steps.caption = (f"{what} on {plain(report.data.get('test', 'none'))} (held out: never trained or calibrated on); "
                     "float: the Keras model after the step; int8: that step converted to int8 and run "
                     "by the TFLite Micro interpreter; change: this step's int8 model against the previous step's "
                     "(points of accuracy, or % of RMSE); packed: weights stored in tinyc's packed format "
                     "(docs/compressed-weights.md); arena plan: tinyc's tensor arena; TFLM arena: the recorded "
                     "total on this x86 host, interpreter structs included")
    if tasks:
        steps.caption += "\noutputs: " + plain("; ".join(f"{t.name}: {t.kind} ({t.source})" for t in tasks))
    for role, sat in (report.input_saturation or {}).items():
        steps.caption += (f"\n{role} inputs saturating at the int8 input range [{sat['low']:.4g}, {sat['high']:.4g}]: "
                          f"{sat['count']:,} of {sat['total']:,} values ({100 * sat['fraction']:.2f}%)")
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


def render_compatibility(out, c) -> None:
    """The compatibility report (tinyc.model.ops.Compatibility): one row per problem, with its layer and fix.
    Rich only (no TensorFlow): `tinyc inspect X.tflite` prints it."""
    from rich.table import Table

    from tinyc.ui import plain

    if c.ok:
        out.print(f"[green]runs on tinyc[/green]: every operator of {plain(c.model)} has a tinyc kernel ({c.ops} ops, "
                  f"{plain(c.source)})")
        return
    t = Table(title=plain(f"what stops {c.model} from running on tinyc ({c.source})"), title_justify="left")
    for col in ("#", "op", "Keras layer", "problem", "fix"):
        t.add_column(col, justify="right" if col == "#" else "left")
    for i in c.issues:
        t.add_row("-" if i.index is None else str(i.index), plain(i.op or "model"), plain(i.layer or "-"),
                  plain(i.problem), plain(i.fix or "-"), style="red" if i.index is not None else None)
    out.print(t)
