"""Write docs/operators.md from the operator declarations (tinyc/operators/)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyc.operators._table import markdown  # noqa: E402

if __name__ == "__main__":
    (ROOT / "docs" / "operators.md").write_text(markdown())
    print("wrote docs/operators.md")
