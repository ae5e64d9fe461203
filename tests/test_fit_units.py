"""tinyc fit building blocks on synthetic data: Pareto front, latency model fit, option parsing, space."""

from __future__ import annotations

import random

import pytest

from tinyc.errors import TinycError
from tinyc.fit import latency, pareto
from tinyc.fit.latency import LayerFeatures, Sample
from tinyc.fit.space import Config, Space, allowed_ratios, guided_seeds, normalize


def _rows(n, seed=0):
    rnd = random.Random(seed)
    return [{"accuracy": rnd.choice([0.8, 0.9, 0.95, 1.0]), "latency": rnd.randint(1, 6) * 1000,
             "flash": rnd.randint(1, 5) * 1024, "sram": rnd.randint(1, 3) * 512} for _ in range(n)]


def test_front_small_case_by_hand():
    rows = [
        {"accuracy": 0.9, "latency": 100, "flash": 10, "sram": 5},   # dominated by 1
        {"accuracy": 0.95, "latency": 90, "flash": 10, "sram": 5},
        {"accuracy": 0.99, "latency": 200, "flash": 10, "sram": 5},  # most accurate, slow
        {"accuracy": 0.5, "latency": 10, "flash": 30, "sram": 5},    # fastest
        {"accuracy": 0.5, "latency": 10, "flash": 40, "sram": 5},    # dominated by 3 (more flash)
        {"accuracy": 0.95, "latency": 90, "flash": 10, "sram": 5},   # identical to 1: both kept
    ]
    assert pareto.front(rows) == [1, 2, 3, 5]
    assert pareto.dominates(rows[1], rows[0]) and not pareto.dominates(rows[1], rows[5])


def test_front_matches_brute_force_definition():
    for seed in range(5):
        rows = _rows(40, seed)
        want = []
        for i, r in enumerate(rows):
            beaten = False
            for j, o in enumerate(rows):
                ge = (o["accuracy"] >= r["accuracy"] and o["latency"] <= r["latency"] and o["flash"] <= r["flash"]
                      and o["sram"] <= r["sram"])
                gt = (o["accuracy"] > r["accuracy"] or o["latency"] < r["latency"] or o["flash"] < r["flash"]
                      or o["sram"] < r["sram"])
                beaten |= i != j and ge and gt
            if not beaten:
                want.append(i)
        assert pareto.front(rows) == want
        assert want  # a front is never empty


def test_latency_model_recovers_known_coefficients():
    true = {"CONV_2D": (1.5, 20.0, 900.0), "CONV_2D/lut": (2.25, 25.0, 1500.0), "MAX_POOL_2D": (0.0, 12.0, 300.0)}
    samples = []
    rnd = random.Random(1)
    for kind, (a, b, c) in true.items():
        for _ in range(8):
            macs = 0 if kind == "MAX_POOL_2D" else rnd.randint(10_000, 2_000_000)
            out = rnd.randint(64, 8192)
            samples.append(Sample(LayerFeatures(0, kind, macs, out), a * macs + b * out + c))
    lm = latency.fit(samples, "b", "rb", "instructions")
    for kind, coef in true.items():
        for got, want in zip(lm.coefficients[kind], coef):
            assert got == pytest.approx(want, rel=1e-6, abs=1e-6)
    layers = [LayerFeatures(0, "CONV_2D", 1000, 10), LayerFeatures(1, "MAX_POOL_2D", 0, 100)]
    assert lm.predict(layers) == pytest.approx(1.5 * 1000 + 20 * 10 + 900 + 12 * 100 + 300)
    # a packed mode never measured falls back to the op's dense coefficients; an unmeasured op is refused
    assert lm.layer(LayerFeatures(0, "CONV_2D/sign", 1000, 10)) == pytest.approx(1.5 * 1000 + 20 * 10 + 900)
    with pytest.raises(TinycError, match="no measurements of FULLY_CONNECTED"):
        lm.layer(LayerFeatures(0, "FULLY_CONNECTED", 10, 10))
    assert latency.LatencyModel.from_json(lm.to_json()) == lm


