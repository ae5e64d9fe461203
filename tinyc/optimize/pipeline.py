"""`tinyc optimize`: the steps in order, each measured, the model written atomically at the end.

Data roles: --data trains (fine-tuning, QAT) and calibrates unless --calibration-data is given;
accuracy is measured on --test-data, or, without it, on a seeded held-out part of --data (--holdout)
that no step trains or calibrates on.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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

    @property
    def trains(self) -> bool:
        return bool(self.prune or self.prune_channels or self.cluster or self.binarize or self.qat)


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
    if o.epochs < 0:
        raise TinycError(f"--epochs {o.epochs} is impossible: give 0 or more")
    if not (0.0 < o.holdout < 1.0):
        raise TinycError(f"--holdout {o.holdout} is impossible: give a fraction strictly between 0 and 1")


def optimize(model_path: str | Path, out_path: str | Path, options: Options, data: str | None = None,
             calibration_data: str | None = None, test_data: str | None = None, force: bool = False,
             warn: Callable[[str], None] = lambda m: None, progress=None) -> OptimizeReport:
    validate(options)
    out = Path(out_path)
    if out.suffix != ".tflite":
        raise TinycError(f"{out}: the output must be a .tflite file")
    from tinyc.outputs import OutputFile

    inputs = [model_path] + [p for p in (data, calibration_data, test_data) if p and Path(p).exists()]
    with OutputFile(out, force=force, inputs=inputs) as target:  # checked and locked before the slow work
        return _optimize(model_path, out, target, options, data, calibration_data, test_data, warn, progress)


def _optimize(model_path, out: Path, target, options: Options, data, calibration_data, test_data, warn,
              progress) -> OptimizeReport:
    from tinyc.optimize import data as D
    from tinyc.optimize.load import load_model, refuse_tflite_training

    train = D.load_data(data) if data else None  # data mistakes surface before the slow model load
    calib = D.load_data(calibration_data) if calibration_data else None
    test = D.load_data(test_data) if test_data else None
    loaded = load_model(model_path)
    if loaded.kind == "tflite":
        if options.trains:
            refuse_tflite_training(loaded.path, "pruning, clustering, binarization and QAT")
        input_shape = _tflite_input_shape(loaded)
    else:
        input_shape = loaded.keras.input_shape
    model = loaded.keras
    warnings: list[str] = []

    def warning(msg: str) -> None:
        warnings.append(msg)
        warn(msg)

    for ds in (train, calib, test):
        if ds is not None:
            D.check_shape(ds, input_shape, str(loaded.path))
    if test is not None and not test.labelled:
        raise TinycError(f"{test.source}: test data needs labels (y) to measure accuracy")
    if test is None and train is not None and train.labelled:
        train, test = D.holdout_split(train, options.holdout, options.seed)
    if options.trains and (train is None or not train.labelled):
        raise TinycError("pruning, clustering, binarization and QAT fine-tune the model: pass labelled "
                         "training data with --data D.npz (arrays x and y)")
    if calib is None:
        calib = train
    if calib is None:
        calib = D.synthetic(input_shape, seed=options.seed)
        warning("no calibration data: int8 ranges come from RANDOM inputs in [0, 1]; the accuracy of the "
                "quantized model is UNKNOWN. Pass --data or --calibration-data with real inputs")
    if test is None:
        warning("no labelled test data: accuracy is not measured (pass --test-data D.npz)")
    roles = {"train": train.source if train else "none", "calibration": calib.source,
             "test": test.source if test else "none"}

    from tinyc.optimize import measure
    from tinyc.optimize.stack import seed_everything
    from tinyc.optimize.train import keras_accuracy
    from tinyc.optimize.quantize import to_int8

    seed_everything(options.seed)
    if loaded.kind == "tflite":
        return _quantize_tflite(loaded, calib, test, out, target, roles, options.seed, warnings, progress)
    from tinyc.optimize.quantize import check_convertible

    check_convertible(model)
    steps: list[StepReport] = []

    def record(name: str, detail: str, keras_model, params_of=None) -> bytes:
        with _task(progress, f"{name}: converting to int8 and measuring with TFLite Micro"):
            tflite = to_int8(keras_model, calib)
            figs = measure.figures(tflite)
            int8_acc = measure.tflm_accuracy(tflite, test.x, test.y) if test is not None else None
            arena, head = measure.tflm_arena(tflite)
            planned = measure.planned_arena(tflite)
        steps.append(StepReport(name, detail, keras_accuracy(keras_model, test), int8_acc,
                                4 * int((params_of or keras_model).count_params()), figs, arena, head, planned))
        return tflite

    tflite = record("float -> int8 (PTQ)", "the input model, post-training quantized", model)
    o = options
    pruned = False
    clustered = False
    if o.prune_channels:
        from tinyc.optimize.prune import structured_prune

        model = structured_prune(model, o.prune_channels, train, o.epochs, progress)
        tflite = record(f"prune {o.prune_channels:.0%} of channels", "filters with the smallest L1 norm removed",
                        model)
    if o.prune:
        from tinyc.optimize.prune import magnitude_prune

        model = magnitude_prune(model, o.prune, train, o.epochs, progress)
        pruned = True
        tflite = record(f"prune {o.prune:.0%}", "magnitude pruning (tfmot polynomial schedule)", model)
    if o.cluster:
        from tinyc.optimize.cluster import cluster

        model, layers = cluster(model, o.cluster, train, o.epochs, o.cluster_per_channel, pruned, progress)
        clustered = True
        tflite = record(f"cluster {o.cluster}", f"{'per channel' if o.cluster_per_channel else 'per tensor'}"
                        f"{', sparsity kept' if pruned else ''}: {', '.join(layers)}", model)
    if o.binarize:
        from tinyc.optimize.binarize import binarize

        model, layers = binarize(model, train, o.epochs, progress)
        tflite = record("binarize", f"sign x per-channel scale (STE): {', '.join(layers)}", model)
    if o.qat:
        from tinyc.optimize.quantize import qat

        qmodel, name = qat(model, train, o.epochs, pruned, clustered, progress)
        tflite = record(name, "quantization-aware fine-tuning", qmodel, params_of=model)

    target.write(tflite)
    return OptimizeReport(str(model_path), str(out), o.seed, roles, tuple(steps), tuple(warnings))


def _tflite_input_shape(loaded) -> tuple:
    from tinyc.model.graph import parse

    g = parse(loaded.tflite, path=loaded.path)
    if len(g.inputs) != 1:
        raise TinycError(f"{loaded.path}: {len(g.inputs)} inputs; tinyc quantizes single-input .tflite models only")
    t = g.tensor(g.inputs[0])
    if t.dtype != "float32":
        raise TinycError(f"{loaded.path}: already quantized (input is {t.dtype}); pass it to `tinyc check` as it "
                         "is, or pass the float source model to compress it further")
    return (None, *t.shape[1:])


def _quantize_tflite(loaded, calib, test, out: Path, target, roles, seed, warnings, progress) -> OptimizeReport:
    """A float .tflite: post-training int8 quantization only, measured like every other step."""
    from tinyc.optimize import measure
    from tinyc.optimize.quantize import tflite_to_int8

    with _task(progress, "float .tflite: quantizing to int8 (ai-edge-quantizer), measuring with TFLite Micro"):
        tflite = tflite_to_int8(loaded.tflite, calib)
        float_acc = measure.tflm_accuracy(loaded.tflite, test.x, test.y) if test is not None else None
        int8_acc = measure.tflm_accuracy(tflite, test.x, test.y) if test is not None else None
        figs = measure.figures(tflite)
        arena, head = measure.tflm_arena(tflite)
        planned = measure.planned_arena(tflite)
    step = StepReport("float .tflite -> int8 (PTQ)", "ai-edge-quantizer static int8 (weights and activations)",
                      float_acc, int8_acc, len(loaded.tflite), figs, arena, head, planned)
    target.write(tflite)
    return OptimizeReport(str(loaded.path), str(out), seed, roles, (step,), tuple(warnings))


def _task(progress, label: str):
    if progress is None:
        return nullcontext()

    class _Spin:
        def __enter__(self):
            self.id = progress.add_task(label, total=None)

        def __exit__(self, *exc):
            progress.update(self.id, total=1, completed=1)

    return _Spin()
