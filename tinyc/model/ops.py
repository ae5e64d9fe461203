"""The operators tinyc runs, as the analysis sees them: MACs, parameters, memory rules, and the check that a
parsed graph is something a microcontroller can run (int8, one subgraph, static, every operator declared).

The rules come from the operator declarations (``tinyc.operators``, one module per operator): ``OP_RULES``
maps each TFLite operator to its ``OpDecl``. They are the contract with the C runtime: ``view`` ops (RESHAPE)
may alias their input (the kernel must then be a no-op when input and output share memory), and ``inplace``
says, per operator, which inputs an in-place kernel of the runtime may overwrite with the output and what
scratch it then needs (``tinyc.model.inplace``). ``inplace_input`` is the scratch-free form of the same
declaration (one input, any shape).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tinyc import operators
from tinyc.model import inplace as _inplace
from tinyc.model.graph import Graph, ModelError, Operator
from tinyc.operators import OpDecl

__all__ = ["OpRule", "OP_RULES", "SUPPORTED", "macs", "params", "scratch_bytes", "check_supported",
           "UnsupportedModel", "inplace_form", "OpIssue", "Compatibility", "compatibility", "layer_from_name",
           "STATE_INPUTS", "owned_state"]

OpRule = OpDecl  # what the planner reads of a declaration (view, inplace, scratch, ...)


def __getattr__(name: str):
    """``OP_RULES`` (operator -> declaration) and ``SUPPORTED`` (their names), read from the registry when
    first asked: the declared operators, a user's folders (``TINYC_OPERATORS``) included."""
    if name == "OP_RULES":
        return operators.all_ops()
    if name == "SUPPORTED":
        return tuple(operators.all_ops())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UnsupportedModel(ModelError):
    """A well-formed model that tinyc cannot run on a microcontroller."""


def macs(g: Graph, op: Operator) -> int:
    rule = operators.find(op.op)
    if rule is None:
        return 0
    try:
        return rule.macs(g, op)
    except (IndexError, TypeError, ValueError):  # an inconsistent operator: tinyc.model.verify names it
        return 0


def params(g: Graph, op: Operator) -> int:
    """Elements of the op's constant inputs (weights, bias), counted once per op."""
    return sum(g.tensor(i).size for i in dict.fromkeys(op.inputs) if i >= 0 and g.tensor(i).is_constant)


def inplace_form(g: Graph, op: Operator, rules: dict[str, OpRule] | None = None) -> "_inplace.InPlace | None":
    """The in-place form the runtime has for ``op`` (None: it always writes a separate output)."""
    rule = (operators.all_ops() if rules is None else rules).get(op.op)
    if rule is None:
        return None
    if rule.inplace is not None:
        try:
            return rule.inplace(g, op)
        except (IndexError, ValueError, ZeroDivisionError):  # a malformed operator: no in-place form
            return None
    if rule.inplace_input is not None:
        return _inplace.InPlace((rule.inplace_input,))
    return None


def scratch_bytes(g: Graph, op: Operator, runtime: str = "tflm") -> list[int]:
    """Scratch buffers (unaligned bytes) ``op`` needs in the arena: those the TFLM reference kernel
    requests (runtime="tflm"), or those tinyc's C kernel declares (runtime="tinyc"; none declared yet:
    its MEAN accumulates in registers)."""
    rule = operators.find(op.op)
    if rule is None:
        return []
    fn = rule.scratch if runtime == "tflm" else rule.runtime_scratch
    return list(fn(g, op)) if fn else []


# Operators whose kernel owns the variable (state) tensors at these input positions: it resets them at the start
# of each inference and no other operator reads them (TFLite Micro's LSTM: hidden and cell state).
STATE_INPUTS: dict[str, tuple[int, ...]] = {"UNIDIRECTIONAL_SEQUENCE_LSTM": (18, 19)}


