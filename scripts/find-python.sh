#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or explain and fail.
# Order: $PYTHON, python3.13/python3.12/python3 on PATH, pyenv's versions
# ($PYENV_ROOT or ~/.pyenv), `pyenv which python3.12`.
set -euo pipefail

ok() { # $1 = interpreter; true when it runs and is >= 3.12
    [[ -n "$1" && -x "$1" ]] || return 1
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

candidates=()
[[ -n "${PYTHON:-}" ]] && candidates+=("$(command -v "$PYTHON" || echo "$PYTHON")")
for name in python3.12 python3.13 python3.14 python3; do
    p="$(command -v "$name" 2>/dev/null || true)"
    [[ -n "$p" ]] && candidates+=("$p")
done
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
for p in $(ls -d "$pyenv_root"/versions/3.12*/bin/python3 2>/dev/null | sort -rV) \
    $(ls -d "$pyenv_root"/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -V); do
    candidates+=("$p")
done
if command -v pyenv >/dev/null 2>&1; then
    p="$(pyenv which python3.12 2>/dev/null || true)"
    [[ -n "$p" ]] && candidates+=("$p")
fi

for c in "${candidates[@]+"${candidates[@]}"}"; do
    # pyenv shims exit non-zero when the version is not installed: ok() catches it
    if ok "$c"; then
        # resolve a pyenv shim to the real interpreter so .venv does not depend on the shim
        real="$("$c" -c 'import sys; print(sys.executable)')"
        echo "${real:-$c}"
        exit 0
    fi
done

cat >&2 <<EOF
ERROR: no Python 3.12+ found (Django 6.1 needs it).
Looked at: \$PYTHON, python3.12/python3.13/python3 on PATH, $pyenv_root/versions/3.12*, 'pyenv which python3.12'.
Install one, e.g. 'pyenv install 3.12' (the repo's .python-version selects 3.12), then re-run make.
EOF
exit 1
