"""The command line itself (one Python start each, so a few seconds per test)."""

import json
import subprocess
import sys

import pytest
from default_task import DATA, SCORE

from {{ cookiecutter.package_name }}.training.errors import generated

from conftest import PROJECT

pytestmark = pytest.mark.slow


def run(script: str, *overrides: str, cwd=PROJECT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT / script), *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_overfit_prints_its_verdict_and_records_it(tmp_path):
    result = run("train.py", "mode=overfit", "logger=csv", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    verdict = json.loads((tmp_path / "summary.json").read_text())["verdicts"]["overfit"]
    assert verdict["reached"]
    # digits: "reached 100% train acc on 1 batch of 64" (then: in <steps> steps (<time>))
    assert verdict["message"].split(" in ")[0] in result.stdout
    assert (tmp_path / ".hydra" / "config.yaml").is_file()
    assert "Warning" not in result.stderr  # known third-party noise is filtered


def test_overfit_failure_exits_non_zero(tmp_path):
    result = run(
        "train.py",
        "mode=overfit",
        "optimizer.lr=0",
        "trainer.max_steps=30",
        "logger=csv",
        f"hydra.run.dir={tmp_path}",
    )
    assert result.returncode != 0
    assert "did NOT reach" in result.stdout and "not decreasing" in result.stdout


def test_train_then_eval_from_the_command_line(tmp_path):
    result = run(
        "train.py", "trainer.max_epochs=1", "logger=csv", f"hydra.run.dir={tmp_path / 'train'}"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "train" / "summary.json").read_text())
    result = run(
        "eval.py", f"ckpt_path={summary['best_checkpoint']}", f"hydra.run.dir={tmp_path / 'eval'}"
    )
    assert result.returncode == 0, result.stderr
    evaluated = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert evaluated["metrics"]["test"][SCORE] == pytest.approx(summary["metrics"]["test"][SCORE])


def test_bad_override_gives_a_readable_error(tmp_path):
    result = run("train.py", "model=transformer", f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert "model" in result.stderr and "Traceback" not in result.stderr


def test_missing_files_give_one_line_and_exit_2(tmp_path):
    result = run("eval.py", f"ckpt_path={tmp_path / 'nope.ckpt'}", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_a_run_starts_with_a_few_lines_and_keeps_its_config_in_the_run_folder(tmp_path):
    result = run("train.py", "mode=smoke", "logger=csv", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    head = result.stdout.split("Epoch", 1)[0].strip().splitlines()
    assert len(head) == 2, result.stdout  # no config tree, no model summary
    assert "mode smoke" in head[0] and f"data {DATA}" in head[0] and str(tmp_path) in head[0]
    assert f"{tmp_path}/.hydra/config.yaml" in head[1]
    assert (tmp_path / ".hydra" / "config.yaml").is_file()
    assert result.stdout.rstrip().splitlines()[-1].startswith("best checkpoint:")
    shown = run("train.py", "mode=smoke", "print_config=true", f"hydra.run.dir={tmp_path / 't'}")
    assert "optimizer" in shown.stdout.split("Epoch", 1)[0]  # the whole tree, when asked


def test_a_used_run_folder_is_refused(tmp_path):
    """(Continuing the run in it, the resume feature: test_resume.py.)"""
    folder = tmp_path / "run"
    assert run("train.py", "mode=smoke", "logger=csv", f"hydra.run.dir={folder}").returncode == 0
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    again = run("train.py", "mode=smoke", "logger=csv", f"hydra.run.dir={folder}")
    assert again.returncode == 2, again.stdout + again.stderr
    # how to continue that run, where the project can (training/resume.py)
    resume = f" (to continue that run: ckpt_path={folder})" if generated("training.resume") else ""
    assert again.stderr.strip().splitlines() == [
        f"error: hydra.run.dir={folder} already holds a run (summary.json): each run gets a "
        f"folder of its own; leave hydra.run.dir to its default or choose a new folder{resume}"
    ]
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_ckpt_path_says_in_one_line_how_to_add_resuming_where_the_project_cannot_resume(tmp_path):
    """Without training/resume.py (the resume feature, or cv's), ``ckpt_path=...`` names the
    feature that brings it, before anything is built; with it, ``last`` looks for the run."""
    folder = tmp_path / "runs" / "new"  # (ckpt_path=last looks beside it: other tests run there)
    result = run("train.py", "mode=smoke", "ckpt_path=last", f"hydra.run.dir={folder}")
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    if generated("training.resume"):
        assert "ckpt_path=last: no earlier run of this config" in line
    else:
        assert line.startswith(
            "error: resuming (ckpt_path=last) comes with the resume feature, which this project "
            "was generated without: add it with copier update --defaults --data 'features=["
        ), line
        assert line.endswith('"resume"]\' (docs/maintenance.md)'), line
        assert not (folder / "summary.json").exists()  # refused before the run started
