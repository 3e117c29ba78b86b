"""scripts/_env.sh: every step of setting up says what it does in one line, and a failed pip
install stops the script with pip's own output (it used to be swallowed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

VENV = Path(sys.executable).parent.parent  # the environment running these tests


def source_env(commands: str) -> subprocess.CompletedProcess:
    script = f'source "{REPO}/scripts/_env.sh"\n{commands}'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()),
                               "VENV": str(VENV)})


def test_each_step_is_one_line_with_a_count():
    result = source_env('pip_install "pytest (already there)" --no-index pytest')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"== using the virtual environment {VENV}",
        "== installing pytest (already there)",
        result.stdout.splitlines()[-1],
    ]
    last = result.stdout.splitlines()[-1]
    assert last.startswith("   0 packages collected, 0 installed in ") and last.endswith(" s")


def test_a_failed_install_stops_the_script_with_pip_s_output():
    result = source_env('pip_install "a package that does not exist" --no-index '
                        'no-such-package-for-this-test\necho "never reached"')
    assert result.returncode != 0
    assert "never reached" not in result.stdout
    assert "no-such-package-for-this-test" in result.stderr  # pip's own words
    assert result.stderr.rstrip().splitlines()[-1].startswith(
        "error: installing a package that does not exist failed (pip exit status")
