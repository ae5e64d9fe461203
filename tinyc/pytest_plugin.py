"""tinyc's pytest plugin: test your model on your board, or in QEMU when no board is attached.

Installed with tinyc (entry point ``pytest11``), so plain ``pytest`` in a user's repository has:

- options ``--tinyc-board ID``, ``--tinyc-port PORT`` (absent: the board's emulated stand-in in QEMU),
  ``--tinyc-model PATH`` (an int8 ``.tflite``, or a Keras model quantized with ``--tinyc-calibration D.npz``),
  each also an ini key (``tinyc_board``, ``tinyc_port``, ``tinyc_model``, ``tinyc_calibration``; paths relative
  to the ini file's folder) and an environment variable (``TINYC_BOARD``, ``TINYC_PORT``, ``TINYC_MODEL``);
  the command line wins, then the environment, then the ini file;
- the session fixture ``tinyc_target``: the firmware built (tinyc's build cache), flashed or emulated through
  tinyc's target interface (``tinyc.deploy.targets``), with ``invoke(inputs) -> outputs``,
  ``bench(runs) -> Measurement``, ``validate(data) -> Validation`` and ``reference(inputs)`` (TFLite Micro on
  the host);
- markers that skip what the board under test cannot run: ``tinyc_hardware`` (a real board only),
  ``tinyc_emulator`` (QEMU only: exact instruction counts), ``tinyc_board("id", ...)`` (only these boards) and
  ``tinyc_requires(dsp=True, helium=True, fpu=True, core="cortex-m7", min_flash=..., min_sram=...)``.

Conventions follow pytest-embedded (a fixture per device, options that name the target, the same tests on
silicon and in an emulator). Nothing heavy is imported until a test asks for the fixture: the plugin is loaded
by every pytest run where tinyc is installed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Sequence

import pytest

_OPTIONS = (  # (option, ini key, environment variable, help)
    ("--tinyc-board", "tinyc_board", "TINYC_BOARD", "board id the tests run on (see `tinyc boards`)"),
    ("--tinyc-port", "tinyc_port", "TINYC_PORT", "serial port of the real board (e.g. /dev/ttyACM0); the firmware "
     "is uploaded with the board's uploader. Absent: the board (or its emulated stand-in) runs in QEMU"),
    ("--tinyc-model", "tinyc_model", "TINYC_MODEL", "the model under test: an int8 .tflite, or a Keras model "
     "(quantized to int8 with --tinyc-calibration)"),
    ("--tinyc-calibration", "tinyc_calibration", "TINYC_CALIBRATION", "calibration data (.npz with x) that "
     "quantizes a Keras --tinyc-model to int8"),
)
_PATHS = ("tinyc_model", "tinyc_calibration")

MARKERS = (
    "tinyc_hardware: needs a real board (--tinyc-port); skipped in QEMU",
    "tinyc_emulator: needs the emulator (exact QEMU instruction counts); skipped on a real board",
    "tinyc_board(*ids): runs only on these boards (--tinyc-board)",
    "tinyc_requires(dsp=None, helium=None, fpu=None, core=None, min_flash=None, min_sram=None): runs only on a "
    "board that has these",
)


def pytest_addoption(parser):
    group = parser.getgroup("tinyc", "tinyc: the model on a board, or in QEMU")
    for opt, ini, env, text in _OPTIONS:
        group.addoption(opt, dest=ini, default=None, help=f"{text} [env {env}, ini {ini}]")
        parser.addini(ini, f"tinyc: {text}", default=None)


def pytest_configure(config):
    for m in MARKERS:
        config.addinivalue_line("markers", m)


def setting(config, key: str) -> str | None:
    """An option's value: command line (relative to the current folder), environment, ini (relative to the
    ini file's folder)."""
    opt, env = next((o, e) for o, i, e, _ in _OPTIONS if i == key)
    value = config.getoption(key)
    if value:
        return str(Path(value).absolute()) if key in _PATHS else value
    value = os.environ.get(env)
    if value:
        return str(Path(value).absolute()) if key in _PATHS else value
    value = config.getini(key)
    if value:
        base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
        return str((base / value).resolve()) if key in _PATHS else value
    return None


def _board(config):
    board_id = setting(config, "tinyc_board")
    if not board_id:
        return None
    from tinyc.boards import get_board

    return get_board(board_id)


