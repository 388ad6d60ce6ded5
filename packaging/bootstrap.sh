#!/usr/bin/env bash
# Sets up everything Switchboard needs on Debian: system packages (through apt-get when run as
# root, otherwise one message naming what is missing) and a .venv with the project installed.
# Used by `make demo`, `make test` and `make bench`; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${1:-test}"

# Runtime: espeak-ng speaks (and is the voice catalogue), libopus0 is the Opus codec (opuslib),
# Qt needs GL/EGL, fonts, xkb and xcb for a real window. Tests add real SIP peers, Xvfb and an
# audio server with null devices; libxtst6 lets the real-window test click through XTEST.
APT_RUNTIME=(espeak-ng libespeak-ng1 libopus0 libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0
  libfontconfig1 fonts-dejavu-core libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4
  libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-xfixes0 libxcb-xkb1 libpulse0)
APT_TEST=(sip-tester baresip kamailio sox xvfb libxtst6 pulseaudio asterisk-core-sounds-en-wav asterisk-core-sounds-en)

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "switchboard: Python 3.11 or newer is needed (apt-get install python3)" >&2
  exit 1
fi

wanted=("${APT_RUNTIME[@]}")
[ "$EXTRAS" = "test" ] && wanted+=("${APT_TEST[@]}")
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || wanted+=(python3-venv)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "switchboard: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "switchboard: missing system packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
echo "switchboard: environment ready (.venv)"
