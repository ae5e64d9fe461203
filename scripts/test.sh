#!/usr/bin/env bash
# The whole test suite, in parallel on the machine's cores. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export TF_USE_LEGACY_KERAS=1
exec .venv/bin/python -m pytest -n auto --dist loadfile "$@"
