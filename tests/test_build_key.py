"""The build cache key (tinyc.buildkey): every input of a build changes it, nothing else does, and a
changed input makes cached_build rebuild instead of serving stale firmware (issue 13).

Every test works on a copy of firmware/, templates/, boards/ and the tinyc package in tmp_path, never on
the checkout's own files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tinyc import buildkey, paths

ROOT = Path(__file__).resolve().parents[1]
MODEL = b"not a real model: the key hashes bytes"
BOARD = "nucleo-f746"  # a real board run on its stand-in (mps2-an500): two board files in the key


def _copy(dst: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".pio")
    for name in ("firmware", "templates", "boards"):
        shutil.copytree(ROOT / name, dst / name, ignore=ignore)
    shutil.copytree(ROOT / "tinyc", dst / "tinyc", ignore=ignore)
    return dst


def _point_at(root: Path, monkeypatch) -> None:
    monkeypatch.setattr(paths, "firmware_dir", lambda: root / "firmware")
    monkeypatch.setattr(paths, "templates_dir", lambda: root / "templates")
    monkeypatch.setenv("TINYC_BOARDS_DIR", str(root / "boards"))
    monkeypatch.setattr(buildkey, "PACKAGE_DIR", root / "tinyc")


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    root = _copy(tmp_path / "checkout")
    _point_at(root, monkeypatch)
    return root


def _key(**options) -> str:
    return buildkey.firmware_key(MODEL, BOARD, emulate=True, **options)


def _replace(old: str, new: str):
    def edit(path: Path) -> None:
        text = path.read_text()
        assert old in text, f"{path}: {old!r} not found; update the test"
        path.write_text(text.replace(old, new, 1))
    return edit


def _append(text: str):
    def edit(path: Path) -> None:
        with open(path, "a") as f:
            f.write(text)
    return edit


# (what, file under the copied tree, edit, the input of firmware_inputs that must change)
EDITS = [
    ("builder compile flag", "firmware/platform/builder/main.py",
     _replace('"-g3"]', '"-g3", "-DTINYC_TEST_FLAG=1"]'), "firmware"),
    ("platform manifest", "firmware/platform/platform.json", _replace('"0.1.0"', '"0.1.1"'), "firmware"),
    ("port flag (portdefs.py)", "tinyc/deploy/portdefs.py",
     _replace('d["TINYC_USE_DWT"] = "1"', 'd["TINYC_USE_DWT"] = "2"'), "package"),
    ("port source of the stand-in", "firmware/ports/cmsdk/port.c", _append("\n/* changed */\n"), "firmware"),
    ("port source of the real board", "firmware/ports/stm32f7/port.c", _append("\n/* changed */\n"), "firmware"),
    ("runtime kernel", "firmware/runtime/kernels/conv2d.c", _append("\n/* changed */\n"), "firmware"),
    ("runtime header", "firmware/runtime/include/tinyc_rt.h", _append("\n/* changed */\n"), "firmware"),
    ("harness app", "firmware/apps/harness/main.c", _append("\n/* changed */\n"), "firmware"),
    ("port interface", "firmware/include/tinyc_port.h", _append("\n/* changed */\n"), "firmware"),
    ("project template", "templates/project/linker.ld.j2", _append("\n/* changed */\n"), "templates"),
    ("platformio.ini template", "templates/project/platformio.ini.j2", _append("\n; changed\n"), "templates"),
    ("codegen template", "templates/codegen/tinyc_model.c.j2", _append("\n/* changed */\n"), "templates"),
    ("board file", "boards/nucleo-f746.toml", _append("\n# changed\n"), "board"),
    ("stand-in board file", "boards/mps2-an500.toml", _append("\n# changed\n"), "run_board"),
    ("code generator", "tinyc/codegen/lower.py", _append("\n# changed\n"), "package"),
    ("project renderer", "tinyc/deploy/project.py", _append("\n# changed\n"), "package"),
]


@pytest.mark.parametrize("what,rel,edit,part", EDITS, ids=[e[0] for e in EDITS])
def test_each_build_input_changes_the_key(tree, what, rel, edit, part):
    before = buildkey.firmware_inputs(MODEL, BOARD, emulate=True)
    key = _key()
    assert _key() == key  # unchanged inputs, same key (and the per-process file cache is warm now)
    edit(tree / rel)
    after = buildkey.firmware_inputs(MODEL, BOARD, emulate=True)
    assert _key() != key, f"changing the {what} ({rel}) must give a new key"
    assert [k for k in before if before[k] != after[k]] == [part]


@pytest.mark.parametrize("rel", ["boards/bluepill.toml", "firmware/.pio/build/x.o",
                                 "tinyc/codegen/__pycache__/lower.cpython-311.pyc"])
def test_what_no_build_uses_leaves_the_key(tree, rel):
    """Another board's file and build droppings are not inputs: they must not cost a rebuild."""
    key = _key()
    f = tree / rel
    f.parent.mkdir(parents=True, exist_ok=True)
    with open(f, "a") as fh:
        fh.write("\n# changed\n")
    assert _key() == key


