"""Fixtures that generate projects from this template (through cookiecutter's API or its CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one thread per test process (pytest -n: one process per core), set before torch starts;
    # the projects' runs and test suites inherit it
    os.environ["OMP_NUM_THREADS"] = "1"

import pytest
from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_SLUG = "my-vision-project"
DEFAULT_PACKAGE = "my_vision_project"

# Keep cookiecutter's clones and replay files out of the user's home folder (CLI calls inherit it).
_HOME = Path(tempfile.mkdtemp(prefix="cookiecutter-home-"))
(_HOME / "config.yaml").write_text(
    f"cookiecutters_dir: {_HOME / 'clones'}\nreplay_dir: {_HOME / 'replay'}\n")
os.environ["COOKIECUTTER_CONFIG"] = str(_HOME / "config.yaml")


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: the cores this process may use (xdist would count physical cores, which is 1
    on many 2-vCPU machines)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def pytest_collection_modifyitems(items: list) -> None:
    """The longest test first (the generated project's whole suite, itself in parallel): the
    other test process works through the rest meanwhile instead of waiting for it at the end."""
    items.sort(key=lambda item: item.name != "test_the_generated_test_suite_passes")


def generate(output_dir: Path, template: Path = REPO, **answers: str | bool) -> Path:
    """Generate a project with the default answers except ``answers``; return its folder."""
    return Path(cookiecutter(str(template), no_input=True, extra_context=answers,
                             output_dir=str(output_dir)))


def cookiecutter_cli(*args: str, cwd: Path, stdin: str | None = None,
                     env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``env``: variables to set on top of this process's environment."""
    return subprocess.run([str(BIN / "cookiecutter"), *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


# One interpreter per render for two checks: every module of the package imports (with only the
# chosen parts' files there), then pytest runs in the same process (a second interpreter would
# import torch and Lightning again: 5-15 s per render on two busy cores).
_IMPORT_ALL_THEN_PYTEST = """\
import importlib, sys
split = sys.argv.index("--")
for name in sys.argv[1:split]:
    importlib.import_module(name)
import pytest
sys.exit(pytest.main(sys.argv[split + 1:]))
"""


def package_modules(project: Path) -> list[str]:
    src = project / "src"
    return sorted(".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
                  for p in src.rglob("*.py") if p.name != "__main__.py")


def imports_then_pytest(project: Path, *pytest_args: str, python: Path | str = sys.executable,
                        env: dict[str, str] | None = None,
                        timeout: int = 900) -> subprocess.CompletedProcess:
    """Import every module of ``project``'s package, then ``pytest *pytest_args`` in the
    project, in one process (a module that does not import fails first, with its traceback)."""
    return subprocess.run([str(python), "-c", _IMPORT_ALL_THEN_PYTEST, *package_modules(project),
                           "--", "-p", "no:cacheprovider", *pytest_args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout)


def project_files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    """One project with every default answer, shared by tests that only read it."""
    return generate(tmp_path_factory.mktemp("default"))