def owned_state(g: Graph) -> set[int]:
    """The variable tensors a declared operator owns (STATE_INPUTS): read by that one operator only, not a graph
    input or output. Any other variable tensor makes the model stateful, which tinyc refuses."""
    readers: dict[int, int] = {}
    for op in g.operators:
        for i in set(op.inputs):
            if i >= 0:
                readers[i] = readers.get(i, 0) + 1
    owned = set()
    for op in g.operators:
        if operators.find(op.op) is None:
            continue
        for pos in STATE_INPUTS.get(op.op, ()):
            i = op.inputs[pos] if pos < len(op.inputs) else -1
            if i >= 0 and g.tensor(i).is_variable and readers.get(i) == 1 and i not in g.inputs \
                    and i not in g.outputs and all(i not in o.outputs for o in g.operators):
                owned.add(i)
    return owned


_FLOATS = ("float32", "float16", "float64")

# What to do about an operator tinyc cannot run, where a fix is known (op name -> advice).
_ACTIVATION_FIX = "replace that activation with ReLU, ReLU6 or a sigmoid"
_SHAPE_FIX = ("shape arithmetic on a dynamic batch size: give the model a fixed batch size of 1 "
              "(keras.Input(shape, batch_size=1)) before converting")
FIXES: dict[str, str] = {
    "EXPAND_DIMS": "Conv1D and 1-D pooling convert to EXPAND_DIMS + 2-D ops: reshape the input to "
                   "(1, steps, channels) and use Conv2D/pooling with (1, k) kernels",
    "SQUEEZE": "Conv1D and 1-D pooling convert to 2-D ops between EXPAND_DIMS and SQUEEZE: use Conv2D with "
               "(1, k) kernels on a (1, steps, channels) input",
    "LEAKY_RELU": _ACTIVATION_FIX, "PRELU": _ACTIVATION_FIX, "ELU": _ACTIVATION_FIX,
    "HARD_SWISH": _ACTIVATION_FIX, "TANH": _ACTIVATION_FIX, "GELU": _ACTIVATION_FIX,
    "SHAPE": _SHAPE_FIX, "FILL": _SHAPE_FIX,
    "WHILE": "a recurrent layer converts to a WHILE loop: build it with unroll=True (a fixed sequence length)",
    "DEQUANTIZE": "a layer has no int8 kernel and falls back to float around it: replace that layer",
    "QUANTIZE": "a layer has no int8 kernel and falls back to float around it: replace that layer",
}


@dataclass(frozen=True)
class OpIssue:
    """One reason a model cannot run on tinyc: an operator (``index``/``op``) or the whole model
    (``index`` None), the Keras layer it came from when the tensor names say so, and the fix if known."""

    index: int | None
    op: str
    problem: str
    layer: str | None = None
    fix: str | None = None
    kind: str = "unsupported"  # or "inconsistent": the file contradicts itself (tinyc.model.verify)

    def where(self) -> str:
        w = f"op {self.index} {self.op}" if self.index is not None else (self.op or "the model")
        return w + (f" (layer {self.layer})" if self.layer else "")

    def text(self) -> str:
        return f"{self.where()} {self.problem}" + (f"; {self.fix}" if self.fix else "")

    def to_json(self) -> dict:
        return {"index": self.index, "op": self.op, "layer": self.layer, "problem": self.problem, "fix": self.fix}


@dataclass(frozen=True)
class Compatibility:
    """Every reason at once why ``model`` cannot run on tinyc (empty: it can). ``source`` says what was
    checked: the model itself, or the float conversion of a Keras model (before any quantization)."""

    model: str
    issues: tuple[OpIssue, ...]
    ops: int
    source: str = "the model"

    @property
    def ok(self) -> bool:
        return not self.issues

    def unsupported_ops(self) -> list[str]:
        return sorted({i.op for i in self.issues if i.index is not None})

    def summary(self) -> str:
        """One line: the file, every problem (with its layer and fix), and what to do. Operators with the same
        problem and fix are named together."""
        if len(self.issues) == 1:
            return f"{self.model}: {self.issues[0].text()}"
        ops_ = [i for i in self.issues if i.index is not None]
        head = f"{self.model}: {len(self.issues)} problems" if len(ops_) != len(self.issues) or \
            any(i.kind != "unsupported" for i in self.issues) else f"{self.model}: {len(ops_)} operators tinyc cannot run"
        groups: dict[tuple, list[OpIssue]] = {}
        for i in self.issues:
            groups.setdefault((i.problem, i.fix), []).append(i)
        parts = []
        for (problem, fix), members in groups.items():
            if len(members) > 1 and problem.startswith("is "):
                problem = "are " + problem[3:]
            parts.append(f"{', '.join(m.where() for m in members)} {problem}" + (f"; {fix}" if fix else ""))
        return f"{head} ({self.source}): " + "; ".join(parts)

    def to_json(self) -> dict:
        return {"model": self.model, "source": self.source, "ok": self.ok, "ops": self.ops,
                "issues": [i.to_json() for i in self.issues]}


