"""Per-layer profiling: generated only when asked (nothing emitted otherwise), each layer bracketed by
exactly one clock reading on the host, and `tinyc bench --per-layer` in QEMU: the layers add up to the
whole inference, the MAC column is the IR's, the figures are exact instruction counts."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import require_tool
from tinyc import zoo
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.cli import cli
from tinyc.codegen import host
from tinyc.codegen.generate import generate
from tinyc.deploy.link import Link, LinkError, TargetInfo
from tinyc.model import ops
from tinyc.model.graph import load

CLOCK_MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "tinyc_model.h"
static uint64_t now;
uint64_t tinyc_profile_clock(void) { return now += 1000; } /* every reading 1000 ticks later */
int main(void) {
    static const int fill[3] = {-100, 0, 57};
    for (int run = 0; run < 3; ++run) {
        const tinyc_tensor_t *in = tinyc_model_input(0), *out = tinyc_model_output(0);
        memset(in->data, fill[run], in->bytes);
        if (tinyc_model_invoke() != 0) return 1;
        printf("OUT");
        for (uint32_t i = 0; i < out->bytes; ++i) printf(" %d", ((const int8_t *)out->data)[i]);
        printf("\n");
    }
    for (int i = 0; i < TINYC_MODEL_NUM_LAYERS; ++i)
        printf("%u %llu %s\n", tinyc_layer_op[i], (unsigned long long)tinyc_layer_ticks[i], tinyc_layer_kernel[i]);
    return 0;
}
"""


def test_profiling_is_generated_only_when_asked_and_brackets_every_layer(tmp_path):
    g = load(zoo.build("ic_resnet8"))
    plan = plan_improved(g)
    board = get_board("mps2-an386")
    off = generate(g, plan, board, tmp_path / "off")
    on = generate(g, plan, board, tmp_path / "on", profile=True)
    assert not off.profile and on.profile
    for name in ("tinyc_model.c", "tinyc_model.h"):
        assert "profile" not in (off.out_dir / name).read_text().lower()  # zero overhead when off
    main = tmp_path / "clock_main.c"
    main.write_text(CLOCK_MAIN)
    exe = tmp_path / "clock"
    lib = host.runtime_library(sanitize=True)
    subprocess.run([host._cc(), *host.WARN, "-O1", *host.SANITIZE, f"-I{on.out_dir}", str(on.out_dir / "tinyc_model.c"),
                    str(on.out_dir / "tinyc_model_data.c"), str(main), str(lib), "-o", str(exe)], check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    # the profiled model computes what the plain one does
    batches = [[np.full(g.tensor(g.inputs[0]).shape, v, np.int8)] for v in (-100, 0, 57)]
    plain = host.run(host.build_runner(off, tmp_path / "plain"), batches,
                     [(np.dtype("int8"), g.tensor(g.outputs[0]).shape)])
    got = [[int(v) for v in line.split()[1:]] for line in lines if line.startswith("OUT")]
    assert got == [rec[0].reshape(-1).tolist() for rec in plain]
    rows = [line.split() for line in lines if not line.startswith("OUT")]
    assert [int(r[0]) for r in rows] == list(plan.order)
    assert all(int(r[1]) == 3 * 1000 for r in rows)  # one reading between layers, 3 runs
    assert {r[2] for r in rows} == set(on.kernels)


def test_profile_refuses_firmware_built_without_it():
    link = Link(port=None, name="fake")
    link.info = TargetInfo(proto=1, model_hash="0" * 16, model_name="m", board="b", clock_hz=0, tick_hz=25_000_000,
                           emulated=True, arena=16, inputs=(), outputs=(), chunk=256, runs_max=64, staging=0)
    with pytest.raises(LinkError, match="without per-layer profiling"):
        link.profile(40)


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
def test_bench_per_layer_in_qemu():
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    path = zoo.build("kws_dscnn")
    g = load(path)
    plan = plan_improved(g)
    r = CliRunner().invoke(cli, ["bench", str(path), "--board", "mps2-an386", "--per-layer", "--runs", "3",
                                 "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout[r.stdout.index("{"):])
    assert d["outputs_match"] is True  # the profiled firmware is still bit-exact
    p = d["per_layer"]
    assert p["unit"] == "instructions" and p["emulated"] and p["period"] == 40 and p["runs"] == 40 and p["exact"]
    layers = p["layers"]
    assert [x["op_index"] for x in layers] == list(plan.order)
    assert [x["op"] for x in layers] == [g.operators[i].op for i in plan.order]
    assert [x["macs"] for x in layers] == [ops.macs(g, g.operators[i]) for i in plan.order]
    assert sum(x["macs"] for x in layers) == p["macs"] == sum(ops.macs(g, op) for op in g.operators)
    assert all(x["cost"] > 0 for x in layers)
    # exact: 40 runs at the 40 phases of a tick give whole instructions per layer
    assert all(x["cost"] == int(x["cost"]) for x in layers)
    assert p["layer_sum"] == sum(x["cost"] for x in layers)
    # the layers add up to the whole inference, less the call into the model and the outer readings
    # (the whole figure is exact to one 40-instruction tick)
    # the whole figure, one span read in whole ticks, lies within one tick of its true count either way
    assert -40 < p["whole"] - p["layer_sum"] <= 40 + 200, (p["whole"], p["layer_sum"])
    # tinyc fit's profile is the same generated path read once (one run, whole ticks): each layer within a
    # tick of the exact figure, plus up to one tick for the clock read
    from tinyc.fit.profile import profile_layers

    board = get_board("mps2-an386")
    fit = profile_layers(path.read_bytes(), board, board)
    assert sorted(fit) == sorted(x["op_index"] for x in layers)
    for x in layers:
        assert -40 <= fit[x["op_index"]] - x["cost"] <= 80, (x["op_index"], fit[x["op_index"]], x["cost"])
    print(f"\nkws_dscnn on mps2-an386: layers {p['layer_sum']:,.0f}, whole {p['whole']:,} instructions")
