"""Answer validation, pruning, and the ways users call cookiecutter (path, git URL, prompts)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from conftest import DEFAULT_SLUG, REPO, cookiecutter_cli, project_files

BAD_ANSWERS = [
    ("package_name=torch", "would shadow"),
    ("package_name=lightning", "would shadow"),
    ("package_name=hydra", "would shadow"),
    ("package_name=json", "would shadow"),          # standard library
    ("package_name=class", "Python keyword"),
    ("package_name=1digits", "not a valid import name"),
    ("package_name=my-package", "not a valid import name"),
    ("package_name=" + "x" * 41, "longer than 40"),
    ("project_slug=My Project", "project_slug"),
    ("project_slug=../escape", "project_slug"),
    ("project_name=", "project_name is empty"),
    ("author_email=nobody", "author_email"),
    ("description=two\nlines", "line break or a control character"),
    ("author_name=A\tB", "line break or a control character"),
]


@pytest.mark.parametrize(("answer", "message"), BAD_ANSWERS, ids=[a for a, _ in BAD_ANSWERS])
def test_invalid_answer_fails_clearly_and_writes_nothing(tmp_path, answer, message):
    out = tmp_path / "out"
    out.mkdir()
    result = cookiecutter_cli("--no-input", str(REPO), answer, "-o", str(out), cwd=tmp_path)
    assert result.returncode != 0
    assert "ERROR: invalid answers" in result.stderr and message in result.stderr
    assert list(out.iterdir()) == []  # no half-written project
    assert not (tmp_path / "escape").exists()


def test_unknown_option_is_rejected_before_anything_is_written(tmp_path):
    result = cookiecutter_cli("--no-input", str(REPO), "pakage_name=typo", "-o", str(tmp_path),
                              cwd=tmp_path)
    assert result.returncode != 0
    assert "unknown option(s): pakage_name" in result.stderr
    assert "package_name" in result.stderr  # lists the known ones
    assert list(tmp_path.iterdir()) == []


def test_invalid_choice_is_rejected(tmp_path):
    result = cookiecutter_cli("--no-input", str(REPO), "default_logger=neptune", "-o",
                              str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0 and "neptune" in (result.stderr + result.stdout)
    assert list(tmp_path.iterdir()) == []


def test_every_bad_option_is_listed_in_one_message_without_a_traceback(tmp_path):
    """Cookiecutter itself answers a choice outside its list with a ValueError traceback."""
    result = cookiecutter_cli("--no-input", str(REPO), "default_logger=foo", "license=GPL",
                              "github_actions=maybe", "pakage_name=x", "package_name=torch",
                              "author_email=nobody", "-o", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "Traceback" not in output and "ValueError" not in output
    assert output.count("ERROR: invalid answers") == 1
    assert ("default_logger='foo' is not one of the choices: csv, tensorboard, wandb, mlflow"
            in output)
    assert "license='GPL' is not one of the choices" in output
    assert "github_actions='maybe' is not a yes/no answer" in output
    assert "unknown option(s): pakage_name" in output
    # and the checks of the answers themselves, in the same message
    assert "package_name 'torch' would shadow" in output
    assert "author_email 'nobody' is not an e-mail address" in output
    assert list(tmp_path.iterdir()) == []


def test_a_slug_derived_from_a_free_text_name_says_how_to_pass_one(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = cookiecutter_cli("--no-input", str(REPO), "project_name=My Project!", "-o", str(out),
                              cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "derived from project_name 'My Project!'" in result.stderr
    assert "project_slug=my-project package_name=my_project" in result.stderr
    assert list(out.iterdir()) == []
    # the suggestion works as given
    result = cookiecutter_cli("--no-input", str(REPO), "project_name=My Project!",
                              "project_slug=my-project", "package_name=my_project", "-o", str(out),
                              cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out / "my-project/src/my_project/__init__.py").is_file()


def _empty_soon(folder, seconds: float = 10.0) -> list[str]:
    """What is left in ``folder`` once the background clean-up had time to run."""
    deadline = time.monotonic() + seconds
    while (left := sorted(p.name for p in folder.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("answers", [[], ["default_logger=foo"], ["package_name=torch"]],
                         ids=["success", "bad-choice", "bad-answer"])
def test_generation_leaves_nothing_in_the_temp_folder(tmp_path, answers):
    """Cookiecutter copies the template into the temp folder for the pre_prompt hook and leaves
    that copy behind (empty after a success, whole after a failure); its rendered hooks too."""
    temp, out = tmp_path / "temp", tmp_path / "out"
    temp.mkdir()
    out.mkdir()
    result = cookiecutter_cli("--no-input", str(REPO), *answers, "-o", str(out), cwd=tmp_path,
                              env={"TMPDIR": str(temp)})
    assert (result.returncode == 0) == (not answers), result.stderr
    assert _empty_soon(temp) == []


def test_cli_with_options_and_no_directory_flag(tmp_path):
    result = cookiecutter_cli("--no-input", str(REPO), "project_name=Leaf Disease",
                              "github_actions=no", "license=Proprietary", "-o", str(tmp_path),
                              cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "leaf-disease"
    files = project_files(project)
    assert "src/leaf_disease/training/run.py" in files
    assert "LICENSE" not in files and not (project / ".github").exists()


def test_interactive_prompts_with_defaults(tmp_path):
    """A person pressing Enter at every prompt gets the default project."""
    prompts = [k for k in json.loads((REPO / "cookiecutter.json").read_text())
               if not k.startswith("_")]
    result = cookiecutter_cli(str(REPO), "-o", str(tmp_path), cwd=tmp_path,
                              stdin="\n" * len(prompts))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / DEFAULT_SLUG / "src/my_vision_project/__init__.py").is_file()
    for prompt in ("Project name", "Python package name", "Default experiment logger"):
        assert prompt in result.stdout


def test_interactive_answers_are_used(tmp_path):
    answers = ["classification,tabular", "cv", "Bird Songs", "", "", "Classifies birds.",
               "tabular", "Ann", "ann@example.org", "3", "", "3", "n"]
    result = cookiecutter_cli(str(REPO), "-o", str(tmp_path), cwd=tmp_path,
                              stdin="\n".join(answers) + "\n")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "bird-songs"
    assert 'requires-python = ">=3.12"' in (project / "pyproject.toml").read_text()
    assert "- logger: wandb" in (project / "configs/train.yaml").read_text()
    assert not (project / ".github").exists()
    assert "- task: tabular" in (project / "configs/train.yaml").read_text()
    assert (project / "configs/task/tabular.yaml").is_file()
    assert not (project / "configs/task/text.yaml").exists()
    assert (project / "configs/cv/kfold.yaml").is_file()  # the one feature chosen
    assert not (project / "export.py").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_url(tmp_path):
    """`cookiecutter <git url>` (as `gh:org/template` does): a bare clone over file://."""
    work, bare = tmp_path / "work", tmp_path / "template.git"
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, work / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=work, check=True)
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "template"], cwd=work, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)

    out = tmp_path / "out"
    result = cookiecutter_cli("--no-input", f"file://{bare}", "project_name=From Git", "-o",
                              str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out / "from-git" / "src/from_git/training/run.py").is_file()
