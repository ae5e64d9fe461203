"""Where tinyc's own files are: templates/, boards/ and firmware/, from a checkout or an installed wheel.

In a source checkout they sit beside the package; in a wheel, setuptools maps them into
``tinyc/data/`` (see pyproject.toml). Everything else asks this module.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def _root() -> Path:
    checkout = _PACKAGE.parent
    if (checkout / "boards").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout
    return _PACKAGE / "data"


def templates_dir() -> Path:
    return _root() / "templates"


def boards_dir() -> Path:
    """TINYC_BOARDS_DIR points tinyc at a folder of your own board files."""
    override = os.environ.get("TINYC_BOARDS_DIR")
    return Path(override) if override else _root() / "boards"


def firmware_dir() -> Path:
    return _root() / "firmware"



def cache_dir() -> Path:
    """Writable cache: beside a checkout (.tinyc-cache), else the XDG cache."""
    override = os.environ.get("TINYC_CACHE_DIR")
    if override:
        return Path(override)
    if _root() != _PACKAGE / "data":
        return _root() / ".tinyc-cache"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinyc"
