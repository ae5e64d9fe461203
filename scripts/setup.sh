#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian 12 machine: Debian packages, a virtual environment
# with the pinned Python stack, and the offline PlatformIO core. A second run only checks.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${TINYC_VENV:-$ROOT/.venv}
APT_PKGS=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm binutils-arm-none-eabi openocd bossa-cli)
# the host compiler and CMake: generated code run on the host; tinyc generate --format cmake's test project
APT_PKGS+=(gcc cmake)

# tinyc fit --storage postgresql:// (and its test's throwaway server); headless Chromium opens report.html in tests
APT_PKGS+=(postgresql chromium)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "tinyc setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "tinyc setup: missing Debian packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

PY=$(command -v python3.11 || command -v python3)
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "tinyc setup: Python 3.11 is required (found $("$PY" --version 2>&1) at $PY)" >&2
  exit 1
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"

# Reinstall only when the pins change.
want=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)
if [ "$(cat "$VENV/.tinyc-installed" 2>/dev/null)" != "$want" ]; then
  echo "tinyc setup: installing the Python stack into $VENV (about a minute)"
  # (grep drops pip's notes about this machine's unused local index folders)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip==25.3" \
    2> >(grep -v "^WARNING: Location 'file://" >&2)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[dev]" \
    2> >(grep -v "^WARNING: Location 'file://" >&2)
  echo "$want" >"$VENV/.tinyc-installed"
fi

"$VENV/bin/python" -m tinyc.deploy.piocore