def test_the_key_does_not_depend_on_where_the_checkout_lies(tmp_path, monkeypatch):
    _point_at(_copy(tmp_path / "a"), monkeypatch)
    key = _key()
    _point_at(_copy(tmp_path / "elsewhere" / "b"), monkeypatch)
    assert _key() == key


def test_model_and_options_change_the_key(tree):
    keys = {_key(), buildkey.firmware_key(MODEL + b"!", BOARD, emulate=True), _key(profile=True),
            _key(skip_check=True), _key(test_hooks=True), buildkey.firmware_key(MODEL, BOARD, emulate=False),
            buildkey.firmware_key(MODEL, "mps2-an500")}
    assert len(keys) == 7
    # an option left out is its default: cached_build and callers that spell defaults out share builds
    assert _key() == _key(profile=False, skip_check=False, test_hooks=False)
    model = tree / "m.tflite"
    model.write_bytes(MODEL)
    assert buildkey.firmware_key(model, BOARD, emulate=True) == _key()


def _fake_compiler(bindir: Path, name: str, version: str) -> None:
    bindir.mkdir(exist_ok=True)
    exe = bindir / name
    exe.write_text(f"#!/bin/sh\necho '{version}'\n")
    exe.chmod(0o755)


@pytest.fixture
def fresh_versions():
    """The tool versions are asked once per process: forget them around a test that swaps the tools."""
    for f in (buildkey.toolchain, buildkey.compiler_version, buildkey.c_library):
        f.cache_clear()
    yield
    for f in (buildkey.toolchain, buildkey.compiler_version, buildkey.c_library):
        f.cache_clear()


def test_the_toolchain_version_changes_the_key(tree, tmp_path, monkeypatch, fresh_versions):
    require_tool("arm-none-eabi-gcc")
    key = _key()
    assert buildkey.toolchain()["arm-none-eabi-gcc"].startswith("arm-none-eabi-gcc")
    _fake_compiler(tmp_path / "bin", "arm-none-eabi-gcc", "arm-none-eabi-gcc (fake) 99.0.0")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert _key() == key  # asked once per process ...
    buildkey.toolchain.cache_clear()
    buildkey.compiler_version.cache_clear()
    assert buildkey.toolchain()["arm-none-eabi-gcc"] == "arm-none-eabi-gcc (fake) 99.0.0"
    assert _key() != key  # ... and a new process sees the new toolchain


