"""Shared test set-up: markers, the hardware-in-the-loop options, and CI strictness.

In CI (CI=true) a missing emulator or cross compiler is a failure, never a skip: the
`require_tool` helper enforces that. Hardware tests skip unless --hil-port is given.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_addoption(parser):
    group = parser.getgroup("tinyc hardware-in-the-loop")
    group.addoption("--hil-port", default=None, help="serial port of a real board, e.g. /dev/ttyACM0")
    group.addoption("--hil-board", default=None, help="board id of the board on --hil-port")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--hil-port"):
        return
    skip = pytest.mark.skip(reason="hardware test: pass --hil-port PORT --hil-board ID to run it on a board")
    for item in items:
        if "hil" in item.keywords:
            item.add_marker(skip)


def require_tool(name: str) -> str:
    """The path of an external tool; skip without it locally, fail without it in CI."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (scripts/setup.sh installs it)"
    if IN_CI:
        pytest.fail(message + "; CI must not skip emulator/toolchain tests")
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def _offline_dataset_homes(tmp_path_factory):
    """Keras and scikit-learn must never download: point their homes at temp dirs."""
    home = tmp_path_factory.mktemp("dataset-homes")
    os.environ.setdefault("KERAS_HOME", str(home / "keras"))
    os.environ.setdefault("SCIKIT_LEARN_DATA", str(home / "sklearn"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    yield
