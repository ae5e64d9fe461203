"""A project-private PlatformIO core that works offline.

PlatformIO 6.2 wants its SCons from its own registry (``platformio/tool-scons``), which cannot be
reached here. The same SCons comes from PyPI (pinned in pyproject.toml); we register it as that
package so PlatformIO never tries to download it. The core lives outside ``~/.platformio`` so a
user's own PlatformIO set-up is left untouched.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tinyc import paths

SCONS_PACKAGE_VERSION = "4.41101.0"  # what platformio 6.2.0 requires: SCons 4.11.1

_SCONS_LAUNCHER = """\
# Written by tinyc: runs the SCons that pip installed beside PlatformIO.
import sys

from SCons.Script import main

if __name__ == "__main__":
    sys.exit(main())
"""


def core_dir() -> Path:
    """Where the private core lives: TINYC_PIO_CORE_DIR, else beside the source checkout or in the user cache."""
    override = os.environ.get("TINYC_PIO_CORE_DIR")
    if override:
        return Path(override)
    return paths.cache_dir() / "pio-core"


def environment() -> dict[str, str]:
    """The environment every PlatformIO call runs with."""
    env = dict(os.environ)
    env.update(
        PLATFORMIO_CORE_DIR=str(core_dir()),
        # A core dir older than the check interval makes every run try the network (~60 s offline).
        PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="36500",
        PLATFORMIO_SETTING_ENABLE_TELEMETRY="no",
        PLATFORMIO_DISABLE_PROGRESSBAR="true",
    )
    # PlatformIO looks for its own executables next to the interpreter running it.
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def ensure() -> Path:
    """Create (idempotently) the core dir with the tool-scons package registered."""
    try:
        import SCons  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the pinned dependency set includes scons
        raise RuntimeError("SCons is not installed in this environment: run scripts/setup.sh") from exc
    pkg = core_dir() / "packages" / "tool-scons"
    pkg.mkdir(parents=True, exist_ok=True)
    files = {
        "scons.py": _SCONS_LAUNCHER,
        "package.json": json.dumps(
            {"name": "tool-scons", "version": SCONS_PACKAGE_VERSION, "system": "*"}, indent=2
        ),
        ".piopm": json.dumps(
            {
                "type": "tool",
                "name": "tool-scons",
                "version": SCONS_PACKAGE_VERSION,
                "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                         "requirements": None, "uri": None},
            }
        ),
    }
    for name, text in files.items():
        path = pkg / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    _link_platform()
    return core_dir()


def platform_dir() -> Path:
    """tinyc's PlatformIO platform, as generated projects name it (``platform = symlink://...``)."""
    return (paths.firmware_dir() / "platform").resolve()


def _link_platform() -> None:
    """Register tinyc's platform in the core before any build, written atomically. Left to PlatformIO, the
    first builds of a run each write ``platforms/platform.pio-link`` (truncate, then write) while the others
    read it, and one of them fails with UnknownPlatform; a link left pointing at another checkout's platform
    is rewritten the same way."""
    link = core_dir() / "platforms" / "platform.pio-link"
    uri = f"symlink://{platform_dir()}"
    try:
        if json.loads(link.read_text())["spec"]["uri"] == uri:
            return
    except (OSError, ValueError, KeyError, TypeError):
        pass
    link.parent.mkdir(parents=True, exist_ok=True)
    record = {"cwd": str(platform_dir()), "spec": {"owner": None, "id": None, "name": "platform",
                                                   "requirements": None, "uri": uri}}
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, link)


if __name__ == "__main__":
    print(f"tinyc setup: PlatformIO core ready at {ensure()}")
