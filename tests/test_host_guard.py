"""The tensor guard of the host runner's sanitized build (issue 19): during each kernel call only that call's
tensors are addressable in the arena, so AddressSanitizer names a kernel that writes past a tensor, even where
the bytes past it are still inside the arena (a plain ASan build sees only the arena's own end)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyc import zoo
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import host
from tinyc.codegen.generate import generate
from tinyc.errors import TinycError
from tinyc.model import graph, reference
from tinyc.model.graph import schema


def _softmax_writing_past_its_output() -> graph.Graph:
    """SOFTMAX with a 1x40 input and a 1x10 output: generated without the verifier, the kernel writes 40 bytes
    into the 10 of its output, which the plan places before another tensor's bytes."""
    import flatbuffers

    m = schema().ModelT.InitFromPackedBuf(zoo.build("softmax").read_bytes(), 0)
    sub = m.subgraphs[0]
    op = sub.operators[0]
    sub.tensors[op.inputs[0]].shape = [1, 40]
    sub.tensors[op.outputs[0]].shape = [1, 10]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return graph.parse(bytes(b.Output()), name="softmax_overflow")


def test_guard_catches_a_write_past_a_tensor_inside_the_arena(tmp_path):
    g = _softmax_writing_past_its_output()
    gen = generate(g, plan_improved(g), get_board("mps2-an385"), tmp_path / "gen")
    assert gen.tensor_regions == (((0, 40), (48, 10)),) and gen.arena_size == 64  # the overflow stays in the arena
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    with pytest.raises(TinycError) as e:
        host.run(exe, [[np.zeros((1, 40), np.int8)]], [(np.dtype(np.int8), (1, 10))])
    assert "AddressSanitizer" in str(e.value) and "WRITE of size 1" in str(e.value)
    assert "tinyc_ref_softmax_s8" in str(e.value)


@pytest.mark.parametrize("name, board", [("kws_dscnn", "mps2-an500"), ("branchy", "mps2-an385")])
def test_guarded_models_run_clean_and_bit_exact(tmp_path, name, board):
    """In-place layers (output over input, ring scratch) and the DSP kernels touch only their own tensors."""
    g = graph.load(zoo.build(name))
    gen = generate(g, plan_improved(g), get_board(board), tmp_path / "gen")
    assert len(gen.tensor_regions) == gen.num_calls
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    assert f"#define TINYC_GUARD_CALLS {gen.num_calls}" in (tmp_path / "build" / "tinyc_guard_table.h").read_text()
    batches = zoo.quantized_inputs(name, g, count=2)
    outs = [g.tensor(i) for i in g.outputs]
    mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
    for rec, got in zip(batches, mine):
        want = reference.run(zoo.build(name), rec)
        for a, b in zip(got, want):
            assert np.array_equal(a.reshape(-1), np.asarray(b).reshape(-1))
