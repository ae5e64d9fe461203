"""`tinyc optimize`: the steps in order, each measured, the model written atomically at the end.

Data roles: --data trains (fine-tuning, QAT) and calibrates unless --calibration-data is given;
accuracy is measured on --test-data, or, without it, on a seeded held-out part of --data (--holdout)
that no step trains or calibrates on.

First step, before any data is trained on: the compatibility report (every operator tinyc cannot run, with
its Keras layer and the fix; tinyc.optimize.compat). Last step: the written model is checked again, so no
path (a float .tflite quantized by ai-edge-quantizer included) yields operators tinyc cannot run silently.

Each output is scored for its task (tinyc.optimize.tasks: classification, binary, multi-label, regression)
after every step, on the float model and on the int8 model run by TFLite Micro; a step whose int8 model is
more than --max-drop (points of accuracy, or % of RMSE for regression) worse than the input model is warned
about.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tinyc.errors import TinycError
from tinyc.optimize.report import OptimizeReport, StepReport


@dataclass(frozen=True)
class Options:
    prune: float | None = None
    prune_channels: float | None = None
    cluster: int | None = None
    cluster_per_channel: bool = False  # per-tensor: faster in tfmot, and PCQAT keeps its sparsity
    binarize: bool = False
    qat: bool = False
    epochs: int = 3
    seed: int = 0
    holdout: float = 0.2
    finetune: bool = True  # False (--no-finetune): --prune/--cluster edit the trained weights, no retraining
    task: str | None = None  # --task: the outputs' task(s) when the model's compile config does not say
    max_drop: float = 1.0  # --max-drop: points of accuracy (or % of RMSE) a step may lose before a warning

    @property
    def trains(self) -> bool:
        """Whether a step fine-tunes (needs labelled training data and tfmot's tf-keras 2 models)."""
        return bool(self.prune_channels or self.binarize or self.qat
                    or (self.finetune and (self.prune or self.cluster)))


def validate(o: Options) -> None:
    """Option mistakes are caught before anything slow is loaded."""
    from tinyc.optimize.prune import check_fraction

    if o.prune is not None:
        check_fraction(o.prune, "--prune sparsity")
    if o.prune_channels is not None:
        check_fraction(o.prune_channels, "--prune-channels fraction")
    if o.cluster is not None and not (2 <= o.cluster <= 256):
        raise TinycError(f"--cluster {o.cluster} is impossible: give a number of clusters from 2 to 256")
    if o.binarize and (o.prune or o.cluster):
        raise TinycError("--binarize cannot be combined with --prune or --cluster (binary weights are "
                         "neither zero nor clustered); --prune-channels works with it")
    if o.binarize and o.qat:
        raise TinycError("--binarize cannot be combined with --qat: QAT would move the weights off +-alpha")
    if o.cluster and o.cluster_per_channel and o.prune and o.qat:
        raise TinycError("--cluster-per-channel with --prune and --qat: tfmot's prune+cluster-preserving QAT "
                         "loses the sparsity of per-channel clusters; drop --cluster-per-channel")
    if not o.finetune:
        if o.prune_channels or o.binarize or o.qat:
            raise TinycError("--no-finetune applies to --prune and --cluster (post-training, on the trained weights); "
                             "--prune-channels, --binarize and --qat train: drop them or drop --no-finetune")
        if not (o.prune or o.cluster):
            raise TinycError("--no-finetune needs --prune and/or --cluster (the steps it runs without retraining)")
        if o.cluster_per_channel:
            raise TinycError("--cluster-per-channel is tfmot's fine-tuned clustering; without fine-tuning a Keras or "
                             "float kernel is clustered per tensor (int8 kernels per channel): drop it")
    if o.epochs < 0:
        raise TinycError(f"--epochs {o.epochs} is impossible: give 0 or more")
    if not (0.0 < o.holdout < 1.0):
        raise TinycError(f"--holdout {o.holdout} is impossible: give a fraction strictly between 0 and 1")
    if not (o.max_drop >= 0):
        raise TinycError(f"--max-drop {o.max_drop} is impossible: give 0 or more (points of accuracy)")
    if o.task:
        from tinyc.optimize.tasks import parse_task_option

        parse_task_option(o.task, len(o.task.split(",")))


def optimize(model_path: "str | Path | Any", out_path: str | Path, options: Options, data: str | None = None,
             calibration_data: str | None = None, test_data: str | None = None, force: bool = False,
             warn: Callable[[str], None] = lambda m: None, progress=None) -> OptimizeReport:
    """``model_path``: a model file or directory, or a Keras model (tf-keras 2 or Keras 3) in memory."""
    validate(options)
    out = Path(out_path)
    if out.suffix != ".tflite":
        raise TinycError(f"{out}: the output must be a .tflite file")
    from tinyc.outputs import OutputFile

    given = [model_path] if isinstance(model_path, (str, Path)) else []
    inputs = given + [p for p in (data, calibration_data, test_data) if p and Path(p).exists()]
    with OutputFile(out, force=force, inputs=inputs) as target:  # checked and locked before the slow work
        return _optimize(model_path, out, target, options, data, calibration_data, test_data, warn, progress)


def _output_shapes_keras(model) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in o.shape[1:]) for o in model.outputs]


