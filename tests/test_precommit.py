"""The generated project's pre-commit configuration: valid, pinned, and its file checks pass on a
freshly generated project (the hooks' own entry points, so no network is needed)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from conftest import BIN, generate, project_files


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    # a project of its own: the fixers rewrite files when they find something
    return generate(tmp_path_factory.mktemp("precommit"))


def hook(name: str, *args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], cwd=cwd, capture_output=True, text=True)


def test_config_is_valid_and_every_revision_is_pinned(project):
    result = hook("pre-commit", "validate-config", ".pre-commit-config.yaml", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"] for repo in config["repos"] for h in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "end-of-file-fixer", "check-yaml"} <= hooks
    for repo in config["repos"]:
        assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"]), repo  # a release tag, not a branch


def test_file_hooks_pass_on_a_fresh_project(project):
    files = sorted(project_files(project))
    yaml_files = [f for f in files if f.endswith((".yaml", ".yml"))]
    assert "configs/train.yaml" in yaml_files  # Hydra's ${...} and @package lines are plain YAML
    for name, args in [("check-yaml", yaml_files), ("check-toml", ["pyproject.toml"]),
                       ("end-of-file-fixer", files),
                       ("trailing-whitespace-fixer", ["--markdown-linebreak-ext=md", *files])]:
        result = hook(name, *args, cwd=project)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
