"""Firmware builds for the real boards, shared by the port, upload and Renode tests.

Each (board, app) is built once per test process, two at a time (the CI machine has two cores),
into a temporary directory."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from tests import fixture_model as fm
from tinyc import paths
from tinyc.boards import all_boards, get_board
from tinyc.deploy.platformio import Firmware, build
from tinyc.deploy.project import render_harness_project, render_project

HELLO = paths.firmware_dir() / "apps" / "hello" / "main.c"
HARNESS = paths.firmware_dir() / "apps" / "harness" / "main.c"
REAL_BOARDS = sorted(b.id for b in all_boards().values() if b.kind == "real")
APPS = ("hello", "harness") if HARNESS.is_file() else ("hello",)


@cache
def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tinyc-real-builds-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@cache
def firmware(board_id: str, app: str) -> Firmware:
    board = get_board(board_id)
    out = _root() / f"{board_id}-{app}"
    if app == "hello":
        project = render_project(out, board, [HELLO], emulate=False)
    else:
        project = render_harness_project(out, board, fm.SOURCES, fm.INCLUDE_DIRS, fm.INPUT_BYTES, emulate=False)
    return build(project)


def build_all(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Firmware | Exception]:
    """Build every (board, app) pair, two at a time; a failure is kept as its exception."""

    def one(pair):
        try:
            return pair, firmware(*pair)
        except Exception as exc:  # reported by the test that looks at this pair
            return pair, exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, pairs))
