# Sourced by the other scripts: creates (once) and updates the virtual environment they share.
#
# The environment lives outside the repository on purpose: cookiecutter copies the whole
# template repository to a temporary folder before generating, and a multi-GB .venv inside it
# would be copied on every generation. Override the location with VENV=/path/to/venv.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lightning-hydra-workflow-template/venv}"
PYTHON="${PYTHON:-python3}"
# The tested PyTorch pair; set TORCH_SPEC to install another one (e.g. a CPU-only build).
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# install_group NAME: the packages of [dependency-groups] NAME in pyproject.toml
install_group() {
    local requirements
    requirements="$(mktemp)"
    "$PY" - "$REPO/pyproject.toml" "$1" > "$requirements" <<'PYCODE'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["dependency-groups"][sys.argv[2]]))
PYCODE
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$requirements" 2>&1 \
        | grep -v "^WARNING: Location" || true
    rm -f "$requirements"
}

install_torch() {
    # shellcheck disable=SC2086  # TORCH_SPEC is a list of requirements
    "$PY" -m pip install --quiet --disable-pip-version-check $TORCH_SPEC 2>&1 \
        | grep -v "^WARNING: Location" || true
}