def test_the_c_library_changes_the_key(tree, tmp_path, monkeypatch, fresh_versions):
    """newlib is packaged apart from gcc: the same compiler version line with another libc.a is another build."""
    libc = tmp_path / "libc.a"
    libc.write_bytes(b"!<arch>\nnewlib one")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "arm-none-eabi-gcc"
    exe.write_text(f"#!/bin/sh\ncase \"$1\" in -print-file-name=*) echo '{libc}';; *) echo 'gcc 1';; esac\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    key = _key()
    assert buildkey.toolchain()["libc.a"] == buildkey.file_digest(libc)
    libc.write_bytes(b"!<arch>\nnewlib two")
    for f in (buildkey.toolchain, buildkey.compiler_version, buildkey.c_library):
        f.cache_clear()
    assert _key() != key


def test_host_runtime_key(tree, tmp_path, fresh_versions):
    """The host runtime library: its sources, host.py, the host compiler's version and the flags."""
    _fake_compiler(tmp_path / "bin", "cc1", "gcc (fake) 12.2.0")
    _fake_compiler(tmp_path / "bin", "cc2", "gcc (fake) 13.1.0")
    cc1, cc2 = str(tmp_path / "bin" / "cc1"), str(tmp_path / "bin" / "cc2")
    key = buildkey.host_runtime_key(cc1, ["-O1"])
    assert buildkey.host_runtime_key(cc1, ["-O1"]) == key
    assert buildkey.host_runtime_key(cc2, ["-O1"]) != key
    assert buildkey.host_runtime_key(cc1, ["-O2"]) != key
    _append("\n/* changed */\n")(tree / "templates/codegen/tinyc_model.c.j2")  # not part of the library
    assert buildkey.host_runtime_key(cc1, ["-O1"]) == key
    _append("\n/* changed */\n")(tree / "firmware/runtime/quant.c")
    key2 = buildkey.host_runtime_key(cc1, ["-O1"])
    assert key2 != key
    _append("\n# changed\n")(tree / "tinyc/codegen/host.py")
    assert buildkey.host_runtime_key(cc1, ["-O1"]) != key2


def test_a_warm_key_reads_no_file(tree, monkeypatch):
    """Keys are computed on every bench/validate/flash: files are read once per process while unchanged."""
    key = _key()

    def no_reading(self):
        raise AssertionError(f"{self} read again")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    assert _key() == key


@pytest.fixture
def fresh_render():
    """tinyc.render keeps one Jinja environment per process, on the templates folder of its first use: the
    end-to-end build must not leave one on this test's copy for the tests after it."""
    from tinyc import render

    clear = getattr(render.environment, "cache_clear", lambda: None)
    clear()
    yield
    clear()


@pytest.mark.toolchain
def test_a_changed_builder_flag_rebuilds_the_firmware(tmp_path, monkeypatch, fresh_render):
    """End to end: cached_build serves the cached firmware while nothing changes, and builds anew, with the
    new flag, once the platform builder's compile flags change (the ELF's -g3 macro table shows it).
    The build compiles the copied firmware/ (its port, harness and platform builder)."""
    require_tool("arm-none-eabi-gcc")
    from tinyc import zoo
    from tinyc.deploy import pipeline

    model = tmp_path / "fc_odd.tflite"
    shutil.copy(zoo.build("fc_odd"), model)  # from the checkout's cache, before the cache moves
    _point_at(_copy(tmp_path), monkeypatch)
    monkeypatch.setenv("TINYC_CACHE_DIR", str(tmp_path / "cache"))  # and a private PlatformIO core in it
    monkeypatch.delenv("TINYC_PIO_CORE_DIR", raising=False)

    first = pipeline.cached_build(model, "mps2-an500", emulate=False)
    stamp = first.elf.stat().st_mtime_ns
    again = pipeline.cached_build(model, "mps2-an500", emulate=False)
    assert again.out_dir == first.out_dir and again.elf.stat().st_mtime_ns == stamp  # served, not rebuilt
    assert b"TINYC_TEST_FLAG" not in first.elf.read_bytes()

    _replace('"-g3"]', '"-g3", "-DTINYC_TEST_FLAG=1"]')(tmp_path / "firmware/platform/builder/main.py")
    rebuilt = pipeline.cached_build(model, "mps2-an500", emulate=False)
    assert rebuilt.out_dir != first.out_dir
    assert b"TINYC_TEST_FLAG" in rebuilt.elf.read_bytes()
    assert first.elf.is_file()  # the old build stays for the old inputs
