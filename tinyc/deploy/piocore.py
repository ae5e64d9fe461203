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

try:
    from SCons.Script import main
except ImportError:
    sys.stderr.write("Error: the Python running PlatformIO (%s) has no SCons; install it with: %s -m pip install "
                     "scons==4.11.1 (tinyc's scripts/setup.sh does it in tinyc's virtual environment)\\n"
                     % (sys.executable, sys.executable))
    sys.exit(1)

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


def scons_package() -> dict[str, str]:
    """The files that register the SCons pip installed as PlatformIO's ``platformio/tool-scons`` package."""
    return {
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


def ensure() -> Path:
    """Create (idempotently) the core dir with the tool-scons package registered."""
    try:
        import SCons  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the pinned dependency set includes scons
        raise RuntimeError("SCons is not installed in this environment: run scripts/setup.sh") from exc
    pkg = core_dir() / "packages" / "tool-scons"
    pkg.mkdir(parents=True, exist_ok=True)
    for name, text in scons_package().items():
        path = pkg / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    _link_platform()
    return core_dir()


# A generated project's own PlatformIO core (``core_dir`` in its platformio.ini), so that plain ``pio run`` builds
# it offline with no environment variable, wherever the project is copied: SCons registered as above, tinyc's
# platform installed (a copy, found by its name), and the settings tinyc passes in the environment to its own calls.
PROJECT_CORE = "pio-core"
# PlatformIO's once-a-week update check and once-a-month prune, already "done" until then (each run of a core whose
# last check is older tries the network: about 60 s offline); the time is fixed so the file is the same every time.
_NEVER = 4102444800  # 2100-01-01


def platform_name() -> str:
    """The name in tinyc's platform.json, by which a project names it (``platform = tinyc-cortexm``)."""
    return json.loads((platform_dir() / "platform.json").read_text())["name"]


def platform_files() -> dict[str, Path]:
    """tinyc's platform as a project carries it: its manifest and builder scripts (path in the platform -> file)."""
    root = platform_dir()
    return {"platform.json": root / "platform.json",
            **{f"builder/{f.name}": f for f in sorted((root / "builder").glob("*.py"))}}


def project_core() -> dict[str, str | Path]:
    """The files of a project's own core (path in the core -> text, or the file to copy)."""
    import platformio

    manifest = json.loads((platform_dir() / "platform.json").read_text())
    files: dict[str, str | Path] = {f"packages/tool-scons/{n}": t for n, t in scons_package().items()}
    name = manifest["name"]
    files.update({f"platforms/{name}/{n}": f for n, f in platform_files().items()})
    files[f"platforms/{name}/.piopm"] = json.dumps(
        {"type": "platform", "name": name, "version": manifest["version"],
         "spec": {"owner": None, "id": None, "name": name, "requirements": None, "uri": None}})
    files["appstate.json"] = json.dumps(
        {"last_version": platformio.__version__,
         "last_check": {"platformio_upgrade": _NEVER, "prune_system": _NEVER},
         "settings": {"check_platformio_interval": 36500, "enable_telemetry": False}}, indent=1)
    return files


def platform_dir() -> Path:
    """tinyc's PlatformIO platform (registered in the private core by name; a project carries a copy)."""
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
