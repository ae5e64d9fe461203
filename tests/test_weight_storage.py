"""Weight storage as a decision for the board (tinyc.analyze.weights, issue 14): dense whenever the model
fits the board dense (so the default is never slower than --weights dense), and when it does not, the
filters that save the most flash per instruction added are packed until it fits; tinyc check shows the
choice per layer, fit prices candidates with the same decision, and --weights reaches build, bench, fit."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import require_tool
from tests.weights_fixture import write
from tinyc import paths, zoo
from tinyc.analyze.memory import plan_improved
from tinyc.analyze.weights import FilterOption, decide
from tinyc.boards import get_board
from tinyc.cli import cli
from tinyc.codegen import footprint
from tinyc.codegen.generate import generate
from tinyc.model.graph import load

STARVED = "starved-f746"  # a NUCLEO-F746 with 200 KiB of flash: the clustered AD does not fit it dense


def _option(op: int, saved: int, extra: float) -> FilterOption:
    return FilterOption((op,), "FULLY_CONNECTED", f"t{op}", "lut", 1000 + saved, 1000, "TINYC_DSP_FC_S8",
                        "TINYC_FULLY_CONNECTED_PACKED_S8", 100.0, 100.0 + extra)


def test_auto_is_dense_while_the_model_fits_and_packed_and_dense_are_what_they_say():
    opts = [_option(0, 500, 10.0), _option(1, 400, 1.0), _option(2, 0, 1.0)]
    for need in (0, -1, -100_000):
        assert decide(opts, "auto", need).packed == ()
    assert decide(opts, "dense", 10_000).packed == ()
    assert decide(opts, "packed", -5).packed == (0, 1)  # wherever smaller, fitting or not


def test_auto_packs_the_fewest_instructions_per_byte_saved_until_it_fits():
    """The greedy rule on filters of clearly different cost per byte (the exact cover agrees with it)."""
    # instructions added per byte saved: op 1: 1, op 2: 3, op 0: 10, op 3: 40
    opts = [_option(0, 1000, 10_000.0), _option(1, 300, 300.0), _option(2, 500, 1500.0), _option(3, 200, 8000.0)]
    assert decide(opts, "auto", 250).packed == (1,)
    assert decide(opts, "auto", 700).packed == (1, 2)
    # 1, 2 and 0 cover 1,500 B; then op 1 is no longer needed (0 and 2 save 1,500 B)
    plan = decide(opts, "auto", 1500)
    assert plan.packed == (0, 2) and plan.saved == 1500 and plan.extra == 11_500
    assert decide(opts, "auto", 5000).packed == (0, 1, 2, 3)  # all of it is still too little: pack everything


def test_a_big_filter_that_overshoots_gives_way_to_smaller_ones_that_cost_less():
    # the big filter is a little cheaper per byte, but taking it to cover the last 100 B costs far more
    opts = [_option(0, 1000, 990.0), _option(1, 600, 600.0), _option(2, 600, 600.0)]
    assert decide(opts, "auto", 1100).packed == (1, 2)  # greedy: 0 then 1 (1,590 instructions); exact: 1,200
    assert decide(opts, "auto", 900).packed == (0,)


@pytest.fixture(scope="module")
def ad_lut(tmp_path_factory) -> Path:
    """The AD autoencoder with its filters at 16 levels per channel (clustered): every filter packs."""
    return write(zoo.build("ad_autoencoder"), "lut", tmp_path_factory.mktemp("ad") / "ad_lut.tflite")


@pytest.fixture(scope="module")
def ad_mixed(tmp_path_factory) -> Path:
    """The AD autoencoder with its two big filters clustered (LUT) and the others binarized (SIGN): packing
    a SIGN filter saves 7/8 of its bytes for fewer instructions per byte than a LUT one saves half."""
    d = tmp_path_factory.mktemp("ad")
    lut = write(zoo.build("ad_autoencoder"), "lut", d / "ad_lut09.tflite", ops=(0, 9))
    return write(lut, "sign", d / "ad_mixed.tflite", ops=tuple(range(1, 9)))


@pytest.fixture
def starved(tmp_path, monkeypatch) -> Path:
    """The boards plus STARVED, through TINYC_BOARDS_DIR."""
    d = tmp_path / "boards"
    shutil.copytree(paths.boards_dir(), d)
    text = (d / "nucleo-f746.toml").read_text().replace('id = "nucleo-f746"', f'id = "{STARVED}"')
    (d / f"{STARVED}.toml").write_text(text.replace('"1 MiB"', '"200 KiB"'))
    monkeypatch.setenv("TINYC_BOARDS_DIR", str(d))
    return d


@pytest.mark.parametrize("board_id", ["nucleo-f746", "mps3-an547"])
def test_a_model_that_fits_dense_is_generated_exactly_as_with_weights_dense(ad_lut, board_id, tmp_path):
    """Same sources as --weights dense, so the same instructions: never slower by default."""
    g, board = load(ad_lut), get_board(board_id)
    auto = generate(g, plan_improved(g), board, tmp_path / "auto")
    dense = generate(g, plan_improved(g), board, tmp_path / "dense", weights="dense")
    packed = generate(g, plan_improved(g), board, tmp_path / "packed", weights="packed")
    assert auto.packed_layers == () and len(packed.packed_layers) == 9  # every filter but the 8 -> 128 one
    assert sorted(p.name for p in auto.sources + auto.headers) == sorted(p.name for p in dense.sources + dense.headers)
    for f in auto.sources + auto.headers:
        assert f.read_text() == (dense.out_dir / f.name).read_text(), f.name
    b = footprint.check(g, board)
    assert b.fits and b.weights.packed == () and b.weights.need < 0
    assert "fits with every filter dense" in b.weights.reason()


def test_a_board_too_small_for_dense_packs_the_cheapest_filters_per_byte_and_fits(ad_mixed, starved):
    g, board = load(ad_mixed), get_board(STARVED)
    dense = footprint.check(g, board, weights="dense")
    auto = footprint.check(g, board)
    everything = footprint.check(g, board, weights="packed")
    assert not dense.fits and auto.fits and everything.fits
    wp = auto.weights
    useful = [o for o in wp.options if o.saved > 0]
    chosen = [o for o in useful if o.ops[0] in wp.packed]
    assert wp.need == -dense.flash_headroom and 0 < len(chosen) < len(useful)
    assert all(o.extra > 0 and o.measured for o in useful)  # priced from measured kernel costs
    # packed kernels bring their code: the filters cover the overflow and that code
    assert wp.cover >= wp.need and wp.saved >= wp.cover
    for o in chosen:  # none of them could stay dense
        assert wp.saved - o.saved < wp.cover
    # fewer instructions than packing everything, or than packing the biggest savers first
    biggest, total = [], 0
    for o in sorted(useful, key=lambda o: -o.saved):
        if total >= wp.cover:
            break
        biggest.append(o)
        total += o.saved
    assert wp.extra < sum(o.extra for o in biggest) < sum(o.extra for o in useful)
    # and here as few as the best of every subset that fits (2^10 of them)
    best = min(sum(o.extra for o in c) for r in range(len(useful) + 1)
               for c in itertools.combinations(useful, r) if sum(o.saved for o in c) >= wp.cover)
    assert wp.extra == pytest.approx(best, rel=1e-9)
    # every SIGN filter is cheaper per byte than the LUT ones: one LUT filter (the cheaper) tops them up
    assert [o.mode for o in chosen].count("lut") == 1 and min(useful, key=lambda o: o.cost_per_byte).mode == "sign"
    rows = {r.index: r.code for r in auto.layers}
    portable = dict(wp.portable)
    for o in useful:
        assert rows[o.ops[0]].weights == (f"packed {o.mode}" if o in chosen else "dense")
        # a packed filter runs the DSP set's packed kernel (decoded once per call for its matmul) unless the
        # board's fit kept it on the portable one, with why
        assert rows[o.ops[0]].kernel_set == ("reference" if o.ops[0] in portable else "arm_dsp")
    assert all("overflow" in portable[i] and i in wp.packed for i in portable)
    assert any(rows[i].kernel_set == "arm_dsp" for i in wp.packed)


def test_packed_filters_that_overflow_the_board_on_the_dsp_kernel_take_the_portable_one(ad_lut, starved, tmp_path):
    """The DSP packed kernel re-packs bias and requantization in flash and decodes the whole filter into SRAM:
    where the flash that re-packing takes would not fit, the layers whose re-packing grows most go portable; an
    SRAM too small for the decoded filter keeps it portable too, and generate follows check."""
    g, board = load(ad_lut), get_board(STARVED)
    b = footprint.check(g, board)
    assert b.fits and len(b.weights.packed) == 9
    portable = dict(b.weights.portable)
    assert portable and all("re-packing" in r and "flash" in r for r in portable.values())
    rows = {r.index: r.code for r in b.layers}
    assert {i for i in b.weights.packed if rows[i].kernel_set == "reference"} == set(portable)
    assert any(rows[i].kernel == "TINYC_DSP_CONV_PACKED_S8" for i in b.weights.packed)
    # every filter on the DSP kernel would not fit: the same plan without the fit overflows
    low = footprint._lower(g, plan_improved(g), board, b.weights.choice())
    from tinyc.analyze import budget as budgetmod
    assert budgetmod.flash_needed(g, board, footprint.generated(low, board)) > 200 * 1024
    # and generate writes what check decided
    from tests.test_codegen_packed_models import call_kernels

    gen = generate(g, plan_improved(g), board, tmp_path / "gen")
    kernels = call_kernels(gen)
    assert {p.op_index for p in gen.packed_layers} == set(b.weights.packed)
    assert {i for i in b.weights.packed if kernels[i] != "TINYC_DSP_CONV_PACKED_S8"} == set(portable)


def _tiny_ram(boards: Path) -> str:
    """A NUCLEO-F746 with 64 KiB of SRAM, beside the boards in ``boards``."""
    text = (boards / "nucleo-f746.toml").read_text().replace('id = "nucleo-f746"', 'id = "tiny-ram-f746"')
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(('{ name = "SRAM1"',
                                                                                         '{ name = "SRAM2"')))
    (boards / "tiny-ram-f746.toml").write_text(text.replace('sram = "320 KiB"', 'sram = "64 KiB"'))
    return "tiny-ram-f746"


def test_a_decoded_filter_the_sram_cannot_hold_keeps_the_portable_kernel(ad_lut, starved):
    """A NUCLEO-F746 with 64 KiB of SRAM: the AD model's two 80 KiB filters (640 x 128) cannot be decoded
    whole, so they keep the portable kernel (one channel at a time) and the smaller ones the DSP one."""
    g, board = load(ad_lut), get_board(_tiny_ram(starved))
    b = footprint.check(g, board, weights="packed")
    assert b.fits and b.sram_headroom >= 0, b.sram_headroom
    rows = {r.index: r.code for r in b.layers}
    big = {i for i in b.weights.packed if g.op_inputs(g.operators[i])[1].size >= 640 * 128}
    assert big and all(rows[i].kernel_set == "reference" and "SRAM" in (rows[i].reason or "") for i in big)
    assert all(rows[i].kernel == "TINYC_DSP_CONV_PACKED_S8" for i in set(b.weights.packed) - big)


def test_packed_ram_keeps_every_packed_filter_decoded_in_ram_where_the_sram_holds_them(ad_lut):
    """--weights packed-ram on a NUCLEO-F746 (320 KiB of SRAM): every packed filter is decoded once at start-up
    into RAM of its own and runs the dense DSP matmul, so check predicts fewer instructions than --weights
    packed for the same flash, and more static RAM: the decoded filters."""
    g, board = load(ad_lut), get_board("nucleo-f746")
    packed, ram = footprint.check(g, board, weights="packed"), footprint.check(g, board, weights="packed-ram")
    assert ram.fits and ram.weights.packed == packed.weights.packed
    assert ram.weights.resident == packed.weights.packed and ram.weights.resident_saved > 0
    rows = {r.index: r.code for r in ram.layers}
    assert all(rows[i].kernel == "TINYC_DSP_FC_S8" and "decoded into RAM at start-up" in rows[i].weights
               for i in ram.weights.resident), rows
    assert abs(ram.flash_used - packed.flash_used) < 512  # the same blobs; the decoder's code for the packed kernel
    cost = {r.index: r.code.instructions for r in packed.layers}
    assert sum(rows[i].instructions for i in rows) < sum(cost.values())
    assert ram.sram_headroom < packed.sram_headroom
    weights = sum(g.op_inputs(g.operators[i])[1].size for i in ram.weights.resident)
    assert packed.sram_headroom - ram.sram_headroom >= weights - 2 * 640 * 128  # less the one DECODED buffer
    assert "decoded into RAM at start-up" in ram.weights.reason()


def test_packed_ram_on_a_board_with_little_sram_decodes_only_what_it_holds(ad_lut, starved):
    """64 KiB of SRAM: the two 80 KiB filters cannot stay decoded (they keep the portable kernel); of the
    others, as many as the SRAM the board leaves holds, and the model still fits."""
    g, board = load(ad_lut), get_board(_tiny_ram(starved))
    b = footprint.check(g, board, weights="packed-ram")
    assert b.fits and b.sram_headroom >= 0, b.sram_headroom
    big = {i for i in b.weights.packed if g.op_inputs(g.operators[i])[1].size >= 640 * 128}
    assert big and not big & set(b.weights.resident)
    assert b.weights.resident and set(b.weights.resident) < set(b.weights.packed) - big or \
        set(b.weights.resident) == set(b.weights.packed) - big
    free = footprint.check(g, get_board("nucleo-f746"), weights="packed-ram")
    assert set(b.weights.resident) <= set(free.weights.resident)


@pytest.mark.toolchain
@pytest.mark.emulator
def test_packed_ram_firmware_decodes_at_start_up_and_runs_at_dense_speed(ad_lut, tmp_path):
    """Built and run in QEMU (the M7 of the NUCLEO-F746 on mps2-an500): the harness calls tinyc_model_init()
    at boot and reports its instructions apart from the inference's; outputs bit-identical to TFLite Micro;
    an inference costs less than with --weights packed and within 5% of --weights dense."""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from tinyc.deploy import pipeline
    from tinyc.deploy.bench import bench_link, open_target

    got = {}
    for w in ("packed-ram", "packed", "dense"):
        built = pipeline.build_model_firmware(ad_lut, "nucleo-f746", tmp_path / w, emulate=True, weights=w)
        with open_target(built.elf, built.run_board) as link:
            got[w] = bench_link(link, ad_lut, runs=1)
        assert got[w].outputs_match, (w, got[w].mismatches)
    assert got["packed-ram"].init > 0 and got["packed"].init == got["dense"].init == 0
    assert got["packed-ram"].median < got["packed"].median
    assert got["packed-ram"].median <= 1.05 * got["dense"].median, {w: m.median for w, m in got.items()}


def test_check_shows_the_storage_kernel_set_and_cost_per_layer(ad_lut, starved):
    r = CliRunner().invoke(cli, ["check", str(ad_lut), "--board", STARVED])
    assert r.exit_code == 0, r.output
    assert "packed lut" in r.output and "fewest instructions added for the flash saved" in r.output
    assert "instr (est.)" in r.output and "would overflow the board's flash" in r.output
    d = json.loads(CliRunner().invoke(cli, ["check", str(ad_lut), "--board", STARVED, "--json"]).stdout)
    layers = {l["index"]: l for l in d["layers"]}
    assert {i for i, l in layers.items() if (l["weights"] or "").startswith("packed")} == set(d["weights"]["packed"])
    assert all(l["instructions"] > 0 and l["kernel_set"] in ("arm_dsp", "reference") for l in layers.values())
    r = CliRunner().invoke(cli, ["check", str(ad_lut), "--board", STARVED, "--weights", "dense"])
    assert r.exit_code == 1 and "--weights dense: every filter dense" in r.output


def test_fit_prices_a_candidate_with_the_same_decision(ad_lut):
    from tinyc.fit.cost import static_cost

    board = get_board("nucleo-f746")
    roomy = static_cost(ad_lut.read_bytes(), board)
    assert roomy.packed_layers == 0 and not any("/" in l.kind for l in roomy.layers)
    tight = static_cost(ad_lut.read_bytes(), board, flash_limit=200 * 1024)
    assert 0 < tight.packed_layers <= 9 and tight.flash <= 200 * 1024
    assert any(l.kind == "FULLY_CONNECTED/lut" for l in tight.layers)
    assert static_cost(ad_lut.read_bytes(), board, weights="packed").packed_layers == 9


@pytest.mark.parametrize("command", ["build", "bench", "fit", "generate", "check", "flash", "validate"])
def test_every_command_that_builds_takes_weights(command):
    r = CliRunner().invoke(cli, [command, "--help"])
    assert r.exit_code == 0 and "--weights [auto|packed|packed-ram|dense]" in r.output


def test_the_weights_option_is_part_of_the_build_key(ad_lut):
    from tinyc.buildkey import firmware_key

    auto = firmware_key(ad_lut, "nucleo-f746", emulate=True)
    assert auto == firmware_key(ad_lut, "nucleo-f746", emulate=True, weights="auto")
    assert len({auto, firmware_key(ad_lut, "nucleo-f746", emulate=True, weights="dense"),
                firmware_key(ad_lut, "nucleo-f746", emulate=True, weights="packed"),
                firmware_key(ad_lut, "nucleo-f746", emulate=True, weights="packed-ram")}) == 4


@pytest.mark.toolchain
@pytest.mark.emulator
def test_the_starved_build_links_into_its_flash_and_is_bit_exact(ad_lut, starved, tmp_path):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from tinyc.deploy import pipeline
    from tinyc.deploy.bench import bench_link, open_target

    built = pipeline.build_model_firmware(ad_lut, STARVED, tmp_path / "fw", emulate=True)
    plan = built.budget.weights
    assert {p.op_index for p in built.generated.packed_layers} == set(plan.packed) and plan.packed
    assert built.memory.flash <= 200 * 1024
    with open_target(built.elf, built.run_board) as link:
        m = bench_link(link, ad_lut, runs=1)
    assert m.outputs_match, m.mismatches


def test_build_warns_that_compressed_weights_are_stored_dense_and_what_packing_would_cost():
    from types import SimpleNamespace as NS

    from tinyc.analyze.weights import WeightPlan
    from tinyc.deploy.buildcmd import _note_dense_storage

    said = []
    options = (_option(3, 500, 2000.0), _option(5, 300, 1000.0))
    budget = NS(weights=WeightPlan("auto", (), options), board="nucleo-f746")
    _note_dense_storage(NS(warn=said.append), budget, "auto")
    assert said == ["2 pruned/clustered filters are stored dense on nucleo-f746 (the model fits dense, so the "
                    "faster dense kernels run them); packing them would save 800 B of flash at +3,000 instructions "
                    "per inference (--weights packed), or at none for about 2,800 B of SRAM holding them decoded "
                    "(--weights packed-ram, where the board's SRAM holds them)"]


def test_optimize_notes_that_compressed_weights_are_stored_dense_where_the_model_fits():
    from types import SimpleNamespace as NS

    from tinyc.optimize.storage_note import dense_storage_note

    def report(tflite, packed):
        return NS(steps=(NS(figures=NS(tflite_bytes=tflite, packed_bytes=packed)),))

    note = dense_storage_note(report(100_000, 60_000))
    assert "40,000 B under int8" in note and "dense" in note and "--weights packed" in note
    assert dense_storage_note(report(100_000, 100_012)) is None  # plain int8: packing saves nothing