VERIFY_SHOWN = 3  # inconsistencies of a damaged file named in its one line (tinyc.model.verify has them all)

_SCOPES = re.compile(r"^(model|sequential|functional)(_\d+)?$")


def layer_from_name(name: str, layers: "dict[str, str] | None" = None) -> str | None:
    """The Keras layer a tensor name comes from ("model/conv2d/Conv2D" -> "conv2d"). With ``layers``
    (layer name -> "name (Class)"), only those names count, Keras 3's call-scope suffix (_1) allowed."""
    first = name.split(";")[0]
    parts = [p for p in first.split("/") if p]
    if layers is not None:
        for p in parts:
            if p in layers:
                return layers[p]
        for p in parts:
            base = re.sub(r"_\d+$", "", p)
            if base != p and base in layers:
                return layers[base]
        return None
    while len(parts) > 2 and _SCOPES.match(parts[0]) and _SCOPES.match(parts[1]):
        parts = parts[1:]  # nested model scopes (a wrapper model around the user's)
    if len(parts) >= 3 and _SCOPES.match(parts[0]):
        return parts[1]
    return None


def compatibility(g: Graph, layers: "dict[str, str] | None" = None, float_ok: bool = False,
                  output_layers: "dict[int, str] | None" = None, source: str = "the model") -> Compatibility:
    """Everything that stops ``g`` from running on tinyc, each operator mapped to its Keras layer.

    ``float_ok``: ``g`` is the float conversion of a model tinyc will quantize (dtypes and versions are
    then the int8 conversion's business; only operators tinyc has no kernel for count). ``layers``: the
    Keras layers (name -> label) tensor names are matched against; ``output_layers``: graph output tensor ->
    layer, for output tensors the converter names StatefulPartitionedCall:N."""
    where = str(g.path) if g.path else g.name
    issues: list[OpIssue] = []

    def layer_of(op: Operator) -> str | None:
        for i in op.outputs:
            if i < 0:
                continue
            if output_layers and i in output_layers:
                return output_layers[i]
            found = layer_from_name(g.tensor(i).name, layers)
            if found:
                return found
        return None

    if not g.operators:
        issues.append(OpIssue(None, "", "has no operators", fix="export a model with layers"))
    if g.subgraph_count > 1:
        issues.append(OpIssue(None, "", f"has {g.subgraph_count} subgraphs (control flow such as WHILE/IF)",
                              fix="tinyc runs single-subgraph models: remove control flow before converting"))
    for t in g.tensors:
        dims = t.shape_signature[1:] if len(t.shape_signature) > 1 else ()
        if any(d < 0 for d in t.shape) or any(d < 0 for d in dims):
            issues.append(OpIssue(
                None, "", f"has a dynamic shape: tensor {t.index} '{t.name}' {list(t.shape_signature or t.shape)}",
                fix="microcontrollers need static shapes: fix the input shape (batch 1) before converting"))
            break
    if not float_ok:
        float_ops = [op for op in g.operators if op.op not in ("QUANTIZE", "DEQUANTIZE")
                     and "float32" not in getattr(operators.find(op.op), "activation_dtypes", ())
                     and any(g.tensor(i).dtype in _FLOATS for i in op.outputs)]
        if float_ops:
            op = float_ops[0]
            if any(g.tensor(i).dtype in ("int8", "uint8") and g.tensor(i).is_constant
                   for o in float_ops for i in o.inputs if i >= 0):
                issues.append(OpIssue(None, "hybrid model", f"(int8 weights with float activations, e.g. op "
                                      f"{op.index} {op.op})", fix="TFLite Micro and tinyc need full-integer int8: "
                                      "quantize the float source model with `tinyc optimize` (a representative "
                                      "dataset, supported_ops=[TFLITE_BUILTINS_INT8])"))
            else:
                issues.append(OpIssue(None, "float model", f"(op {op.index} {op.op} computes in "
                                      f"{g.tensor(op.outputs[0]).dtype})", fix="quantize it to full-integer int8: "
                                      f"`tinyc optimize {where} -o OUT.tflite --data D.npz`, or `tinyc build` with "
                                      "--data (calibration inputs)"))
    has_shape = any(op.op == "SHAPE" and op.index not in g.folded for op in g.operators)
    for op in g.operators:
        if op.index in g.folded:  # computed at generation time (tinyc.model.fold): nothing runs
            continue
        rule = operators.find(op.op)
        if rule is None:
            fix = FIXES.get(op.op)
            if op.op.startswith("CUSTOM:Flex"):
                problem, fix = (f"is a TensorFlow op ({op.op[len('CUSTOM:Flex'):]}) with no TFLite builtin",
                                "replace that layer with layers that convert to TFLite builtins")
            elif op.op.startswith("CUSTOM:"):
                problem = "is a custom op, which tinyc has no kernel for"
            else:
                problem = "is not supported by tinyc"
                if has_shape and op.op in ("STRIDED_SLICE", "PACK", "GATHER", "CONCATENATION"):
                    fix = _SHAPE_FIX
            issues.append(OpIssue(op.index, op.op, problem, layer_of(op),
                                  fix or "replace the layer(s) or express them with supported ops before converting"))
            continue
        if float_ok:
            continue
        if op.version > rule.max_version:
            issues.append(OpIssue(op.index, op.op, f"version {op.version} is not supported (tinyc handles up to "
                                  f"version {rule.max_version})", layer_of(op),
                                  "it usually means int16/int4 or another variant: convert to plain int8"))
            continue
        bad = next((g.tensor(i) for i in tuple(op.inputs) + tuple(op.outputs)
                    if i >= 0 and not g.tensor(i).is_constant
                    and g.tensor(i).dtype not in rule.activation_dtypes), None)
        if bad is not None and not any(i.index is None and i.op in ("float model", "hybrid model") for i in issues):
            issues.append(OpIssue(op.index, op.op, f"has a {bad.dtype} tensor '{bad.name}'", layer_of(op),
                                  "tinyc runs int8 activations only: convert with "
                                  "inference_input_type/inference_output_type=tf.int8"))
    owned = owned_state(g)
    if any(t.is_variable and t.index not in owned for t in g.tensors):
        issues.append(OpIssue(None, "", "has variable (stateful) tensors",
                              fix="tinyc runs stateless models only: remove stateful layers"))
    if not float_ok and not issues:  # every operator has a kernel: do the file's tensors agree with them?
        from tinyc.model import verify

        found = verify.problems(g)
        shown = found[:VERIFY_SHOWN]
        for k, p in enumerate(shown):
            last = k == len(shown) - 1
            more = f" (and {len(found) - len(shown)} more inconsistencies)" if last and len(found) > len(shown) else ""
            issues.append(OpIssue(p.op, p.op_name, p.text + more,
                                  layer_of(g.operators[p.op]) if p.op is not None else None,
                                  verify.FIX if last else None, kind="inconsistent"))
    return Compatibility(where, tuple(issues), len(g.operators), source)


def check_supported(g: Graph) -> None:
    """Raise a one-line UnsupportedModel naming everything a microcontroller build cannot run."""
    c = compatibility(g)
    if not c.ok:
        raise UnsupportedModel(c.summary())
