"""The main regression test: generated C, compiled for the host with -Wall -Wextra -Werror and the
address/undefined sanitizers, gives outputs bit-identical to the TFLite Micro Python interpreter on
every zoo model (MLPerf Tiny + single-op), over 100 random inputs each."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from tinyc import zoo
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import generate, host
from tinyc.model import reference
from tinyc.model.graph import load

N_INPUTS = 100


def random_inputs(graph, count: int, seed: int) -> list[list[np.ndarray]]:
    """Uniform int8 over the full range (the zoo calibrates inputs on [-1, 1], so every int8 vector is in
    distribution); float inputs uniform in [-1, 1]."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        rec = []
        for i in graph.inputs:
            t = graph.tensor(i)
            if t.dtype == "int8":
                rec.append(rng.integers(-128, 128, size=t.shape, dtype=np.int8))
            else:
                rec.append(rng.uniform(-1.0, 1.0, size=t.shape).astype(np.float32))
        out.append(rec)
    return out


def tflm_outputs(path, graph, batches):
    it = reference.interpreter(path)
    # An LSTM's variable tensors (its state) carry over between TFLite Micro's invocations until reset();
    # tinyc's kernel starts every inference from the initial state, as a reset interpreter does.
    stateful = any(t.is_variable for t in graph.tensors)
    res = []
    for rec in batches:
        if stateful:
            it.reset()
        for i, x in enumerate(rec):
            it.set_input(x, i)
        it.invoke()
        res.append([np.array(it.get_output(j)) for j in range(len(graph.outputs))])
    return res


# The kernel sets on the host: the portable reference kernels (a core no optimized set covers), the DSP set
# (a Cortex-M4 board; on the host its instructions run as portable C models) and the scalar Arm set (a
# Cortex-M3 board; its loops' portable C twins). No set covers the Cortex-M23 (ARMv8-M Baseline).
KERNEL_SETS = {"reference": "mps2-an385/no-set", "arm_dsp": "mps2-an386", "arm_scalar": "mps2-an385"}


def kernel_set_board(spec: str):
    """A board of KERNEL_SETS; "<id>/no-set": that board with a core no optimized kernel set covers."""
    import dataclasses

    board_id, _, no_set = spec.partition("/")
    board = get_board(board_id)
    return dataclasses.replace(board, core="cortex-m23") if no_set else board


@pytest.mark.slow
@pytest.mark.parametrize("kernels", sorted(KERNEL_SETS))
@pytest.mark.parametrize("name", zoo.names())
def test_generated_c_is_bit_exact_with_tflm(name, kernels, tmp_path):
    path = zoo.build(name)
    graph = load(path)
    plan = plan_improved(graph)
    gen = generate(graph, plan, kernel_set_board(KERNEL_SETS[kernels]), tmp_path / "gen")
    assert gen.variant == kernels
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    batches = random_inputs(graph, N_INPUTS, seed=len(name))
    outs = [graph.tensor(i) for i in graph.outputs]
    mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
    ref = tflm_outputs(path, graph, batches)

    differing = total = at_limits = 0
    for m_rec, r_rec in zip(mine, ref):
        for t, m, r in zip(outs, m_rec, r_rec):
            assert m.dtype == r.dtype and m.shape == tuple(r.shape)
            differing += int(np.count_nonzero(np.frombuffer(m.tobytes(), np.uint8)
                                              != np.frombuffer(np.ascontiguousarray(r).tobytes(), np.uint8)))
            total += r.size
            if r.dtype == np.int8:
                # A value equal to the zero point is an exact real 0 (a ReLU's floor), not saturation.
                zp = t.quantization.zero_points[0]
                at_limits += int(np.count_nonzero(((r == -128) | (r == 127)) & (r != zp)))
    assert differing == 0, f"{name}: {differing} of {total} output bytes differ from TFLite Micro"
    assert at_limits < 0.10 * total, f"{name}: {at_limits} of {total} outputs saturate: inputs do not exercise it"
    # The inputs drive the outputs: not everything collapses to one value.
    flat = np.concatenate([np.asarray(r[0], dtype=np.float64).reshape(-1) for r in ref])
    assert np.unique(flat).size > 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kws_dscnn", "ic_resnet8", "branchy", "reshape"])
def test_arena_equals_the_memory_plan(name, tmp_path):
    graph = load(zoo.build(name))
    plan = plan_improved(graph)
    gen = generate(graph, plan, get_board("mps2-an386"), tmp_path / "gen")
    assert gen.arena_size == plan.arena_size
    header = (gen.out_dir / "tinyc_model.h").read_text()
    assert re.search(rf"#define TINYC_MODEL_ARENA_SIZE\s+{plan.arena_size}u", header)
    exe = host.build_runner(gen, tmp_path / "build", sanitize=False)
    syms = subprocess.run(["nm", "-S", str(exe)], capture_output=True, text=True, check=True).stdout
    sizes = [int(line.split()[1], 16) for line in syms.splitlines() if line.endswith(" tinyc_arena")]
    assert sizes == [plan.arena_size]
    # Calls run in the plan's order (the plan may reorder branches).
    body = (gen.out_dir / "tinyc_model.c").read_text().split("int tinyc_model_invoke(void)")[1]
    called = [int(i) for i in re.findall(r"/\* (\d+): ", body)]
    assert tuple(called) == plan.order
