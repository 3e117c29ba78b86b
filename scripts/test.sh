#!/usr/bin/env bash
# The whole test suite (template + generated projects, slow tests included).
#   bash scripts/test.sh [PYTEST_ARGS...]    e.g. -m "not slow" for the quick part only
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"

install_torch
install_group test
cd "$REPO"
exec "$PY" -m pytest "$@"
