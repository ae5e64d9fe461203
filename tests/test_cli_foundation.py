"""The CLI's shape and its start-up cost, tested structurally (modules imported), not with a stopwatch."""

from __future__ import annotations

import subprocess
import sys

from tinyc import __version__, paths


def test_version_and_help():
    r = subprocess.run([sys.executable, "-m", "tinyc.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and __version__ in r.stdout
    r = subprocess.run([sys.executable, "-m", "tinyc.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "boards" in r.stdout and "--verbose" in r.stdout and "--quiet" in r.stdout


def test_boards_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from tinyc.cli import cli\n"
        "r = CliRunner().invoke(cli, ['boards'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('tensorflow', 'tf_keras', 'tensorflow_model_optimization', 'keras') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_resources_are_found_from_the_checkout():
    assert (paths.boards_dir() / "nucleo-f746.toml").is_file()
    assert (paths.templates_dir() / "project" / "linker.ld.j2").is_file()
    assert (paths.firmware_dir() / "platform" / "platform.json").is_file()
