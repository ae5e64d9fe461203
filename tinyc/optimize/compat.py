"""Will the model run? The compatibility report of a Keras model, in seconds and before any training.

The model is converted to a float TFLite model with the same converter front end as the int8 conversion
(TFLite builtins only; quantization changes the types, not which operators appear), and every operator tinyc
has no kernel for is listed at once, each mapped to the Keras layer it came from (through the tensor names),
with the fix where one is known (tinyc.model.ops.compatibility: the same report `tinyc inspect`/`check` give
for a .tflite). When the converter itself fails (a layer needs TensorFlow ops, a recurrent layer runs as a
while loop), a second conversion that allows TensorFlow ops lists what those layers became; the converter's
MLIR text never reaches the user.
"""

from __future__ import annotations

import re

from tinyc.errors import TinycError
from tinyc.model.ops import Compatibility, OpIssue, compatibility

_RNN = ("GRU", "LSTM", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_LOOP_OPS = ("WHILE", "CUSTOM:FlexTensorListReserve", "CUSTOM:FlexTensorListStack",
             "CUSTOM:FlexTensorListFromTensor", "CUSTOM:FlexTensorListSetItem", "CUSTOM:FlexTensorListGetItem")
SOURCE = "float conversion of the Keras model, before any training"


def layer_labels(model) -> dict[str, str]:
    """Layer name -> "name (Class)", nested models' layers included."""
    out: dict[str, str] = {}

    def walk(m):
        for layer in getattr(m, "layers", ()):
            out.setdefault(layer.name, f"{layer.name} ({type(layer).__name__})")
            if hasattr(layer, "layers"):
                walk(layer)

    walk(model)
    return out


def output_layers(model, tflite: bytes, graph) -> dict[int, str]:
    """Graph output tensor -> the Keras output layer (the converter names output tensors
    StatefulPartitionedCall:N, which say nothing about the layer)."""
    from tinyc.optimize.measure import signature_outputs

    labels = layer_labels(model)
    names = list(getattr(model, "output_names", None) or [])
    out = {}
    for pos, sig in enumerate(signature_outputs(tflite)):
        if pos >= len(graph.outputs):
            break
        if sig in labels:
            out[graph.outputs[pos]] = labels[sig]
        else:
            m = re.fullmatch(r"output_(\d+)", sig)
            if m and int(m.group(1)) < len(names) and names[int(m.group(1))] in labels:
                out[graph.outputs[pos]] = labels[names[int(m.group(1))]]
    return out


def _loops(model) -> list[str]:
    """Recurrent layers that the converter turns into a while loop (not unrolled)."""
    found = []
    for name, label in layer_labels(model).items():
        cls = label.rsplit("(", 1)[-1].rstrip(")")
        if cls in _RNN:
            layer = _find(model, name)
            cfg = layer.get_config() if layer is not None else {}
            inner = cfg.get("layer", {}).get("config", {}) if cls == "Bidirectional" else cfg
            if not inner.get("unroll", False):
                found.append(label)
    return found


def _find(model, name):
    for layer in getattr(model, "layers", ()):
        if layer.name == name:
            return layer
        if hasattr(layer, "layers"):
            hit = _find(layer, name)
            if hit is not None:
                return hit
    return None


def keras_compatibility(model, where: str) -> Compatibility:
    """The compatibility report of a Keras model (tf-keras 2 or Keras 3), from a float conversion."""
    from tinyc.model.graph import parse
    from tinyc.optimize.quantize import _quiet, converter
    from tinyc.optimize.stack import tf_stack

    tf = tf_stack().tf
    labels = layer_labels(model)
    conv = converter(model)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        blob = _quiet(conv.convert)
    except Exception as exc:  # noqa: BLE001 - the converter raises ConverterError with MLIR text
        failure = exc
    else:
        g = parse(blob, name=where, main_only=True)
        c = compatibility(g, layers=labels, float_ok=True, output_layers=output_layers(model, blob, g), source=SOURCE)
        # a recurrent layer with a fixed batch converts to a builtin WHILE (no TensorList ops): name it the same way
        return _with_loops(c, _loops(model) if any(op.op == "WHILE" for op in g.operators) else [])
    # Layers that need TensorFlow ops: convert again allowing them, to name every operator at once.
    loops = _loops(model)
    try:
        conv = converter(model)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
        conv._experimental_lower_tensor_list_ops = False
        blob = _quiet(conv.convert)
        g = parse(blob, name=where, main_only=True)
        c = compatibility(g, layers=labels, float_ok=True, output_layers=output_layers(model, blob, g), source=SOURCE)
    except Exception:  # noqa: BLE001 - not even with TensorFlow ops: say what the converter said, in one line
        raise TinycError(f"{where}: the model does not convert to TFLite builtins{_layers_in(str(failure), labels)}: "
                         f"{_first_error(str(failure))}" + (f"; {_loop_text(loops)}" if loops else
                                                            "; replace that layer with layers TFLite supports")) from None
    return _with_loops(c, loops)


def _with_loops(c: Compatibility, loops: list[str]) -> Compatibility:
    """``c`` with the issues of the recurrent layers that run as a while loop (``loops``) said once, per layer."""
    issues = list(c.issues)
    if loops:
        # the loop's own machinery (WHILE, TensorList ops, the shape arithmetic of its state) goes with the
        # layer: after unroll=True the next report lists what the unrolled layer needs
        issues = [i for i in issues if i.layer is not None and i.layer not in loops and i.op not in _LOOP_OPS]
        issues.insert(0, OpIssue(None, "", f"has recurrent layer(s) {', '.join(loops)} that run as a TensorFlow while "
                                 "loop (WHILE: several subgraphs), which tinyc cannot run",
                                 fix="build them with unroll=True (a fixed sequence length)"))
    return Compatibility(c.model, tuple(issues), c.ops, c.source)


def _loop_text(loops: list[str]) -> str:
    return (f"recurrent layer(s) {', '.join(loops)} run as a TensorFlow while loop: build them with unroll=True "
            "(a fixed sequence length)")


def _layers_in(text: str, labels: dict[str, str]) -> str:
    found = [labels[n] for n in labels if re.search(rf"/{re.escape(n)}(_\d+)?/", text)]
    return f" (layer {', '.join(found[:3])})" if found else ""


def _first_error(text: str) -> str:
    """The converter's first error, without MLIR locations, cut at a word."""
    msgs = re.findall(r"error: ([^\n]+)", text)
    msg = msgs[0] if msgs else (text.strip().splitlines() or ["conversion failed"])[0]
    msg = re.sub(r"loc\(.*?\)\s*:?", "", msg).strip()
    msg = " ".join(msg.split())
    if len(msg) > 200:
        msg = msg[:200].rsplit(" ", 1)[0] + " ..."
    return msg


def require_compatible(model, where: str) -> Compatibility:
    c = keras_compatibility(model, where)
    if not c.ok:
        raise TinycError(c.summary())
    return c
