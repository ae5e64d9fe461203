"""`tinyc check` and `tinyc inspect`: verdicts, exit codes, JSON, one-line errors, and a fast path
that never imports TensorFlow or the TFLM interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tinyc import zoo
from tinyc.analyze import budget
from tinyc.codegen import footprint
from tinyc.boards import get_board
from tinyc.cli import cli
from tinyc.model import graph


@pytest.fixture(scope="module")
def zoo_paths():
    return zoo.build_all()


def _run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_fits_nucleo_f746(zoo_paths):
    r = _run("check", zoo_paths["kws_dscnn"], "--board", "nucleo-f746")
    assert r.exit_code == 0, r.output
    assert "fits nucleo-f746" in r.output and "estimate" in r.output
    assert "peak" in r.output and "DEPTHWISE_CONV_2D" in r.output


def test_too_large_for_bluepill_exit_1_names_overflow(zoo_paths):
    path = zoo_paths["vww_mobilenet"]
    b = footprint.check(graph.load(path), get_board("bluepill"))
    assert not b.fits and b.flash_headroom < 0 and b.sram_headroom < 0
    r = _run("check", path, "--board", "bluepill")
    assert r.exit_code == 1, r.output
    assert f"flash by {-b.flash_headroom} B" in r.output and f"SRAM by {-b.sram_headroom} B" in r.output
    assert f"cut {-b.flash_headroom} B" in r.output  # the advice names the bytes to cut
    assert "clustering" in r.output and "Structured pruning" in r.output
    assert "Traceback" not in r.output


def test_flash_constants_are_exactly_what_generate_emits(zoo_paths, tmp_path):
    """check lowers the model as generate does: the 'weights' line is the generated constants, byte for byte."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.codegen.generate import generate

    for name, board_id in (("kws_dscnn", "nucleo-f746"), ("ic_resnet8", "mps2-an385")):
        g = graph.load(zoo_paths[name])
        board = get_board(board_id)
        d = json.loads(_run("check", zoo_paths[name], "--board", board_id, "--json").output)
        weights = next(i for i in d["flash"]["items"] if i["name"] == "weights")
        gen = generate(g, plan_improved(g), board, tmp_path / name)
        assert weights["bytes"] == gen.weights_bytes and weights["estimate"] is False


def test_weights_row_reports_the_cost_of_re_packing_for_the_optimized_kernels(zoo_paths):
    """The weights row says how many of its bytes the core's kernel set added by re-packing: the difference
    from the same model checked for a core that runs the reference kernels."""
    g = graph.load(zoo_paths["kws_dscnn"])
    by_board = {}
    import dataclasses

    for board_id in ("nucleo-f746", "mps3-an547", "mps2-an385"):  # arm_dsp, arm_mve, reference (the Cortex-M23: no set covers it)
        board = get_board(board_id)
        if board_id == "mps2-an385":
            board = dataclasses.replace(board, core="cortex-m23")
        b = footprint.check(g, board, suggest_boards=False)
        by_board[board_id] = next(i for i in b.flash_items if i.name == "weights")
    ref = by_board["mps2-an385"]
    assert "re-packing" not in ref.note
    for board_id, kernel_set in (("nucleo-f746", "arm_dsp"), ("mps3-an547", "arm_mve")):
        delta = by_board[board_id].bytes - ref.bytes
        assert delta != 0
        assert f"{kernel_set} re-packing {delta:+,} B" in by_board[board_id].note, by_board[board_id].note


def test_json_output(zoo_paths):
    r = _run("check", zoo_paths["ic_resnet8"], "--board", "nucleo-f746", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["fits"] is True and d["estimate"] is True and d["flash"]["estimate"] is True
    code = [i for i in d["flash"]["items"] if i["name"] == "kernel code"][0]
    weights = [i for i in d["flash"]["items"] if i["name"] == "weights"][0]
    assert code["estimate"] is True and weights["estimate"] is False
    assert d["arena"]["tinyc"] <= d["arena"]["tflm_equivalent"] == 49152
    assert d["total_macs"] == sum(row["macs"] for row in d["layers"])
    assert d["sram"]["used"] == sum(i["bytes"] for i in d["sram"]["items"])
    r = _run("check", zoo_paths["vww_mobilenet"], "--board", "bluepill", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["fits"] is False and "error:" in r.stderr


def test_tflm_option_reports_recorded_figures(zoo_paths):
    r = _run("check", zoo_paths["kws_dscnn"], "--board", "nucleo-f746", "--tflm", "--json")
    d = json.loads(r.output)
    assert d["arena"]["tflm_recorded"]["head"] == d["arena"]["tflm_equivalent"]
    assert d["arena"]["tflm_recorded"]["total"] > d["arena"]["tflm_recorded"]["head"]


def test_inspect(zoo_paths):
    r = _run("inspect", zoo_paths["dwconv_mult2_s2"])
    assert r.exit_code == 0 and "DEPTHWISE_CONV_2D" in r.output and "depth_multiplier=2" in r.output
    d = json.loads(_run("inspect", zoo_paths["kws_dscnn"], "--json").output)
    assert d["total_macs"] == 2656768 and d["operators"][0]["op"] == "CONV_2D"


@pytest.mark.parametrize("case", ["missing", "truncated", "float", "hybrid", "garbage", "bad-board"])
def test_one_line_errors(zoo_paths, tmp_path, case):
    path = tmp_path / "m.tflite"
    board = "nucleo-f746"
    if case == "truncated":
        path.write_bytes(zoo_paths["kws_dscnn"].read_bytes()[:5000])
    elif case == "float":
        path = zoo_paths["float_fc"]
    elif case == "hybrid":
        path = zoo_paths["hybrid_fc"]
    elif case == "garbage":
        path.write_bytes(b"hello world, not a model" * 10)
    elif case == "bad-board":
        path, board = zoo_paths["relu"], "nosuchboard"
    r = _run("check", path, "--board", board)
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.output
    expected = {"missing": "no such file", "truncated": "truncated", "float": "float model",
                "hybrid": "hybrid model", "garbage": "not a TFLite", "bad-board": "unknown board"}[case]
    assert expected in lines[0]


def test_check_imports_neither_tensorflow_nor_tflm_runtime(zoo_paths):
    code = f"""
import sys
from click.testing import CliRunner
from tinyc.cli import cli
r = CliRunner().invoke(cli, ["check", {str(zoo_paths['ic_resnet8'])!r}, "--board", "nucleo-f746"])
assert r.exit_code == 0, r.output
bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras')
       or m.startswith('tflite_micro.python') or m == 'tflite_micro']
assert not bad, bad
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def test_verdict_that_hangs_on_estimates_says_so(zoo_paths):
    # the TFLM-equivalent plan (16,000 B): in-place kernels bring tinyc's own arena well inside the board
    b = budget.compute(graph.load(zoo_paths["kws_dscnn"]), get_board("bluepill"), planner="tflm")
    estimated = sum(i.bytes for i in b.sram_items if i.estimate)
    assert not b.fits and 0 < -b.sram_headroom <= estimated
    assert any("depends on those estimates" in a for a in b.advice)
    big = budget.compute(graph.load(zoo_paths["vww_mobilenet"]), get_board("bluepill"))
    assert not any("depends on those estimates" in a for a in big.advice)
