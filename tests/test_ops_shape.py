"""The shape and data-movement operators beyond their test models (those run bit for bit in
tests/test_codegen_bitexact.py): generation-time folding of a dynamic batch's shape arithmetic, TFLite Micro's
strided-slice rules, SQUEEZE (the converter writes RESHAPE instead), one call for a several-output SPLIT, and the
one-line refusals (a dynamic-batch dilated convolution, inconsistent files)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tinyc import zoo
from tinyc.analyze import memory
from tinyc.codegen import kernels as K
from tinyc.codegen.generate import plan_layout, tensor_regions
from tinyc.codegen.lower import lower
from tinyc.model import ops, reference, verify
from tinyc.model.graph import load, parse, schema
from tinyc.operators._geometry import slice_axes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"


def _lowered(g):
    plan = memory.plan_improved(g)
    return plan, lower(g, *plan_layout(g, plan))


def test_shape_arithmetic_of_a_dynamic_batch_folds_away():
    path = zoo.build("shape_folded_reshape")  # Keras Reshape with batch None: SHAPE -> STRIDED_SLICE -> PACK
    g = load(path)
    assert [g.operators[i].op for i in g.folded] == ["SHAPE", "STRIDED_SLICE", "PACK"]
    (reshape,) = [op for op in g.operators if op.index not in g.folded]
    shape = g.tensor(reshape.inputs[1])
    assert shape.is_constant and np.asarray(shape.data).tolist() == [1, 6, 4]
    assert ops.compatibility(g).ok
    plan, lowered = _lowered(g)
    assert [c.op for c in lowered.calls] == ["RESHAPE"]  # the folded operators emit nothing
    # TFLite Micro runs the shape operators and plans their int32 outputs: the TFLM-equivalent plan does too
    assert memory.plan_tflm(g).arena_size == reference.arena_record(path).head
    assert plan.arena_size < memory.plan_tflm(g).arena_size


@pytest.mark.parametrize("seed", range(4))
def test_strided_slice_rules_match_python_slicing(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        shape = tuple(int(n) for n in rng.integers(1, 6, size=rng.integers(1, 5)))
        x = np.arange(int(np.prod(shape))).reshape(shape)
        begin = rng.integers(-7, 7, size=len(shape))
        end = rng.integers(-7, 7, size=len(shape))
        step = rng.choice([-3, -2, -1, 1, 2, 3], size=len(shape))
        bm, em = int(rng.integers(0, 1 << len(shape))), int(rng.integers(0, 1 << len(shape)))
        sl = tuple(slice(None if bm >> a & 1 else int(b), None if em >> a & 1 else int(e), int(s))
                   for a, (b, e, s) in enumerate(zip(begin, end, step)))
        axes, out = slice_axes(shape, begin, end, step, bm, em)
        got = x[np.ix_(*[np.arange(a, a + s * c, s) for a, s, c in axes])] if all(c for *_, c in axes) \
            else np.zeros(out, int)
        assert tuple(out) == x[sl].shape and np.array_equal(got.reshape(out), x[sl]), (shape, sl)
    # a shrunk axis keeps one index (negative counted from the end) and leaves the output shape
    axes, out = slice_axes((4, 5), [0, -2], [0, 0], [1, 1], begin_mask=1, end_mask=1, shrink_mask=2)
    assert axes == [(0, 1, 4), (3, 1, 1)] and out == [4]


def _with_squeeze(data: bytes, op_index: int, dims: list[int]) -> bytes:
    """``data`` with its RESHAPE ``op_index`` written as a SQUEEZE of ``dims`` (what a converter may emit)."""
    import flatbuffers

    s = schema()
    m = s.ModelT.InitFromPackedBuf(data, 0)
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.SQUEEZE
    code.version = 1
    m.operatorCodes.append(code)
    op = m.subgraphs[0].operators[op_index]
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.inputs = op.inputs[:1]
    op.builtinOptionsType = s.BuiltinOptions.SqueezeOptions
    op.builtinOptions = s.SqueezeOptionsT()
    op.builtinOptions.squeezeDims = dims
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_squeeze_is_a_view_and_bit_exact(tmp_path):
    from tinyc.boards import get_board
    from tinyc.codegen import generate, host

    src = load(zoo.build("expand_dims_conv1d"))
    (r,) = [op for op in src.operators if op.op == "RESHAPE" and src.tensor(op.inputs[0]).shape == (1, 1, 18, 8)]
    path = tmp_path / "squeeze.tflite"
    path.write_bytes(_with_squeeze(zoo.build("expand_dims_conv1d").read_bytes(), r.index, [1]))
    g = load(path)
    assert g.operators[r.index].op == "SQUEEZE" and ops.compatibility(g).ok
    plan = memory.plan_improved(g)
    assert plan.offset_of(r.inputs[0]) == plan.offset_of(r.outputs[0])  # a view of its input
    gen = generate(g, plan, get_board("mps2-an386"), tmp_path / "gen")
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    rng = np.random.default_rng(3)
    batches = [[rng.integers(-128, 128, size=g.tensor(g.inputs[0]).shape, dtype=np.int8)] for _ in range(20)]
    out = g.tensor(g.outputs[0])
    mine = host.run(exe, batches, [(np.dtype(np.int8), out.shape)])
    it = reference.interpreter(path)
    for rec, m in zip(batches, mine):
        it.set_input(rec[0], 0)
        it.invoke()
        assert np.array_equal(m[0], it.get_output(0))
    bad = dataclasses.replace(g, operators=tuple(
        dataclasses.replace(op, options={"squeeze_dims": [2]}) if op.index == r.index else op for op in g.operators))
    assert any("squeezes axis 2" in p.text for p in verify.problems(bad))


def test_split_writes_every_output_in_one_call():
    g = load(zoo.build("split_reorder"))
    (op,) = [o for o in g.operators if o.op == "SPLIT"]
    plan, lowered = _lowered(g)
    (call,) = [c for c in lowered.calls if c.index == op.index]
    table = call[K.Role.OUTPUTS]
    offsets = plan.tensor_offsets()
    assert [a.offset for a in table.items] == [offsets[t] for t in op.outputs]
    # the sanitized host build's guard opens every output of the call
    regions = tensor_regions(g, plan, lowered.calls)[lowered.calls.index(call)]
    for t in op.outputs:
        assert any(a <= offsets[t] and offsets[t] + g.tensor(t).nbytes <= a + n for a, n in regions)


def _retensor(g, **shapes):
    ts = list(g.tensors)
    for i, (shape, sig) in shapes.items():
        ts[int(i[1:])] = dataclasses.replace(ts[int(i[1:])], shape=shape, shape_signature=sig)
    return dataclasses.replace(g, tensors=tuple(ts))


def test_a_dynamic_batch_dilated_convolution_is_refused_with_the_fix():
    """The converter writes a dynamic-batch dilated Conv1D as SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND
    with the batch placeholder 1 on the blocked tensors; TFLite Micro then computes half the layer."""
    g = load(zoo.build("space_to_batch_1d"))
    s2b, fc, b2s = g.operators
    g = _retensor(g, **{f"t{s2b.outputs[0]}": ((1, 10, 3), (-1, 10, 3)),
                        f"t{fc.outputs[0]}": ((1, 10, 4), (-1, 10, 4))})
    found = [p.line() for p in verify.problems(g)]
    assert found and "SPACE_TO_BATCH_ND" in found[0] and "batch_size=1" in found[0], found


def test_inconsistent_files_are_named_in_one_line():
    g = load(zoo.build("gather_channels"))
    (op,) = [o for o in g.operators if o.op == "GATHER"]
    idx = g.tensor(op.inputs[1])
    ts = list(g.tensors)
    ts[idx.index] = dataclasses.replace(idx, data=np.array([2, 0, 1, 9, 4], np.int32))
    (p,) = verify.problems(dataclasses.replace(g, tensors=tuple(ts)))
    assert "GATHER" in p.line() and "hold 9, outside axis 3" in p.line()

    g = load(zoo.build("transpose_permute"))
    (op,) = [o for o in g.operators if o.op == "TRANSPOSE"]
    perm = g.tensor(op.inputs[1])
    ts = list(g.tensors)
    ts[perm.index] = dataclasses.replace(perm, data=np.array([0, 3, 1, 1], np.int32))
    (p,) = verify.problems(dataclasses.replace(g, tensors=tuple(ts)))
    assert "not a permutation" in p.line()


@pytest.mark.skipif(not (SHARED / "mobilenet_v2_quantized_1x3x224x224.tflite").is_file(), reason="no shared models")
def test_mobilenet_v2_with_its_transpose_is_only_too_big():
    g = parse((SHARED / "mobilenet_v2_quantized_1x3x224x224.tflite").read_bytes())
    assert g.operators[0].op == "TRANSPOSE"
    assert ops.compatibility(g).ok  # what `tinyc check` can then name is its size alone