def _skip_reason(item, board, port: str | None) -> str | None:
    """Why ``item`` cannot run on ``board`` reached this way (None: it can)."""
    if item.get_closest_marker("tinyc_hardware") and not port:
        return "needs a real board: pass --tinyc-port PORT (it runs in QEMU here)"
    if item.get_closest_marker("tinyc_emulator") and port:
        return "needs the emulator (QEMU instruction counts); a real board is attached"
    for m in item.iter_markers("tinyc_board"):
        if board is not None and m.args and board.id not in m.args:
            return f"runs on {', '.join(m.args)} only, not {board.id}"
    for m in item.iter_markers("tinyc_requires"):
        if board is None:
            continue
        for k, want in m.kwargs.items():
            if k in ("dsp", "helium", "fpu"):
                have = bool(getattr(board, k)) if k != "fpu" else board.fpu != "none"
                if bool(want) != have:
                    return f"needs {'' if want else 'no '}{k.upper()} ({board.id} has {'it' if have else 'none'})"
            elif k == "core":
                cores = (want,) if isinstance(want, str) else tuple(want)
                if board.core not in cores:
                    return f"needs a {' or '.join(cores)} core ({board.id} has a {board.core})"
            elif k == "min_flash" and board.flash < int(want):
                return f"needs {int(want):,} B of flash ({board.id} has {board.flash:,})"
            elif k == "min_sram" and board.sram < int(want):
                return f"needs {int(want):,} B of SRAM ({board.id} has {board.sram:,})"
            elif k not in ("dsp", "helium", "fpu", "core", "min_flash", "min_sram"):
                raise pytest.UsageError(f"{item.nodeid}: tinyc_requires({k}=...) is not known; use dsp, helium, "
                                        "fpu, core, min_flash or min_sram")
    return None


def pytest_runtest_setup(item):
    if not any(item.iter_markers(name=n) for n in ("tinyc_hardware", "tinyc_emulator", "tinyc_board",
                                                   "tinyc_requires")):
        return
    board = _board(item.config)
    reason = _skip_reason(item, board, setting(item.config, "tinyc_port"))
    if reason:
        pytest.skip(reason)


def pytest_report_header(config):
    board = setting(config, "tinyc_board")
    if not board:
        return None
    port = setting(config, "tinyc_port")
    return (f"tinyc: board {board}, " + (f"port {port}" if port else "QEMU (no --tinyc-port)")
            + f", model {setting(config, 'tinyc_model') or '-'}")


class TinycTarget:
    """The model's firmware running on the board under test (or its emulated stand-in), over tinyc's serial
    link. Made by the ``tinyc_target`` fixture; everything goes through tinyc's target interface."""

    def __init__(self, target, firmware, model: Path, link, info):
        self.target, self.firmware, self.model, self.link, self.info = target, firmware, model, link, info

    # -- what it is ------------------------------------------------------------------------------
    @property
    def board(self):
        return self.target.board

    @property
    def run_board(self):
        return self.target.run_board

    @property
    def emulated(self) -> bool:
        return self.info.emulated

    @property
    def unit(self) -> str:
        """What bench figures count: "instructions" (QEMU -icount) or "cycles" (a real board)."""
        return "instructions" if self.info.emulated else "cycles"

    @property
    def inputs(self):
        return self.info.inputs

    @property
    def outputs(self):
        return self.info.outputs

    # -- what it does ----------------------------------------------------------------------------
    def _quantized(self, inputs) -> list:
        import numpy as np

        from tinyc.deploy.validate import quantize

        arrays = [inputs] if isinstance(inputs, np.ndarray) or not isinstance(inputs, (list, tuple)) else inputs
        if len(arrays) != len(self.info.inputs):
            raise ValueError(f"the model has {len(self.info.inputs)} input(s); got {len(arrays)}")
        out = []
        for a, t in zip(arrays, self.info.inputs):
            a = np.asarray(a)
            if a.size != int(np.prod(t.shape)):
                raise ValueError(f"input {t.index} ({t.name}) has shape {list(t.shape)}; got {list(a.shape)}")
            out.append(quantize(a.reshape(t.shape), t))  # floats: the input's scale and zero point
        return out

    def invoke(self, inputs, *, real: bool = False) -> list:
        """One inference on the target: ``inputs`` one array (or a list, one per input); float arrays are
        quantized with the input's scale and zero point. Returns the outputs as the target computed them
        (int8 arrays in the output's shape), or in real units with ``real=True``."""
        import numpy as np

        for i, x in enumerate(self._quantized(inputs)):
            self.link.set_input(i, x)
        r = self.link.run(1, timeout=self.target.timeout)
        raw = self.link.read_outputs(r.checksums[-1])
        outs = [np.frombuffer(b, t.np_dtype).reshape(t.shape) for b, t in zip(raw, self.info.outputs)]
        return [self.dequantize(o, i) for i, o in enumerate(outs)] if real else outs

    def dequantize(self, output, index: int = 0):
        import numpy as np

        t = self.info.outputs[index]
        if np.issubdtype(t.np_dtype, np.integer) and t.scale:
            return (np.asarray(output).astype(np.float64) - t.zero_point) * t.scale
        return np.asarray(output, dtype=np.float64)

    def reference(self, inputs) -> list:
        """The same inference by TFLite Micro on the host (what the target must equal, bit for bit)."""
        import numpy as np

        from tinyc.model import reference

        outs = reference.run(self.model, self._quantized(inputs))
        return [np.asarray(o).reshape(t.shape).astype(t.np_dtype) for o, t in zip(outs, self.info.outputs)]

    def bench(self, runs: int = 10):
        """Cost of one inference (tinyc.deploy.bench.Measurement: instructions in QEMU, cycles on silicon),
        its outputs checked against TFLite Micro."""
        from tinyc.deploy.bench import bench_link

        return bench_link(self.link, self.model, runs=runs, timeout=self.target.timeout)

    def validate(self, data, *, limit: int | None = None, task: str | None = None):
        """Stream a labelled test set through the firmware (tinyc.deploy.validate.Validation): ``data`` an
        .npz path (x, y) or a pair (x, y) of arrays."""
        import tempfile

        import numpy as np

        from tinyc.deploy.validate import validate_link

        if isinstance(data, (tuple, list)):
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "data.npz"
                np.savez(path, x=np.asarray(data[0]), y=np.asarray(data[1]))
                return validate_link(self.link, self.model, path, limit=limit, timeout=self.target.timeout,
                                     task=task)
        return validate_link(self.link, self.model, Path(data), limit=limit, timeout=self.target.timeout, task=task)


