"""UNIDIRECTIONAL_SEQUENCE_LSTM's model-level rules (its bit-exactness is tests/test_codegen_bitexact.py's, on
the host, and tests/test_issue17_zoo.py's and tests/test_trained_models.py's, in QEMU): the reference runs each
inference from the initial state as tinyc's kernel does, the LSTM's state tensors are its own (not a 'stateful
model'), and they sit in TFLite Micro's persistent tail, outside the planned head."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinyc import zoo
from tinyc.analyze import memory
from tinyc.model import ops, reference
from tinyc.model.graph import load


def test_the_reference_runs_each_inference_from_the_initial_state():
    """TFLite Micro keeps an LSTM's state between Invoke()s until Reset(); tinyc's reference resets it first, so
    validate, the optimizer's scores and the bit-exact tests compare inference by inference."""
    path = zoo.build("lstm_sequences")
    x = np.random.default_rng(3).integers(-128, 128, size=load(path).tensor(load(path).inputs[0]).shape, dtype=np.int8)
    it = reference.interpreter(path)
    outs = []
    for _ in range(3):
        it.set_input(x, 0)
        it.invoke()
        outs.append(it.get_output(0).copy())
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    assert np.array_equal(outs[0], reference.run(path, [x])[0])


def test_the_lstm_owns_its_state_and_any_other_variable_is_refused():
    g = load(zoo.build("lstm_stacked"))
    lstms = [op for op in g.operators if op.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert ops.owned_state(g) == {op.inputs[i] for op in lstms for i in (18, 19)}
    assert ops.compatibility(g).ok
    # the first LSTM's hidden state also read by another operator: no longer the LSTM's alone
    h = lstms[0].inputs[18]
    other = next(op for op in g.operators if op.op == "FULLY_CONNECTED")
    bad = dataclasses.replace(g, operators=tuple(dataclasses.replace(op, inputs=(*op.inputs, h)) if op is other else op
                                                 for op in g.operators))
    assert h not in ops.owned_state(bad)
    assert "variable (stateful) tensors" in ops.compatibility(bad).summary()


def test_state_is_in_tflms_persistent_tail_and_tinycs_plan_places_it():
    path = zoo.build("lstm_stacked")
    g = load(path)
    tflm, improved = memory.plan_tflm(g), memory.plan_improved(g)
    state = {t.index for t in g.tensors if t.is_variable}
    assert tflm.head == reference.arena_record(path).head
    assert tflm.persistent == sum(memory.align(g.tensor(t).nbytes) for t in state)
    assert all(tflm.offset_of(t) >= tflm.head for t in state)
    assert all(improved.offset_of(t) is not None for t in state) and improved.arena_size <= tflm.arena_size
    memory.validate(tflm)
    memory.validate(improved)


def _with_cell_clip(data: bytes, clip: float) -> bytes:
    """The model with every LSTM's cell_clip set to ``clip`` (the converter always writes 10.0, past these cells)."""
    import flatbuffers

    from tinyc.model.graph import schema

    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
    for sg in m.subgraphs:
        for op in sg.operators:
            if hasattr(op.builtinOptions, "cellClip"):
                op.builtinOptions.cellClip = clip
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.slow
@pytest.mark.parametrize("clip", [0.3, 1e-4])  # 1e-4: a quantized clip of 0 (cells held at 0), still 'clipping'
def test_cell_clipping_is_bit_exact_on_the_reference_and_dsp_kernels(clip, tmp_path):
    from tinyc.analyze.memory import plan_improved
    from tinyc.boards import get_board
    from tinyc.codegen import generate, host

    path = tmp_path / "clipped.tflite"
    path.write_bytes(_with_cell_clip(zoo.build("lstm_stacked").read_bytes(), clip))
    g = load(path)
    rng = np.random.default_rng(7)
    xs = [[rng.integers(-128, 128, size=g.tensor(g.inputs[0]).shape, dtype=np.int8)] for _ in range(8)]
    want = [reference.run(path, x)[0] for x in xs]
    unclipped = [reference.run(zoo.build("lstm_stacked"), x)[0] for x in xs]
    assert sum(int(np.count_nonzero(w != u)) for w, u in zip(want, unclipped)) > 0  # the clip is active
    out = g.tensor(g.outputs[0])
    for board in (dataclasses.replace(get_board("mps2-an385"), core="cortex-m23"), get_board("mps2-an386")):
        gen = generate(g, plan_improved(g), board, tmp_path / f"gen-{board.core}")
        exe = host.build_runner(gen, tmp_path / f"build-{board.core}", sanitize=True)
        got = host.run(exe, xs, [(np.dtype(out.dtype), out.shape)])
        assert all(np.array_equal(m[0], w) for m, w in zip(got, want)), (board.core, gen.variant)
