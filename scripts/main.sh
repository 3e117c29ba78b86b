#!/usr/bin/env bash
# The main job: generate a project with the default answers, install it, check that the model can
# overfit one batch, then train on all of the embedded default data set and test.
#   bash scripts/main.sh [OUTPUT_DIR]      (default: build/)
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"

OUTPUT_DIR="$(mkdir -p "${1:-$REPO/build}" && cd "${1:-$REPO/build}" && pwd)"
install_torch
install_group generate   # the project's own dependencies come from its pyproject.toml below
PROJECT="$OUTPUT_DIR/my-vision-project"
step "generating the default project into $PROJECT"
"$VENV/bin/cookiecutter" --no-input --overwrite-if-exists "$REPO" --output-dir "$OUTPUT_DIR"
pip_install "the project and its [dev] extras" -e "$PROJECT[dev]"

cd "$PROJECT"
step "$PROJECT: python train.py mode=overfit"
"$PY" train.py mode=overfit
step "$PROJECT: python train.py"
"$PY" train.py