def _optimize(model_path, out: Path, target, options: Options, data, calibration_data, test_data, warn,
              progress) -> OptimizeReport:
    from tinyc.optimize import data as D
    from tinyc.optimize import tasks as T
    from tinyc.optimize.load import load_model, refuse_keras3_training, refuse_tflite_training

    from tinyc.optimize import measure

    o = options
    train = D.load_data(data) if data else None  # data mistakes surface before the slow model load
    calib = D.load_data(calibration_data) if calibration_data else None
    test = D.load_data(test_data) if test_data else None
    loaded = load_model(model_path)
    name = str(loaded.path)
    warnings: list[str] = []

    def warning(msg: str) -> None:
        warnings.append(msg)
        warn(msg)

    # 1. what the model is, and whether tinyc can run it: before any training
    int8_input = False
    if loaded.kind == "tflite":
        if o.trains:
            refuse_tflite_training(loaded.path, "fine-tuning (pruning or clustering with retraining, --prune-channels, "
                                   "--binarize, --qat)")
        input_shape, int8_input = _tflite_input(loaded, o)
        with _task(progress, "checking the model's operators"):
            compat = _tflite_compatibility(loaded, int8_input)
    else:
        if loaded.kind == "keras3" and o.trains:
            refuse_keras3_training(loaded.path, "fine-tuning (pruning or clustering with retraining, "
                                   "--prune-channels, --binarize, --qat)")
        input_shape = loaded.keras.input_shape
        if isinstance(input_shape, list):
            raise TinycError(f"{name}: the model has {len(input_shape)} inputs; tinyc optimizes single-input models")
        from tinyc.optimize.compat import keras_compatibility

        with _task(progress, "checking the model's operators (float conversion)"):
            compat = keras_compatibility(loaded.keras, name)
    if not compat.ok:
        raise TinycError(compat.summary())
    model = loaded.keras

    for ds in (train, calib, test):
        if ds is not None:
            D.check_shape(ds, input_shape, name)
    if test is not None and not test.labelled:
        raise TinycError(f"{test.source}: test data needs labels (y) to measure accuracy")

    # 2. what each output predicts, and the labels in that form
    if loaded.kind == "tflite":
        outputs = measure.tflite_outputs(loaded.tflite)
        shapes = None
    else:
        from tinyc.optimize.train import output_signature

        outputs = output_signature(model)
        shapes = _output_shapes_keras(model)
    names = [n for n, _, _ in outputs]
    labelled = next((ds for ds in (train, test) if ds is not None and ds.labelled), None)
    tasks = T.infer(outputs, loaded.loss, labelled.label_arrays(names) if labelled else None, o.task)
    train, calib, test = (ds.prepared(tasks, shapes) if ds is not None else None for ds in (train, calib, test))
    if test is not None and not test.labelled:
        raise TinycError(f"{test.source}: no labels for the model's outputs ({', '.join(names)})")

    if test is None and train is not None and train.labelled:
        train, test = D.holdout_split(train, o.holdout, o.seed)
    if o.trains and (train is None or not train.labelled):
        raise TinycError("pruning, clustering, binarization and QAT fine-tune the model: pass labelled "
                         "training data with --data D.npz (arrays x and y)")
    if calib is None:
        calib = train
    if calib is None:
        calib = D.synthetic(input_shape, seed=o.seed)
        warning("no calibration data: int8 ranges come from RANDOM inputs in [0, 1]; the accuracy of the "
                "quantized model is UNKNOWN. Pass --data or --calibration-data with real inputs")
    if test is None:
        warning("no labelled test data: accuracy is not measured (pass --test-data D.npz)")
    roles = {"train": train.source if train else "none", "calibration": calib.source,
             "test": test.source if test else "none"}

    from tinyc.optimize.stack import seed_everything

    seed_everything(o.seed)
    steps: list[StepReport] = []
    ref: list[dict] | None = None  # the input model's float scores: what every step is compared with

    def record(step: str, detail: str, tflite: bytes, float_metrics: list[dict] | None, float_bytes: int) -> bytes:
        nonlocal ref
        with _task(progress, f"{step}: measuring with TFLite Micro"):
            figs = measure.figures(tflite)
            int8_metrics = None
            if test is not None:
                order = measure.output_order(tflite, names) if loaded.kind != "tflite" else None
                preds = measure.tflm_outputs(tflite, test.x, order)
                ys = test.y if isinstance(test.y, tuple) else (test.y,)
                int8_metrics = [T.score(t, p, y) for t, p, y in zip(tasks, preds, ys)]
            arena, head = measure.tflm_arena(tflite)
            planned = measure.planned_arena(tflite)
        if ref is None:
            ref = float_metrics or int8_metrics
        prev = steps[-1].int8_metrics if steps else (float_metrics or None)
        change = _changes(tasks, prev, int8_metrics)
        drop = _changes(tasks, ref, int8_metrics)
        single = T.single_classifier(tasks)
        steps.append(StepReport(
            step, detail, float_metrics[0]["accuracy"] if single and float_metrics else None,
            int8_metrics[0]["accuracy"] if single and int8_metrics else None, float_bytes, figs, arena, head, planned,
            float_metrics=float_metrics, int8_metrics=int8_metrics, change=change, drop=drop))
        for t, d in zip(tasks, drop or ()):
            if d is not None and d > o.max_drop:
                what = "accuracy" if t.higher_is_better else "RMSE"
                amount = f"{d:.2f} points" if t.higher_is_better else f"{d:.1f}%"
                out_name = f" (output {t.name})" if len(tasks) > 1 else ""
                warning(f"{step}: the int8 model's {what}{out_name} is {amount} {'below' if t.higher_is_better else 'above'} "
                        f"the input model's ({T.describe(t, int8_metrics[tasks.index(t)])} vs "
                        f"{T.describe(t, ref[tasks.index(t)])}), past --max-drop {o.max_drop:g}")
        return tflite

    def keras_step(step: str, detail: str, keras_model, params_of=None) -> bytes:
        from tinyc.optimize.quantize import to_int8
        from tinyc.optimize.train import keras_metrics

        with _task(progress, f"{step}: converting to int8"):
            tflite = to_int8(keras_model, calib)
        return record(step, detail, tflite, keras_metrics(keras_model, test, tasks),
                      4 * int((params_of or keras_model).count_params()))

    if loaded.kind == "tflite":
        tflite = _tflite_steps(loaded, o, int8_input, calib, test, tasks, record, progress)
    else:
        tflite = keras_step("float -> int8 (PTQ)", "the input model, post-training quantized"
                            + (" (Keras 3)" if loaded.kind == "keras3" else ""), model)
        pruned = False
        clustered = False
        if not o.finetune:
            from tinyc.optimize.weights import keras_edit

            if o.prune:
                model, layers = keras_edit(model, sparsity=o.prune)
                pruned = True
                tflite = keras_step(f"prune {o.prune:.0%} (post-training)",
                                    f"smallest weights zeroed, no fine-tuning: {', '.join(layers)}", model)
            if o.cluster:
                model, layers = keras_edit(model, clusters=o.cluster, keep_zeros=pruned)
                clustered = True
                tflite = keras_step(f"cluster {o.cluster} (post-training)", f"per tensor (k-means), no fine-tuning"
                                    f"{', zeros kept' if pruned else ''}: {', '.join(layers)}", model)
        if o.prune_channels:
            from tinyc.optimize.prune import structured_prune

            model = structured_prune(model, o.prune_channels, train, o.epochs, progress)
            tflite = keras_step(f"prune {o.prune_channels:.0%} of channels", "filters with the smallest L1 norm removed",
                                model)
        if o.prune and o.finetune:
            from tinyc.optimize.prune import magnitude_prune

            model = magnitude_prune(model, o.prune, train, o.epochs, progress)
            pruned = True
            tflite = keras_step(f"prune {o.prune:.0%}", "magnitude pruning (tfmot polynomial schedule)", model)
        if o.cluster and o.finetune:
            from tinyc.optimize.cluster import cluster

            model, layers = cluster(model, o.cluster, train, o.epochs, o.cluster_per_channel, pruned, progress)
            clustered = True
            tflite = keras_step(f"cluster {o.cluster}", f"{'per channel' if o.cluster_per_channel else 'per tensor'}"
                                f"{', sparsity kept' if pruned else ''}: {', '.join(layers)}", model)
        if o.binarize:
            from tinyc.optimize.binarize import binarize

            model, layers = binarize(model, train, o.epochs, progress)
            tflite = keras_step("binarize", f"sign x per-channel scale (STE): {', '.join(layers)}", model)
        if o.qat:
            from tinyc.optimize.quantize import qat

            qmodel, qname = qat(model, train, o.epochs, pruned, clustered, progress)
            tflite = keras_step(qname, "quantization-aware fine-tuning", qmodel, params_of=model)


    # last step: what was written runs on tinyc (no DEQUANTIZE/SHAPE/... slipping through any path)
    from tinyc.model import ops as opsmod
    from tinyc.model.graph import parse

    written = opsmod.compatibility(parse(tflite, name=str(out), main_only=True))
    if not written.ok:
        raise TinycError(f"{written.summary()}; {out} was not written")
    saturation = _saturation(tflite, test, calib, warning)
    target.write(tflite)
    return OptimizeReport(name, str(out), o.seed, roles, tuple(steps), tuple(warnings),
                          tasks=tuple(t.to_json() for t in tasks), input_saturation=saturation, max_drop=o.max_drop)


