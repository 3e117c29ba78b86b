# Sourced by the other scripts: creates (once) and updates the virtual environment they share.
#
# The environment lives outside the repository on purpose: cookiecutter copies the whole
# template repository to a temporary folder before generating, and a multi-GB .venv inside it
# would be copied on every generation. Override the location with VENV=/path/to/venv.
#
# Each step says what it does in one line (installing takes minutes on a fresh machine): pip's
# packages are counted as it collects them (on a terminal the count is rewritten in place), then
# how many it installed and how long it took. pip's own output is shown when it fails.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lightning-hydra-workflow-template/venv}"
PYTHON="${PYTHON:-python3}"
# The tested PyTorch pair; set TORCH_SPEC to install another one (e.g. a CPU-only build).
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"

# step MESSAGE: one line saying what happens next
step() {
    echo "== $*"
}

if [ ! -x "$VENV/bin/python" ]; then
    step "creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
else
    step "using the virtual environment $VENV"
fi
PY="$VENV/bin/python"

# pip_install WHAT PIP_ARGS...: pip install, reported as one step with a count of packages
pip_install() {
    local what="$1" log status start=$SECONDS tty=0
    shift
    [ -t 1 ] && tty=1
    step "installing $what"
    log="$(mktemp)"
    set +e
    "$PY" -m pip install --disable-pip-version-check "$@" 2>&1 | tee "$log" | awk -v tty="$tty" '
        /^Collecting / {
            n++
            if (tty) { printf "\r   %d packages collected: %s\033[K", n, $2; fflush() }
        }
        END { if (tty && n) printf "\n" }'
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        grep -v "^WARNING: Location" "$log" | tail -40 >&2
        rm -f "$log"
        echo "error: installing $what failed (pip exit status $status; its output above)" >&2
        return "$status"
    fi
    local installed
    installed="$(grep '^Successfully installed' "$log" | wc -w || true)"
    installed=$(( installed > 2 ? installed - 2 : 0 ))  # the words after "Successfully installed"
    echo "   $(grep -c '^Collecting ' "$log" || true) packages collected, $installed installed" \
        "in $((SECONDS - start)) s"
    rm -f "$log"
}

# install_group NAME: the packages of [dependency-groups] NAME in pyproject.toml
install_group() {
    local requirements
    requirements="$(mktemp)"
    "$PY" - "$REPO/pyproject.toml" "$1" > "$requirements" <<'PYCODE'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["dependency-groups"][sys.argv[2]]))
PYCODE
    pip_install "the $1 tools (pyproject.toml [dependency-groups] $1)" -r "$requirements"
    rm -f "$requirements"
}

install_torch() {
    # shellcheck disable=SC2086  # TORCH_SPEC is a list of requirements
    pip_install "PyTorch ($TORCH_SPEC)" $TORCH_SPEC
}
