"""copier: the same template/ renders the same project, and `copier update` carries a project
forward (three-way merge) whether cookiecutter or copier generated it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy

from conftest import BIN, DEFAULT_SLUG, REPO, generate

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
ANSWERS_FILE = ".copier-answers.yml"
MANIFEST_ORDER = {section: list(entries) for section, entries
                  in yaml.safe_load((REPO / "manifest.yaml").read_text()).items()}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd,
                            capture_output=True, text=True, env={**os.environ, **GIT_IDENTITY})
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def commit(repo: Path, message: str, tag: str | None = None) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    if tag:
        git(repo, "tag", tag)


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """This checkout's files (committed or not, minus ignored ones) as a git repo tagged v1."""
    repo = tmp_path / "template-repo"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    git(repo, "init", "-q")
    commit(repo, "template A", tag="v1")
    return repo


def copier_generate(template: Path, project: Path, **answers) -> Path:
    """What `copier copy --defaults --data k=v ... <template> <project>` does."""
    run_copy(str(template), project, data=answers, defaults=True, quiet=True)
    return project


def tree(project: Path) -> dict[str, str]:
    return {p.relative_to(project).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(project.rglob("*")) if p.is_file() and ".git" not in p.parts}


def empty_folders(project: Path) -> list[Path]:
    return [path for path in project.rglob("*") if path.is_dir() and not any(path.iterdir())
            and ".git" not in path.relative_to(project).parts]


def copier_questions() -> dict:
    """copier.yml as data (its `!include` read as the name of the file it includes)."""
    loader = type("Loader", (yaml.SafeLoader,), {})
    loader.add_constructor("!include", lambda loader, node: loader.construct_scalar(node))
    return yaml.load((REPO / "copier.yml").read_text(), Loader=loader)


def test_copier_questions_match_cookiecutter_prompts():
    prompts = json.loads((REPO / "cookiecutter.json").read_text())
    questions = copier_questions()
    asked = {k for k in prompts if not k.startswith("_")}
    # task_manifest: manifest.yaml, which cookiecutter gets as _task_manifest (hooks/pre_prompt.py)
    assert questions["task_manifest"] == {"type": "yaml", "when": False,
                                          "default": "manifest.yaml"}
    assert asked == {k for k in questions
                     if not k.startswith("_") and k not in ("cookiecutter", "task_manifest")}
    for name in asked:
        default, question = prompts[name], questions[name]
        if isinstance(default, list):  # a choice: same values, same default (the first)
            assert list(question["choices"].values() if isinstance(question["choices"], dict)
                        else question["choices"]) == default, name
            assert question["default"] == default[0], name
        elif name == "tasks":  # comma-separated there, a multi-select here
            assert question["default"] == default.split(","), name
        elif name == "features":  # "none" there, nothing selected here
            assert (default, question["default"]) == ("none", []), name
        elif "{{" not in str(default):
            assert question["default"] == default, name
    # the computed `cookiecutter` value passes every answer on (one `key: {{ ... }}` per line)
    computed = {line.split(":")[0] for line in questions["cookiecutter"]["default"].splitlines()}
    assert computed == asked | {"__year", "__tasks", "__features", "__inputs",
                                "_task_manifest"}


ANSWER_SETS = [
    {},
    {"tasks": ["text", "collab"], "features": ["deploy", "cv"]},
    {"project_name": "Cats vs Dogs", "description": 'Tells "cats" from dogs: 100% sure.',
     "author_name": "Ada O'Hara", "license": "Proprietary", "github_actions": False,
     "default_logger": "wandb", "python_version": "3.12"},
    {"project_slug": "digits-lab", "package_name": "lab", "license": "Apache-2.0",
     "default_logger": "mlflow"},
]


@pytest.mark.parametrize("answers", ANSWER_SETS,
                         ids=["defaults", "two-tasks", "custom", "explicit-names"])
def test_copier_and_cookiecutter_render_the_same_tree(template_repo, tmp_path, answers):
    as_cookiecutter = {key: ",".join(value) if isinstance(value, list) else value
                       for key, value in answers.items()}  # a comma-separated answer there
    by_cookiecutter = generate(tmp_path / "cookiecutter", template=template_repo,
                               **as_cookiecutter)
    by_copier = copier_generate(template_repo, tmp_path / "copier" / by_cookiecutter.name,
                                **answers)
    made_by_cookiecutter, made_by_copier = tree(by_cookiecutter), tree(by_copier)
    # copier creates no folder whose files are all left out (the hook removes empty ones)
    assert empty_folders(by_copier) == [] and empty_folders(by_cookiecutter) == []
    assert sorted(made_by_cookiecutter) == sorted(made_by_copier)
    different = [name for name in made_by_copier if name != ANSWERS_FILE
                 and made_by_cookiecutter[name] != made_by_copier[name]]
    assert different == []
    # the answers files differ in layout only: the same answers, the same source and version
    answers_cookiecutter = yaml.safe_load(made_by_cookiecutter[ANSWERS_FILE])
    answers_copier = yaml.safe_load(made_by_copier[ANSWERS_FILE])
    assert answers_cookiecutter == answers_copier
    assert answers_copier["_commit"] == "v1"
    assert answers_copier["_src_path"] == str(template_repo)
    for key, value in answers.items():
        if key in ("tasks", "features"):  # both tools keep manifest.yaml's order
            assert answers_copier[key] == sorted(value, key=MANIFEST_ORDER[key].index)
        else:
            assert answers_copier[key] == value