def test_latency_fit_never_negative_and_handles_noise():
    rnd = random.Random(2)
    samples = [Sample(LayerFeatures(0, "ADD", 0, n), 7.0 * n + rnd.uniform(-50, 50)) for n in range(100, 2000, 100)]
    lm = latency.fit(samples, "b", "rb", "instructions")
    a, b, c = lm.coefficients["ADD"]
    assert min(a, b, c) >= 0
    assert b == pytest.approx(7.0, rel=0.05)


def test_latency_option_units():
    from tinyc.cli import _latency_option, _size_option

    assert _latency_option("400,000", "bluepill", True) == 400000
    assert _latency_option("250000 instructions", "mps2-an385", True) == 250000
    for bad in ("3 ms", "72000 cycles"):
        with pytest.raises(TinycError, match="instructions"):
            _latency_option(bad, "bluepill", True)
    with pytest.raises(TinycError):
        _latency_option("fast", "bluepill", True)
    assert _size_option("16K", "--reserve-sram") == 16384
    assert _size_option("4096", "--reserve-sram") == 4096


def test_space_sensitivity_guides_ratios():
    sens = {"conv1": {0.0: 0.0, 0.25: 0.01, 0.5: 0.4, 0.75: 0.7},
            "conv2": {0.0: 0.0, 0.25: 0.0, 0.5: 0.02, 0.75: 0.1}}
    allowed = allowed_ratios(sens, 0.3)
    assert allowed == {"conv1": (0.0, 0.25), "conv2": (0.0, 0.25, 0.5, 0.75)}
    seeds = guided_seeds(sens, allowed)
    assert seeds[0].channels == ()  # lightest first: storage alone
    plans = [dict(s.channels) for s in seeds]
    assert {"conv1": 0.25, "conv2": 0.5} in plans  # tolerance 2 points: the insensitive layer gives up more
    assert all(f in allowed[n] for p in plans for n, f in p.items())
    assert len({s.key() for s in seeds}) == len(seeds)
    # binarized configs drop the knobs that cannot apply to them
    assert normalize(Config((), "binarize", 0.5, 16, True)) == Config((), "binarize")
    sp = Space(("conv1", "conv2"), allowed)
    p = sp.params(Config((("conv2", 0.5),), "int8", 0.5, 4, False))
    assert p["prune_conv1"] == 0.0 and p["prune_conv2"] == 0.5 and p["clusters"] == 4


def test_fit_cli_refuses_bad_input_in_one_line(tmp_path):
    from click.testing import CliRunner

    from tinyc.cli import cli

    r = CliRunner().invoke(cli, ["fit", "examples/digits/digits_wide_cnn.keras", "--board", "bluepill",
                                 "--data", "examples/digits/train.npz", "--max-latency", "5ms",
                                 "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "never cycles or milliseconds" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("user file")
    r = CliRunner().invoke(cli, ["fit", "examples/digits/digits_wide_cnn.keras", "--board", "bluepill",
                                 "--data", "examples/digits/train.npz", "-o", str(tmp_path / "full")])
    assert r.exit_code == 2 and "not empty" in r.output
    assert (tmp_path / "full" / "x").read_text() == "user file"


def test_budgets_take_the_smaller_limit_minus_the_reserve():
    from tinyc.boards import get_board
    from tinyc.fit.search import FitRequest, _budgets

    bp = get_board("bluepill")
    assert _budgets(FitRequest("m", "bluepill", "d"), bp) == (64 * 1024, 20 * 1024)
    req = FitRequest("m", "bluepill", "d", budget_flash=48 * 1024, budget_sram=32 * 1024, reserve_flash=8192,
                     reserve_sram=4096)
    assert _budgets(req, bp) == (40 * 1024, 16 * 1024)  # a budget above the board's memory is the board's
    with pytest.raises(TinycError, match="leave nothing"):
        _budgets(FitRequest("m", "bluepill", "d", reserve_sram=20 * 1024), bp)


def test_build_fit_needs_the_keras_model_and_data(tmp_path):
    from click.testing import CliRunner

    from tinyc.cli import cli

    r = CliRunner().invoke(cli, ["build", "examples/digits/digits_wide_cnn.keras", "--board", "bluepill",
                                 "--emulate", "--fit", "-o", str(tmp_path / "b")])
    assert r.exit_code == 2 and "--fit needs" in r.output
    assert not (tmp_path / "b").exists()