def _changes(tasks, before: list[dict] | None, after: list[dict] | None) -> list[float | None] | None:
    from tinyc.optimize.tasks import change

    if not before or not after:
        return None
    return [change(t, b, a) for t, b, a in zip(tasks, before, after)]


def _saturation(tflite: bytes, test, calib, warning) -> dict | None:
    """How many input values of the test and calibration data fall outside the int8 input's range."""
    from tinyc.optimize import measure

    result = {}
    for role, ds in (("test", test), ("calibration", calib)):
        if ds is None or ds.source.startswith("synthetic"):
            continue
        s = measure.saturation(tflite, ds.x)
        if s is None:
            return None
        result[role] = {**s, "data": ds.source}
        if s["fraction"] >= 0.01:
            warning(f"{ds.source}: {s['count']:,} of {s['total']:,} input values ({100 * s['fraction']:.1f}%) lie outside "
                    f"the int8 input range [{s['low']:.4g}, {s['high']:.4g}] and saturate; scale the inputs as the "
                    "calibration data is scaled, or calibrate on data that covers them")
    return result or None


def _tflite_input(loaded, o: Options) -> tuple[tuple, bool]:
    from tinyc.model.graph import parse

    g = parse(loaded.tflite, path=loaded.path, main_only=True)
    if len(g.inputs) != 1:
        raise TinycError(f"{loaded.path}: {len(g.inputs)} inputs; tinyc quantizes single-input .tflite models only")
    t = g.tensor(g.inputs[0])
    int8 = t.dtype != "float32"
    if int8 and not (o.prune or o.cluster):
        raise TinycError(f"{loaded.path}: already quantized (input is {t.dtype}); pass it to `tinyc check` as it "
                         "is, or pass the float source model to compress it further (--prune/--cluster with "
                         "--no-finetune also edit its int8 weights)")
    return (None, *t.shape[1:]), int8


