"""Compile generated model code with the host gcc and run it on batches of inputs (verification).

The runtime is compiled once per key (tinyc.buildkey.host_runtime_key: its sources, the compiler's version,
the flags) into ``paths.cache_dir()/host-runtime`` (a static library per flag set); each model then
compiles only its two generated files and the driver in firmware/runtime/host/. Warnings are errors, and
the sanitizers (address, undefined) are on by default.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tinyc import paths
from tinyc.buildkey import host_runtime_key
from tinyc.codegen.generate import GeneratedModel, runtime_dir
from tinyc.errors import TinycError

WARN = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")


def _cc() -> str:
    cc = shutil.which(os.environ.get("CC", "gcc"))
    if not cc:
        raise TinycError("no host C compiler (gcc) found; install gcc to verify generated code on the host")
    return cc


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise TinycError(f"host compile failed: {' '.join(cmd[:3])} ...: {(r.stderr or r.stdout).strip()[:2000]}")


def runtime_library(sanitize: bool = True, opt: str = "-O1") -> Path:
    """The whole runtime as a static library, built once per (sources, flags)."""
    flags = [*WARN, opt, *(SANITIZE if sanitize else ())]
    out = paths.cache_dir() / "host-runtime" / host_runtime_key(_cc(), flags)
    lib = out / "libtinyc_rt.a"
    if lib.is_file():
        return lib
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if lib.is_file():
            return lib
        rt = runtime_dir()
        incs = [f"-I{rt / 'include'}", f"-I{rt / 'kernels'}", f"-I{rt / 'kernels' / 'arm_dsp'}"]
        srcs = [rt / "quant.c", *sorted((rt / "kernels").glob("*.c"))]
        # The Arm DSP kernels too, on portable C models of the instructions (tinyc_rt_arm_dsp.h): a model
        # generated for a DSP board calls them, and the host checks them against TFLite Micro.
        srcs += sorted((rt / "kernels" / "arm_dsp").glob("*.c"))
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            objs = []
            for s in srcs:
                o = Path(tmp) / (s.stem + ".o")
                _run([_cc(), *flags, *incs, "-c", str(s), "-o", str(o)])
                objs.append(str(o))
            tmp_lib = Path(tmp) / "lib.a"
            _run(["ar", "rcs", str(tmp_lib), *objs])
            os.replace(tmp_lib, lib)
    return lib


def build_runner(gen: GeneratedModel, build_dir: Path, sanitize: bool = True, opt: str = "-O1") -> Path:
    """An executable that runs the generated model on inputs from stdin (see tinyc_host_main.c)."""
    lib = runtime_library(sanitize, opt)
    flags = [*WARN, opt, *(SANITIZE if sanitize else ())]
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    exe = build_dir / "tinyc_host_runner"
    model_srcs = [str(gen.out_dir / "tinyc_model.c"), str(gen.out_dir / "tinyc_model_data.c")]
    _run([_cc(), *flags, f"-I{gen.out_dir}", *model_srcs, str(runtime_dir() / "host" / "tinyc_host_main.c"),
          str(lib), "-o", str(exe)])
    return exe


def run(exe: Path, batches: list[list[np.ndarray]], out_specs: list[tuple[np.dtype, tuple]]) -> list[list[np.ndarray]]:
    """Run ``exe`` on every input record; returns, per record, one array per output."""
    payload = len(batches).to_bytes(4, "little") + b"".join(
        np.ascontiguousarray(a).tobytes() for rec in batches for a in rec)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    r = subprocess.run([str(exe)], input=payload, capture_output=True, env=env)
    if r.returncode != 0:
        raise TinycError(f"{exe} failed (exit {r.returncode}): {r.stderr.decode(errors='replace')[:3000]}")
    sizes = [int(np.prod(shape)) * np.dtype(dt).itemsize for dt, shape in out_specs]
    rec = sum(sizes)
    if len(r.stdout) != rec * len(batches):
        raise TinycError(f"{exe} wrote {len(r.stdout)} bytes, expected {rec * len(batches)}")
    out, pos = [], 0
    for _ in batches:
        row = []
        for (dt, shape), n in zip(out_specs, sizes):
            row.append(np.frombuffer(r.stdout[pos:pos + n], dtype=dt).reshape(shape))
            pos += n
        out.append(row)
    return out
