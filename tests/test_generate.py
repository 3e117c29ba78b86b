"""Generation: file sets, rendered content and lint, for every value of every option."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from itertools import product
from pathlib import Path

import pytest
import tomllib
import yaml

from conftest import BIN, DEFAULT_PACKAGE, REPO, generate, project_files

CHOICES = {k: v for k, v in json.loads((REPO / "cookiecutter.json").read_text()).items()
           if isinstance(v, list)}
EXPECTED_DEFAULT_FILES = set((REPO / "tests/data/default_files.txt").read_text().split())
# Files that only some answers keep (the post-generation hook prunes the others).
OPTIONAL_FILES = {"github_actions": {".github/workflows/ci.yml"}, "license": {"LICENSE"}}
LEFTOVER = re.compile(r"\{\{|\{%|\{#|cookiecutter", re.IGNORECASE)


def expected_files(github_actions: bool = True, license: str = "MIT") -> set[str]:
    files = set(EXPECTED_DEFAULT_FILES)
    if not github_actions:
        files -= OPTIONAL_FILES["github_actions"]
    if license == "Proprietary":
        files -= OPTIONAL_FILES["license"]
    return files


def ruff_check(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "--output-format",
                           "concise", "."], cwd=project, capture_output=True, text=True)


def assert_clean_render(project: Path) -> None:
    """No template syntax or template-tool name left in any file name or file content."""
    for path in project.rglob("*"):
        assert not LEFTOVER.search(path.name), path
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            match = LEFTOVER.search(text)
            context = text[max(0, match.start() - 60):match.end() + 60] if match else ""
            assert match is None, f"{path}: ...{context}..."


def test_default_project_has_exactly_the_expected_files(default_project):
    files = project_files(default_project)
    assert files == EXPECTED_DEFAULT_FILES, (
        f"unexpected: {sorted(files - EXPECTED_DEFAULT_FILES)}, "
        f"missing: {sorted(EXPECTED_DEFAULT_FILES - files)}")


def test_default_project_is_rendered_linted_and_well_formed(default_project):
    assert default_project.name == "my-vision-project"
    assert_clean_render(default_project)
    result = ruff_check(default_project)
    assert result.returncode == 0, result.stdout + result.stderr
    # formatted as its pre-commit hook formats: `pre-commit run --all-files` changes nothing
    formatted = subprocess.run([str(BIN / "ruff"), "format", "--check", "--no-cache", "."],
                               cwd=default_project, capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "my-vision-project"
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        f"src/{DEFAULT_PACKAGE}"]
    for config in (default_project / "configs").rglob("*.yaml"):
        yaml.safe_load(config.read_text())  # valid YAML
    for script in default_project.rglob("*.py"):
        compile(script.read_text(), str(script), "exec")


# Releases that must never be installed: malicious uploads, with the advisory that says so.
KNOWN_BAD = {"lightning": (["2.6.2", "2.6.3"], "GHSA-w37p-236h-pfx3")}


@pytest.mark.parametrize("pyproject_path", ["generated", "template-tooling"])
def test_known_bad_releases_are_excluded(default_project, pyproject_path):
    from packaging.requirements import Requirement

    path = (default_project if pyproject_path == "generated" else REPO) / "pyproject.toml"
    pyproject = tomllib.loads(path.read_text())
    requirements = [Requirement(r) for r in (pyproject["project"]["dependencies"]
                                             if pyproject_path == "generated"
                                             else pyproject["dependency-groups"]["test"])]
    for package, (versions, advisory) in KNOWN_BAD.items():
        [requirement] = [r for r in requirements if r.name == package]
        for version in versions:
            assert version not in requirement.specifier, f"{package}=={version}: {advisory}"
        assert "2.6.1" in requirement.specifier and "2.6.6" in requirement.specifier
    assert "GHSA-w37p-236h-pfx3" in path.read_text()  # the reason stays next to the exclusion


# Every value of every option, each combined with every value of the option it interacts with:
# the license with the CI switch (both prune files), the logger with the Python version (both
# end up in pyproject.toml).
PAIRS = [*product(CHOICES["license"], [True, False], [CHOICES["default_logger"][0]],
                  [CHOICES["python_version"][0]]),
         *product([CHOICES["license"][0]], [True], CHOICES["default_logger"],
                  CHOICES["python_version"])]


@pytest.mark.parametrize(("license", "github_actions", "logger", "python"), PAIRS,
                         ids=[f"{a}-ci_{b}-{c}-py{d}" for a, b, c, d in PAIRS])
def test_every_option_value(tmp_path, license, github_actions, logger, python):
    project = generate(tmp_path, license=license, github_actions=github_actions,
                       default_logger=logger, python_version=python)
    assert project_files(project) == expected_files(github_actions, license)
    assert_clean_render(project)
    lint = ruff_check(project)
    assert lint.returncode == 0, lint.stdout

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={python}"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{python.replace('.', '')}"
    assert ("license" in pyproject["project"]) == (license != "Proprietary")
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert {"logger": logger} in train["defaults"]
    dependencies = " ".join(pyproject["project"]["dependencies"])
    for extra in ("tensorboard", "wandb", "mlflow"):
        assert (extra in dependencies) == (extra == logger)
        assert extra in pyproject["project"]["optional-dependencies"]
    if github_actions:
        workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
        steps = workflow["jobs"]["test"]["steps"]
        assert any(s.get("with", {}).get("python-version") == python for s in steps)
    if license != "Proprietary":
        text = (project / "LICENSE").read_text()
        assert "Your Name" in text
        assert {"MIT": "MIT License", "BSD-3-Clause": "BSD 3-Clause",
                "Apache-2.0": "Apache License, Version 2.0"}[license] in text


@pytest.mark.parametrize("task", yaml.safe_load((REPO / "manifest.yaml").read_text())["tasks"])
def test_every_task_value(tmp_path, task):
    """Each task, in a project of every task: rendered, linted, made the default of train.py."""
    project = generate(tmp_path, tasks="all", default_task=task)
    assert_clean_render(project)
    lint = ruff_check(project)
    assert lint.returncode == 0, lint.stdout
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert {"task": task} in train["defaults"]
    assert (project / "configs" / "task" / f"{task}.yaml").is_file()


def test_custom_names_reach_every_file(tmp_path):
    project = generate(tmp_path, project_name="Cats vs Dogs", author_name="Ada Lovelace",
                       author_email="ada@example.org", description='Tells "cats" from dogs.')
    assert project.name == "cats-vs-dogs"
    package = project / "src" / "cats_vs_dogs"
    assert (package / "__init__.py").is_file()
    assert not (project / "src" / DEFAULT_PACKAGE).exists()
    assert "cats_vs_dogs.training.run" in (project / "train.py").read_text()
    digits_config = (project / "configs/data/digits.yaml").read_text()
    assert "_target_: cats_vs_dogs.data.digits" in digits_config
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == 'Tells "cats" from dogs.'
    assert pyproject["project"]["authors"] == [{"name": "Ada Lovelace",
                                                "email": "ada@example.org"}]
    assert "# Cats vs Dogs" in (project / "README.md").read_text()
    assert_clean_render(project)
    assert ruff_check(project).returncode == 0


def test_answers_with_backslashes_and_quotes_stay_valid_everywhere(tmp_path):
    """Free-text answers land in TOML, YAML and Python strings: each file parses and reads the
    answer back exactly."""
    answers = {"project_name": 'Lab \\ "Q"', "project_slug": "lab-q", "package_name": "lab_q",
               "author_name": 'A\\B "C" \'D\'', "author_email": "a\\b@example.org",
               "description": 'Paths like C:\\data\\new, "quoted" and \'single\' \\" end\\'}
    project = generate(tmp_path, **answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == answers["description"]
    assert pyproject["authors"] == [{"name": answers["author_name"],
                                     "email": answers["author_email"]}]
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for key, value in answers.items():
        assert recorded[key] == value, key
    init = project / "src" / "lab_q" / "__init__.py"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an invalid escape sequence is a SyntaxWarning
        docstring = compile(init.read_text(), str(init), "exec").co_consts[0]
    assert docstring.startswith(answers["project_name"] + ".")
    assert " ".join(answers["description"].split()) in " ".join(docstring.split())
    for path in project.rglob("*.y*ml"):  # every YAML file the project holds still parses
        list(yaml.safe_load_all(path.read_text()))
    assert ruff_check(project).returncode == 0


@pytest.mark.parametrize("package", ["lab", "a" + "_long_name" * 3 + "_fits_in", "zz_last"])
def test_explicit_slug_and_package_name(tmp_path, package):
    """Short and longest names both lint clean; names sorting before or after the test helpers
    keep the import blocks sorted."""
    project = generate(tmp_path, project_slug="digits-lab", package_name=package, tasks="all",
                       features="all")
    assert project.name == "digits-lab"
    assert (project / f"src/{package}/training/run.py").is_file()
    lint = ruff_check(project)
    assert lint.returncode == 0, lint.stdout


def test_template_files_are_all_text_and_tracked():
    """No binary or cache file sneaks into template/ (Jinja would fail on it at generation)."""
    for path in (REPO / "template").rglob("*"):
        assert "__pycache__" not in path.parts and path.suffix not in {".pyc", ".ckpt"}, path
        if path.is_file():
            path.read_text(encoding="utf-8")


def test_python_files_of_the_template_repo_pass_ruff():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