@pytest.mark.parametrize("tool", ["cookiecutter", "copier"])
def test_copier_update_keeps_the_users_edit_and_brings_the_template_change(
        template_repo, tmp_path, tool):
    # A: generate, commit, and edit a generated file the way a user would
    if tool == "cookiecutter":
        project = generate(tmp_path / "out", template=template_repo)
    else:
        project = copier_generate(template_repo, tmp_path / "out" / DEFAULT_SLUG)
    git(project, "init", "-q")
    commit(project, "generated at template v1")
    train_yaml = project / "configs/train.yaml"
    original = train_yaml.read_text()
    assert "seed: 42" in original
    train_yaml.write_text(original.replace("seed: 42", "seed: 7"))
    (project / "NOTES.md").write_text("our own file\n")
    commit(project, "user edits")

    # B: the template changes a file the user edited (elsewhere in it) and adds one
    template_train = template_repo / "template/configs/train.yaml"
    text = template_train.read_text()
    assert "print_config: false" in text
    template_train.write_text(text.replace("print_config: false", "print_config: true"))
    new_file = template_repo / "template/configs/optimizer/adam.yaml"
    new_file.write_text("_target_: torch.optim.Adam\nlr: 1.0e-3\n")
    commit(template_repo, "template B", tag="v2")

    result = subprocess.run([str(BIN / "copier"), "update", "--defaults"], cwd=project,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, **GIT_IDENTITY})
    assert result.returncode == 0, result.stdout + result.stderr
    updated = train_yaml.read_text()
    assert "seed: 7" in updated                  # the user's edit survives
    assert "print_config: true" in updated       # B's change arrives
    assert "<<<<<<<" not in updated
    assert (project / "configs/optimizer/adam.yaml").read_text() == new_file.read_text()
    assert (project / "NOTES.md").read_text() == "our own file\n"
    assert not list(project.rglob("*.rej"))
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert answers["_commit"] == "v2"
    assert answers["project_name"] == "My Vision Project"


@pytest.mark.parametrize("tool", ["cookiecutter", "copier"])
def test_copier_update_adds_a_task_and_a_feature_and_keeps_the_users_edit(template_repo,
                                                                         tmp_path, tool):
    """Answering the update with one more task and one feature brings their files and
    dependencies in; the user's edits and files stay."""
    if tool == "cookiecutter":
        project = generate(tmp_path / "out", template=template_repo)
    else:
        project = copier_generate(template_repo, tmp_path / "out" / DEFAULT_SLUG)
    assert not (project / "configs/task/tabular.yaml").exists()
    assert empty_folders(project) == []  # no hparams_search/ or hydra/launcher/ without sweeps
    git(project, "init", "-q")
    commit(project, "generated with tasks=classification")
    train_yaml = project / "configs/train.yaml"
    train_yaml.write_text(train_yaml.read_text().replace("seed: 42", "seed: 7"))
    (project / "NOTES.md").write_text("our own file\n")
    commit(project, "user edits")

    assert not (project / "serve.py").exists()
    result = subprocess.run([str(BIN / "copier"), "update", "--defaults", "--data",
                             'tasks=["classification", "tabular"]', "--data",
                             'features=["sweeps", "deploy"]'], cwd=project,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, **GIT_IDENTITY})
    assert result.returncode == 0, result.stdout + result.stderr
    package = project / "src" / DEFAULT_SLUG.replace("-", "_")
    for added in ("configs/task/tabular.yaml", "configs/data/breast_cancer.yaml",
                  "tests/test_tabular.py"):
        assert (project / added).is_file(), added
    assert (package / "data/tabular.py").is_file() and (package / "models/tabular.py").is_file()
    assert not (project / "configs/task/text.yaml").exists()  # only the task asked for
    assert "pandas" in (project / "pyproject.toml").read_text()
    assert (project / "serve.py").is_file() and (package / "analysis/export.py").is_file()
    assert "fastapi" in (project / "pyproject.toml").read_text()
    # the folders left out before come with their files
    for added in ("configs/hparams_search/optuna.yaml", "configs/hydra/launcher/parallel.yaml",
                  "configs/hydra/launcher/slurm.yaml", "configs/hydra/launcher/slurm_local.yaml"):
        assert (project / added).is_file(), added
    assert empty_folders(project) == []
    assert not (project / "configs/cv/kfold.yaml").exists()  # only the feature asked for
    assert "seed: 7" in train_yaml.read_text()
    assert "<<<<<<<" not in train_yaml.read_text() and not list(project.rglob("*.rej"))
    assert (project / "NOTES.md").read_text() == "our own file\n"
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert answers["tasks"] == ["classification", "tabular"]
    assert answers["features"] == ["sweeps", "deploy"]
    assert answers["default_task"] == "classification"
    assert answers["project_name"] == "My Vision Project"  # an answer given before stays