def int8_model(model: Path, calibration: str | None) -> Path:
    """The .tflite under test: ``model`` itself, or a Keras model quantized to int8 with ``calibration``
    (kept in tinyc's cache by the bytes of both, so a second session reuses it)."""
    if model.suffix == ".tflite":
        return model
    from tinyc import paths
    from tinyc.errors import TinycError

    if not calibration:
        raise TinycError(f"{model}: a Keras model is quantized to int8 before it runs on the board: give "
                         "--tinyc-calibration D.npz (or the ini key tinyc_calibration), or pass an int8 .tflite")
    h = hashlib.sha256()
    src = [model] if model.is_file() else sorted(p for p in model.rglob("*") if p.is_file())
    for p in src + [Path(calibration)]:
        h.update(p.read_bytes())
    out = paths.cache_dir() / "pytest-models" / f"{model.stem}-{h.hexdigest()[:16]}.int8.tflite"
    if out.is_file():
        return out
    from tinyc.optimize.data import load_data
    from tinyc.optimize.load import load_model
    from tinyc.optimize.quantize import to_int8

    blob = to_int8(load_model(str(model)).keras, load_data(calibration))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(blob)
    tmp.replace(out)
    return out


def open_target(board_id: str, model: Path, port: str | None = None, timeout: float = 60.0):
    """(target, TinycTarget): the firmware of ``model`` built (cached) for ``board_id``, uploaded to the board
    on ``port`` or run by QEMU (the board's stand-in when it is a real board), and synced."""
    from tinyc.deploy.targets import target_for

    from tinyc.boards import get_board

    board = get_board(board_id)
    target = target_for(board, emulate=not port and board.runner(True).id != board.id, port=port, timeout=timeout)
    try:
        target.locate()  # no board attached: one line before any build
        rec = target.build(model)
        if target.uploads:
            target.flash(rec.elf)
        link = target.open_link(rec.elf)
        info = link.sync()
        return target, TinycTarget(target, rec, Path(model), link, info)
    except BaseException:
        target.close()
        raise


@pytest.fixture(scope="session")
def tinyc_model(pytestconfig) -> Path:
    """The int8 .tflite under test (--tinyc-model; a Keras model is quantized with --tinyc-calibration)."""
    model = setting(pytestconfig, "tinyc_model")
    if not model:
        pytest.skip("no model under test: pass --tinyc-model PATH (or set tinyc_model in the ini file)")
    from tinyc.errors import TinycError

    try:
        return int8_model(Path(model), setting(pytestconfig, "tinyc_calibration"))
    except TinycError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def tinyc_target(pytestconfig, tinyc_model):
    """The model under test running on --tinyc-board: uploaded over --tinyc-port, else run by QEMU. One
    firmware and one link for the whole session."""
    board = setting(pytestconfig, "tinyc_board")
    if not board:
        pytest.skip("no board under test: pass --tinyc-board ID (or set tinyc_board in the ini file)")
    from tinyc.errors import TinycError

    try:
        target, t = open_target(board, tinyc_model, setting(pytestconfig, "tinyc_port"))
    except TinycError as exc:
        pytest.fail(f"tinyc: {exc}", pytrace=False)
    with target:
        yield t


__all__: Sequence[Any] = ("TinycTarget", "open_target", "int8_model", "tinyc_target", "tinyc_model")
