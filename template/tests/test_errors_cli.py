"""The command line after a user's mistake: one line `error: ...`, exit status 2, no traceback,
no run folder left behind (one Python start each: a few seconds per call)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from default_task import MODEL

from conftest import CONFIGS, PROJECT

# the scripts of the `deploy` feature: tested where the project has them
DEPLOY_SCRIPTS = [
    pytest.param(name, marks=pytest.mark.feature("deploy"))
    for name in ("predict.py", "export.py", "serve.py")
]

pytestmark = pytest.mark.slow


def run(script: str, *overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT / script), *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line(result: subprocess.CompletedProcess, *expected: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "HYDRA_FULL_ERROR" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output  # printed once
    for text in expected:
        assert text in errors[0], errors[0]


def left_behind(cwd: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(cwd)) for p in (cwd / "outputs").rglob("*"))
        if (cwd / "outputs").exists()
        else []
    )


def test_eval_without_a_checkpoint(tmp_path):
    assert_one_line(run("eval.py", cwd=tmp_path), "eval.py needs ckpt_path=")
    assert left_behind(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "is empty (0 bytes)"),
        (b"just some text\n", "is not a PyTorch checkpoint"),
        (b"PK\x03\x04cut short", "is truncated or corrupt"),
    ],
    ids=["empty", "text", "truncated"],
)
def test_eval_with_an_unusable_checkpoint(tmp_path, content, why):
    (tmp_path / "model.ckpt").write_bytes(content)
    result = run("eval.py", "ckpt_path=model.ckpt", cwd=tmp_path)
    assert_one_line(result, f"model.ckpt {why}")
    assert left_behind(tmp_path) == []


def test_eval_rejects_a_setting_it_does_not_have(tmp_path):
    result = run("eval.py", "ckpt_path=x.ckpt", f"+model={MODEL}", cwd=tmp_path)
    assert_one_line(result, f"+model={MODEL}: eval.py has no such setting")


def test_train_with_values_out_of_range_builds_nothing(tmp_path):
    result = run("train.py", "optimizer.lr=abc", "seed=x", cwd=tmp_path)
    assert_one_line(
        result, "optimizer.lr must be a number, got 'abc'", "seed must be an integer or null"
    )
    assert left_behind(tmp_path) == []


@pytest.mark.feature("lr_find")
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["lr_find=report", "lr_find.suggestion=steepest"], "lr_find.suggestion must be one of"),
        (["+lr_find.apply=true"], "the LR finder is off: add lr_find=report"),  # else ignored
    ],
)
def test_a_bad_lr_finder_option_is_one_line(tmp_path, overrides, expected):
    result = run("train.py", *overrides, "mode=smoke", cwd=tmp_path)
    assert_one_line(result, expected)
{%- if "lr_find" not in cookiecutter.__features.split(",") %}


@pytest.mark.parametrize("override", ["+lr_find.apply=true", "lr_find.enabled=true"])
def test_the_lr_finder_comes_with_its_feature(tmp_path, override):
    """(lr_find=report itself: test_errors.py, with every option the project lacks)"""
    result = run("train.py", override, "mode=smoke", cwd=tmp_path)
    assert_one_line(result, "the LR finder (lr_find=report) comes with the lr_find feature")
    assert left_behind(tmp_path) == []
{%- endif %}
{%- if "clean" not in cookiecutter.__features.split(",") %}


# (the ratings' config has no decisions key: a review is not applied to ratings)
@pytest.mark.task(
    "classification",
    "multilabel",
    "regression",
    "segmentation",
    "tabular",
    "tabular_regression",
    "text",
)
def test_a_review_s_decisions_come_with_the_clean_feature(tmp_path):
    decisions = tmp_path / "decisions.json"
    decisions.write_text('{"delete": [], "relabel": {}}')
    result = run("train.py", f"data.decisions={decisions}", "mode=smoke", cwd=tmp_path)
    assert_one_line(result, "data.decisions (clean.py's review) comes with the clean feature")
    assert left_behind(tmp_path) == []  # refused before the run starts
{%- endif %}


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_train_on_a_gpu_that_is_not_there(tmp_path):
    result = run("train.py", "trainer=gpu", "mode=smoke", cwd=tmp_path)
    assert_one_line(result, "no GPU is visible", "trainer=cpu")
    assert left_behind(tmp_path) == []


def test_an_outputs_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "outputs").write_text("a file where the outputs folder should be")
    result = run("eval.py", "ckpt_path=x.ckpt", cwd=tmp_path)
    assert_one_line(result, "cannot create the run folder", "hydra.run.dir=<writable folder>")


@pytest.mark.feature("clean")
def test_clean_apply_and_undo_leave_no_run_folder(tmp_path):
    result = run("clean.py", "step=apply", cwd=tmp_path)
    assert_one_line(result, "step=apply needs csv=")
    (tmp_path / "data_quarantine").mkdir()  # where apply keeps its moves log, beside the data
    (tmp_path / "data_quarantine" / "moves.jsonl").write_text("")
    result = run("clean.py", "step=undo", "log=data_quarantine/moves.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert left_behind(tmp_path) == []


@pytest.mark.task("classification")
def test_eval_data_overrides_work_as_the_readme_writes_them(tmp_path, run_train):
    """`data.root=...` (no `+`) points eval.py at the images' new place."""
    from PIL import Image

    root = tmp_path / "pets"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(12):
            Image.new("RGB", (12, 12), (i * 20, 0 if name == "cat" else 255, 0)).save(
                root / name / f"{i}.png"
            )
    summary = run_train(
        "task=classification",
        "data=image_folder",
        f"data.root={root}",
        "data.image_size=8",
        "model=linear",
        "mode=smoke",
    )
    moved = root.rename(tmp_path / "moved")
    result = run("eval.py", f"ckpt_path={summary['output_dir']}", "interpret=false", cwd=tmp_path)
    assert_one_line(result, f"data.root={root} is not a folder")
    result = run(
        "eval.py",
        f"ckpt_path={summary['output_dir']}",
        f"data.root={moved}",
        "data.batch_size=5",
        "interpret=false",
        "hydra.run.dir=evaluated",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    evaluated = json.loads((tmp_path / "evaluated" / "summary.json").read_text())
    assert sum(evaluated["data"]["sizes"].values()) == 24


@pytest.mark.parametrize("script", DEPLOY_SCRIPTS)  # (eval.py's: above)
def test_every_command_on_a_truncated_checkpoint(tmp_path, script):
    (tmp_path / "model.ckpt").write_bytes(b"PK\x03\x04cut short")
    inputs = ["inputs=."] if script == "predict.py" else []
    result = run(script, "ckpt_path=model.ckpt", *inputs, cwd=tmp_path)
    assert_one_line(result, "model.ckpt is truncated or corrupt")
    assert left_behind(tmp_path) == []


@pytest.mark.parametrize("script", DEPLOY_SCRIPTS)
def test_a_command_without_its_checkpoint(tmp_path, script):
    assert_one_line(run(script, cwd=tmp_path), "ckpt_path is required: add ckpt_path=")
    assert left_behind(tmp_path) == []


@pytest.mark.feature("deploy")
def test_serve_without_its_extra_names_it(tmp_path):
    """fastapi hidden behind a module that fails as a missing package does."""
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "fastapi.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'fastapi'\", name='fastapi')\n"
    )
    (tmp_path / "model.ckpt").write_bytes(b"")
    result = subprocess.run(
        [sys.executable, str(PROJECT / "serve.py"), "ckpt_path=model.ckpt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), str(PROJECT / "src")])},
    )
    assert_one_line(result, "fastapi is not installed", "pip install -e '.[serve]'")


MODELS = sorted(path.stem for path in (CONFIGS / "model").glob("*.yaml"))


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model=nope", f"model=nope: no such option; model is one of {', '.join(MODELS)} ("),
        ("trainer.max_epoch=3", "did you mean trainer.max_epochs?"),
        ("optimzer.lr=0.1", "did you mean optimizer"),
        ("data.root=~/x", "quote a value with special characters"),
    ],
)
def test_hydra_s_own_errors_are_one_line_too(tmp_path, override, expected):
    assert_one_line(run("train.py", override, cwd=tmp_path), expected)
    assert left_behind(tmp_path) == []


def test_a_sweep_job_s_mistake_is_recorded_in_one_line(tmp_path):
    result = run("train.py", "-m", "optimizer.lr=-1", "mode=smoke", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "optimizer.lr must be a number" in errors[0], output
    (summary,) = (tmp_path / "multirun").rglob("summary.json")
    assert json.loads(summary.read_text())["status"] == "crashed"
