#!/usr/bin/env bash
# Sets up the Python peer for the interop tests (crates/ws-std/tests/interop_python.rs).
#
# Contract: creates the venv interop/.venv (once), installs interop/python/requirements.txt
# into it (again only when that file changed), and prints the absolute path of the venv's
# python as the LAST line of stdout; everything else goes to stderr. So:
#
#   export WS_INTEROP_PYTHON="$(interop/setup.sh)"
#   cargo test -p ws-std --test interop_python
#
# Needs python3 (>= 3.9) with venv/ensurepip and access to PyPI; no stdin. Set PYTHON to use
# another interpreter. Idempotent: a second run does no network access and takes well under
# a second.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
requirements="$here/python/requirements.txt"
stamp="$venv/.installed-requirements"
python="$venv/bin/python"

# A venv whose interpreter vanished (the base python was removed) is rebuilt from scratch.
if ! "$python" -c '' >/dev/null 2>&1; then
    "${PYTHON:-python3}" -m venv --clear "$venv" >&2
    rm -f "$stamp"
fi

if ! cmp -s "$requirements" "$stamp"; then
    PIP_NO_INPUT=1 "$python" -m pip install --quiet --disable-pip-version-check \
        -r "$requirements" >&2
    cp "$requirements" "$stamp"
fi

echo "$python"
