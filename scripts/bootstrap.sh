#!/usr/bin/env bash
# Create or update the project environment in .venv/ (Python 3.10, as Rasa 3.6.21 requires).
# Idempotent: when pyproject.toml and constraints.txt are unchanged since the last install it
# returns in well under a second. Finds Python 3.10 on PATH, then in pyenv, then via uv.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.tier1-install-stamp"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/tier1" ]; then
  exit 0
fi

is310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

find_python() {
  local c
  for c in "${TIER1_PYTHON:-}" python3.10 python3 python; do
    if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && is310 "$(command -v "$c")"; then
      command -v "$c"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local root v
    root=$(pyenv root)
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
      if is310 "$root/versions/$v/bin/python3.10"; then echo "$root/versions/$v/bin/python3.10"; return 0; fi
    done
  fi
  if command -v uv >/dev/null 2>&1; then
    c=$(uv python find 3.10 2>/dev/null || true)
    if is310 "$c"; then echo "$c"; return 0; fi
  fi
  return 1
}

if [ ! -x "$VENV/bin/python" ] || ! is310 "$VENV/bin/python"; then
  if ! PY=$(find_python); then
    cat >&2 <<'MSG'
tier1 needs Python 3.10 (Rasa 3.6.21 does not run on 3.11+), and none was found
on PATH, in pyenv or through uv. Install one of:
  pyenv install 3.10        # then re-run this command
  uv python install 3.10    # or: apt-get install python3.10 python3.10-venv
or point TIER1_PYTHON at a Python 3.10 interpreter.
MSG
    exit 1
  fi
  echo "tier1: creating $VENV with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

echo "tier1: installing dependencies into $VENV (first time: a few minutes, mostly torch and TensorFlow)"
# -c pins the whole resolved set, so pip installs in one pass instead of backtracking.
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev]'
echo "$want" > "$STAMP"
echo "tier1: environment ready"
