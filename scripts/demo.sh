#!/usr/bin/env bash
# The README's main command: the whole pipeline on the bundled example model and the default board.
# With no board attached (TINYC_PORT unset) the board's firmware runs on its emulated stand-in in QEMU.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export TF_USE_LEGACY_KERAS=1
MODEL=${MODEL:-examples/digits/digits_cnn.keras}
BOARD=${BOARD:-nucleo-f746}
OUT=${OUT:-out/demo-$BOARD}

where=(--emulate)
if [ -n "${TINYC_PORT:-}" ]; then
  where=(--port "$TINYC_PORT")
fi
# optimize (int8, pruned 50% + 16 clusters) -> check -> generate -> build -> run -> bench -> validate
# (--test-data: every test sample through the firmware, outputs compared with the TFLite Micro interpreter)
.venv/bin/tinyc build "$MODEL" --board "$BOARD" "${where[@]}" -o "$OUT" --force \
  --data examples/digits/train.npz --calibration-data examples/digits/calibration.npz \
  --test-data examples/digits/test.npz --prune 0.5 --cluster 16