def _tflite_compatibility(loaded, int8: bool):
    from tinyc.model import ops as opsmod
    from tinyc.model.graph import parse

    g = parse(loaded.tflite, path=loaded.path, main_only=True)
    return opsmod.compatibility(g, float_ok=not int8,
                                source="the int8 model" if int8 else "the float model, before quantization")


def _tflite_steps(loaded, o: Options, int8_input: bool, calib, test, tasks, record, progress) -> bytes:
    """A .tflite: int8 quantization of a float model (ai-edge-quantizer), then the post-training weight
    steps; an int8 model takes the weight steps on its int8 values directly."""
    from tinyc.optimize import measure
    from tinyc.optimize import tasks as T
    from tinyc.optimize.quantize import tflite_to_int8
    from tinyc.optimize.weights import tflite_edit

    float_metrics = None
    if test is not None:
        ys = test.y if isinstance(test.y, tuple) else (test.y,)
        with _task(progress, "running the input model with TFLite Micro"):
            float_metrics = [T.score(t, p, y) for t, p, y in zip(tasks, measure.tflm_outputs(loaded.tflite, test.x), ys)]
    size = len(loaded.tflite)
    if int8_input:
        tflite = record("int8 .tflite (as given)", "the input model", loaded.tflite, None, size)
    else:
        with _task(progress, "float .tflite: quantizing to int8 (ai-edge-quantizer)"):
            tflite = tflite_to_int8(loaded.tflite, calib)
        tflite = record("float .tflite -> int8 (PTQ)", "ai-edge-quantizer static int8 (weights and activations)",
                        tflite, float_metrics, size)
    current = loaded.tflite
    for what, kw, label in (("prune", {"sparsity": o.prune}, f"prune {o.prune:.0%} (post-training)" if o.prune else ""),
                            ("cluster", {"clusters": o.cluster}, f"cluster {o.cluster} (post-training)"
                             if o.cluster else "")):
        if not label:
            continue
        current, tensors = tflite_edit(current, **kw, keep_zeros=bool(o.prune))
        detail = f"{'int8 values per channel' if int8_input else 'float weights per tensor'}, no fine-tuning: " \
                 f"{len(tensors)} weight tensors"
        if int8_input:
            tflite = record(label, detail, current, None, size)
        else:
            with _task(progress, f"{label}: quantizing to int8 (ai-edge-quantizer)"):
                q = tflite_to_int8(current, calib)
            fm = None
            if test is not None:
                ys = test.y if isinstance(test.y, tuple) else (test.y,)
                fm = [T.score(t, p, y) for t, p, y in zip(tasks, measure.tflm_outputs(current, test.x), ys)]
            tflite = record(label, detail, q, fm, size)
    return tflite


def _task(progress, label: str):
    if progress is None:
        return nullcontext()

    class _Spin:
        def __enter__(self):
            self.id = progress.add_task(label, total=None)

        def __exit__(self, *exc):
            progress.update(self.id, total=1, completed=1)

    return _Spin()
