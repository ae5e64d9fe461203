"""What a build depends on: one cache key for every firmware build, and one for the host runtime library.

A cached build may be served only while nothing that went into it has changed, so the key hashes every
input, not the ones we remember to list:

- the model's bytes;
- the board file of the board and of the board that runs the firmware (its emulated stand-in), by content:
  their memory regions, CPU/FPU, console and clock become linker script, board manifest and port -D flags;
- all of ``templates/`` (model sources, platformio.ini, board manifest, linker script);
- all of ``firmware/``: runtime, ports, apps, include and tinyc's PlatformIO platform (``builder/main.py``
  holds every compile and link flag, ``platform.json`` the platform);
- every file of the ``tinyc`` package. The Python code decides what is generated and how it is built
  (planner, lowering, kernel choice, ``deploy/project.py``'s copies, ``deploy/portdefs.py``'s -D flags,
  ``boards.py``'s derived fields, ``render.py``'s filters), spread over most of the package. A list of
  "the modules that matter" goes stale silently the day a build starts depending on one more, and then
  serves stale firmware; hashing them all costs at worst one needless rebuild after an unrelated edit;
- the tinyc version, the cross toolchain (``arm-none-eabi-gcc --version``, first line, and the digest of the
  ``libc.a`` it links, since newlib is packaged apart from gcc), and the versions of
  the Python packages that take part (PlatformIO, SCons, Jinja2, NumPy, tflite-micro);
- the build options (emulate, profile, skip_check, test_hooks, and whatever else a caller passes).

Port flags need no entry of their own: they are a function of the board files and ``portdefs.py``/
``project.py``, both hashed. Paths never enter the key (files by path relative to their tree, boards by id
and content), so a checkout that moves keeps its cache.

Cost: files are hashed once per process and remembered by (path, mtime_ns, size, inode); a key then costs a
walk and a stat of each file (a few ms). Tools are asked their version once per process.

This module sits at the package's top (like ``paths``) because codegen (host runtime), deploy and fit all
use it; it imports neither TensorFlow nor the code generator.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from tinyc import __version__, operators, paths

SCHEMA = 1  # bump when the key's make-up changes meaning
CROSS_CC = "arm-none-eabi-gcc"
PYTHON_DEPENDENCIES = ("platformio", "scons", "jinja2", "numpy", "tflite-micro")
# A build's options as build_model_firmware defaults them: a caller that leaves one out gets the same key
# as one that passes the default.
DEFAULT_OPTIONS: Mapping[str, Any] = {"emulate": False, "profile": False, "skip_check": False, "test_hooks": False,
                                      "weights": "auto"}

PACKAGE_DIR = Path(__file__).resolve().parent  # the tinyc package (tests point it at a copy)

_digests: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read once per process while its (mtime, size, inode) stay the same."""
    st = os.stat(path)
    k = (str(path), st.st_mtime_ns, st.st_size, st.st_ino)
    d = _digests.get(k)
    if d is None:
        d = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        _digests[k] = d
    return d


def _skipped(name: str) -> bool:
    """Caches and editor/build droppings: never a build input (``.pio`` build folders, ``__pycache__``)."""
    return name.startswith(".") or name == "__pycache__" or name.endswith((".pyc", "~"))


def tree_digest(root: Path, exclude: Sequence[str] = ()) -> str:
    """One hash of every file under ``root``, by path relative to it (so independent of where it lies);
    ``exclude``: top-level names left out."""
    root = Path(root)
    h = hashlib.sha256()
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if not _skipped(d) and (rel_dir.parts or d not in exclude)]
        entries += [((rel_dir / f).as_posix(), Path(dirpath) / f) for f in filenames
                    if not _skipped(f) and (rel_dir.parts or f not in exclude)]
    for rel, path in sorted(entries):
        h.update(rel.encode() + b"\0" + file_digest(path).encode() + b"\n")
    return h.hexdigest()


def _version_line(cmd: str) -> str:
    try:
        r = subprocess.run([cmd, "--version"], capture_output=True, text=True, timeout=30,
                           env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return f"{Path(cmd).name}: not found"
    lines = (r.stdout or r.stderr).strip().splitlines()
    return lines[0] if lines else f"{Path(cmd).name}: no version"


@cache
def compiler_version(cc: str) -> str:
    """First line of ``cc --version``, once per process per compiler."""
    return _version_line(cc)


@cache
def c_library() -> str:
    """The digest of the C library the cross compiler links (newlib is packaged apart from gcc, so gcc's
    version line does not tell an upgrade of it), once per process."""
    try:
        r = subprocess.run([CROSS_CC, "-print-file-name=libc.a"], capture_output=True, text=True, timeout=30)
        libc = Path(r.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return "not found"
    return file_digest(libc) if libc.is_absolute() and libc.is_file() else "not found"


@cache
def toolchain() -> dict[str, str]:
    """The cross compiler, its C library and the Python packages that render and drive a build, once per
    process."""
    out = {CROSS_CC: compiler_version(CROSS_CC), "libc.a": c_library()}
    for dist in PYTHON_DEPENDENCIES:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "none"
    return out


def _boards(board, emulate: bool):
    """(board, run board), as the target of the build pairs them (tinyc.deploy.targets.resolve)."""
    from tinyc.deploy.targets import resolve

    return resolve(board, emulate)


def firmware_inputs(model: Path | bytes | None, board, **options) -> dict[str, Any]:
    """What :func:`firmware_key` hashes, by name (to see which input changed)."""
    opts = {**DEFAULT_OPTIONS, **options}
    b, run = _boards(board, bool(opts["emulate"]))
    if model is None:
        model_digest = None
    elif isinstance(model, (bytes, bytearray)):
        model_digest = hashlib.sha256(model).hexdigest()
    else:
        model_digest = file_digest(Path(model))
    return {
        "schema": SCHEMA,
        "tinyc": __version__,
        "model": model_digest,
        "board": [b.id, file_digest(b.path)],
        "run_board": [run.id, file_digest(run.path)],
        "templates": tree_digest(paths.templates_dir()),
        "firmware": tree_digest(paths.firmware_dir()),
        "package": tree_digest(PACKAGE_DIR, exclude=("data",)),  # data/: a wheel's templates and firmware
        "operators": [tree_digest(f) for f in operators.folders()],  # a user's operators (TINYC_OPERATORS)
        "toolchain": toolchain(),
        "options": opts,
    }


def _key(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def firmware_key(model: Path | bytes | None, board, **options) -> str:
    """The cache key of a firmware build of ``model`` (a path, its bytes, or None for a key of everything
    but the model) for ``board`` (an id or a Board); ``options`` are the build's options (JSON values):
    ``emulate`` picks the run board as the build does."""
    return _key(firmware_inputs(model, board, **options))


def host_runtime_key(cc: str, flags: Sequence[str], declarations: str = "") -> str:
    """The key of the runtime compiled with the host compiler ``cc`` (tinyc.codegen.host): the runtime's
    files, host.py (which picks the sources and include folders), the compiler's version, the flags and the
    generated declarations (tinyc_ops.h) its kernels include."""
    return _key({"schema": SCHEMA, "tinyc": __version__,
                 "runtime": tree_digest(paths.firmware_dir() / "runtime"),
                 "host.py": file_digest(PACKAGE_DIR / "codegen" / "host.py"),
                 "cc": compiler_version(cc), "flags": list(flags),
                 "declarations": hashlib.sha256(declarations.encode()).hexdigest()})
