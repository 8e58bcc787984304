#!/usr/bin/env bash
# Idempotent: creates target/interop-venv (relative to the repo root) with gitpod-sdk==0.11.0
# and prints the venv's python path on stdout (last line). Works from any cwd.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$root/target/interop-venv"
py="$venv/bin/python"
want="0.11.0"
req="$here/requirements.txt"

installed_version() {
  "$py" -m pip show gitpod-sdk 2>/dev/null | sed -n 's/^Version: //p'
}

if [ -x "$py" ] && [ "$(installed_version)" = "$want" ]; then
  echo "$py"
  exit 0
fi

python="${PYTHON:-python3}"
if [ ! -x "$py" ]; then
  "$python" -m venv "$venv" >&2
fi

if [ -f "$req" ]; then
  # Reproducible: exact pins for gitpod-sdk and every transitive dependency.
  "$py" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
else
  "$py" -m pip install --quiet --disable-pip-version-check "gitpod-sdk==$want" >&2
  "$py" -m pip freeze --disable-pip-version-check > "$req"
fi

v="$(installed_version)"
if [ "$v" != "$want" ]; then
  echo "setup.sh: expected gitpod-sdk $want, found '${v:-none}'" >&2
  exit 1
fi
echo "$py"
