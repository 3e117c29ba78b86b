"""Cross-validation (cv=kfold): folds stratified like the task's split, one ordinary run per fold,
the aggregate summary with the spread, out-of-fold predictions, the test ensemble or refit,
failed folds, the overfit refusal, resume after a kill and sweeps ranked by the CV mean."""

import csv
import json
import math
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from default_task import QUICK_MODEL, SCORE
from omegaconf import OmegaConf

from {{ cookiecutter.package_name }}.data.folds import fold_assignment
from {{ cookiecutter.package_name }}.training.cv import check_cv, cross_validate
from {{ cookiecutter.package_name }}.training.validate import ConfigError

from conftest import CONFIGS, PROJECT, QUICK, compose_config

TASKS = sorted(p.stem for p in (CONFIGS / "task").glob("*.yaml"))


def train_cli(run: Path, *overrides: str) -> subprocess.CompletedProcess:
    """``python train.py cv=kfold ...`` in a process of its own, into the run folder ``run``."""
    command = ["train.py", *QUICK, "cv=kfold", *overrides, f"hydra.run.dir={run}"]
    return subprocess.run([sys.executable, *command], cwd=PROJECT, capture_output=True, text=True)


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def cross_validation(output_dir: Path, *overrides: str) -> dict:
    """An in-process ``train.py cv=kfold ...``; the summary as summary.json holds it."""
    cfg = compose_config("train", [*QUICK, "cv=kfold", *overrides], output_dir)
    return cross_validate(cfg).to_dict()


# ---- the folds -----------------------------------------------------------------------------------
def test_folds_keep_the_class_proportions_and_are_seeded():
    targets = torch.tensor([0] * 30 + [1] * 12 + [2] * 3)
    folds = fold_assignment(targets, "labels", 3, seed=0)
    assert np.bincount(folds).tolist() == [15, 15, 15]
    for label, count in ((0, 30), (1, 12)):  # every fold holds its share of every class
        assert np.bincount(folds[targets.numpy() == label]).tolist() == [count // 3] * 3
    assert sorted(folds[targets.numpy() == 2].tolist()) == [0, 1, 2]
    assert (fold_assignment(targets, "labels", 3, seed=0) == folds).all()
    assert (fold_assignment(targets, "labels", 3, seed=1) != folds).any()


def test_folds_keep_each_group_together():
    users = [f"u{i % 7}" for i in range(50)]
    folds = fold_assignment(torch.zeros(50), "none", 3, seed=0, groups=users)
    for user in set(users):
        assert len({f for u, f in zip(users, folds, strict=True) if u == user}) == 1
    assert set(folds.tolist()) == {0, 1, 2}
    with pytest.raises(ValueError, match="7 groups cannot fill 8 folds"):
        fold_assignment(torch.zeros(50), "none", 8, seed=0, groups=users)


def test_group_by_and_too_many_folds_are_one_line_mistakes(tmp_path):
    with pytest.raises(ConfigError, match=r"group_by=shelf: data=\w+ has no such grouping"):
        cross_validation(tmp_path / "a", "mode=smoke", "cv.folds=2", "cv.group_by=shelf")
    # more folds than any source has items (the ratings have 5170; the time grows with folds)
    with pytest.raises(ConfigError, match="items cannot fill 10000 folds"):
        cross_validation(tmp_path / "b", "mode=smoke", "cv.folds=10000")


# ---- every task ----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("task_name", TASKS)
def test_every_task_cross_validates(task_name, tmp_path):
    run = tmp_path / "cv"
    summary = cross_validation(run, f"task={task_name}", "mode=smoke", "cv.folds=3")
    assert summary["status"] == "completed" and summary["exit_code"] == 0
    cv, score = summary["cv"], summary["task"]["score"]
    folds = [json.loads((run / f"fold_{k}" / "summary.json").read_text()) for k in range(3)]
    vals = [f["metrics"]["val"][score] for f in folds]
    assert cv["spread"]["val"]["values"] == vals
    assert summary["metrics"]["val"][score] == pytest.approx(np.mean(vals))
    assert cv["spread"]["val"]["std"] == pytest.approx(np.std(vals, ddof=1))
    low, high = cv["spread"]["val"]["ci95"]
    assert low < np.mean(vals) < high or np.std(vals) == 0
    assert all((run / f"fold_{k}" / "checkpoints" / "best.ckpt").is_file() for k in range(3))
    # each pooled item validated exactly once, by the fold it belongs to; test items never
    oof, assigned = read_csv(run / "oof_predictions.csv"), read_csv(run / "folds.csv")
    pool = {r["index"]: r["fold"] for r in assigned if r["fold"] != "test"}
    tested = {r["index"] for r in assigned if r["fold"] == "test"}
    assert sorted(r["index"] for r in oof) == sorted(pool) and not tested & set(pool)
    assert all(pool[r["index"]] == r["fold"] for r in oof)
    sizes = [f["data"]["sizes"] for f in folds]
    # the split each fold trained on is the one its checkpoint rebuilds (the OOF predictions')
    assert [s["val"] for s in sizes] == [sum(r["fold"] == str(k) for r in oof) for k in range(3)]
    assert {s["test"] for s in sizes} == {len(tested)}
    assert all(s["train"] + s["val"] == len(pool) for s in sizes)
    assert cv["test"]["method"] == "ensemble" and cv["test"]["models"] == 3
    assert summary["metrics"]["test"][score] == cv["test"][score]
    assert "over 3 folds" in summary["verdicts"]["cv"]["message"]


# ---- reading the result --------------------------------------------------------------------------
@pytest.mark.slow
def test_the_verdict_reads_the_spread_and_the_mean_fit(tmp_path, capsys):
    run = tmp_path / "cv"
    summary = cross_validation(
        run, *QUICK_MODEL, "trainer.max_epochs=2", "cv.folds=3", "cv.refit=true"
    )
    spread = summary["cv"]["spread"]["val"]
    message = summary["verdicts"]["cv"]["message"]
    assert message.startswith(
        f"val {SCORE} {spread['mean']:.3f} +- {spread['std']:.3f} over 3 folds"
    )
    assert f"differences below ~{2 * spread['std']:.2g} are noise" in message
    fit = summary["verdicts"]["fit"]  # on the mean train and val scores of the folds
    assert fit["train"] == pytest.approx(summary["metrics"]["train"][SCORE])
    assert fit["val"] == pytest.approx(spread["mean"])
    printed = capsys.readouterr().out
    assert f"cv: val {SCORE}" in printed and "are noise" in printed
    # refit: one more run on every pooled item for the mean best epoch count, tested
    epochs = [f["best_epoch"] for f in summary["cv"]["per_fold"]]
    refit = json.loads((run / "refit" / "summary.json").read_text())
    assert summary["cv"]["test"]["method"] == "refit"
    assert summary["cv"]["test"]["epochs"] == round(np.mean(epochs)) == refit["trainer"]["epochs"]
    pool = sum(summary["data"]["sizes"][s] for s in ("train", "val"))
    assert refit["data"]["sizes"]["train"] == pool and refit["data"]["sizes"]["val"] == 0
    assert summary["metrics"]["test"] == refit["metrics"]["test"]


@pytest.mark.slow
def test_diverged_folds_fail_the_run_and_are_kept(tmp_path):
    summary = cross_validation(tmp_path / "cv", "mode=smoke", "cv.folds=2", "optimizer.lr=1e12")
    assert summary["status"] == "failed" and summary["exit_code"] == 1
    assert [f["status"] for f in summary["cv"]["per_fold"]] == ["diverged", "diverged"]
    assert "0 of 2 fold runs completed" in summary["verdicts"]["folds"]["message"]
    assert json.loads((tmp_path / "cv" / "summary.json").read_text())["status"] == "failed"


def given_validation_table(folder: Path) -> list[str]:
    """A table whose ``is_valid`` column gives the validation split: no test split by default."""
    rows = [f"{i},{i % 2},{i % 4 == 0}" for i in range(40)]
    (folder / "t.csv").write_text("x,y,is_valid\n" + "\n".join(rows) + "\n")
    return [
        "task=tabular",
        "data=table_csv",
        f"data.path={folder / 't.csv'}",
        "data.y_names=[y]",
        "data.valid_column=is_valid",
        "evaluate.tabular_baseline=false",
    ]


@pytest.mark.slow
@pytest.mark.task("tabular")
@pytest.mark.parametrize("refit", [False, True])
def test_a_given_validation_split_cross_validates_without_a_test_split(tmp_path, refit):
    run = tmp_path / "cv"
    table = given_validation_table(tmp_path)
    summary = cross_validation(run, *table, "mode=smoke", "cv.folds=2", f"cv.refit={refit}")
    assert summary["status"] == "completed", summary["message"]
    assert summary["data"]["sizes"]["test"] == 0 and "test" not in summary["metrics"]
    assert summary["cv"]["test"]["message"].startswith("no test split")
    assert summary["cv"]["oof"]["items"] == 40  # every row validated once, by its fold
    assert all(r["fold"] != "test" for r in read_csv(run / "folds.csv"))
    # the run's model: the refit's, or the best fold's
    best = max(summary["cv"]["per_fold"], key=lambda fold: fold["val"])
    model = run / "refit" if refit else Path(best["output_dir"])
    assert summary["best_checkpoint"] == str(model / "checkpoints" / "best.ckpt")


def test_next_lines_of_a_cv_run_load_a_checkpoint_that_exists(tmp_path, capsys, monkeypatch):
    from {{ cookiecutter.package_name }}.console import print_summary

    monkeypatch.chdir(tmp_path)
    best = tmp_path / "cv" / "fold_1" / "checkpoints" / "best.ckpt"  # no cv/checkpoints/
    best.parent.mkdir(parents=True)
    best.touch()
    advice = ["read the report (python eval.py ...)", "python eval.py ckpt_path=<run> x=1"]
    fit = {"message": "good fit", "advice": advice}
    summary = {"mode": "full", "status": "completed", "wall_time_s": 1.0, "verdicts": {"fit": fit}}
    print_summary({**summary, "output_dir": str(tmp_path / "cv"), "best_checkpoint": str(best)})
    lines = [line for line in capsys.readouterr().out.splitlines() if "next: " in line]
    assert [line.split("ckpt_path=")[1].split()[0].rstrip(")") for line in lines] == [
        "cv/fold_1/checkpoints/best.ckpt"
    ] * 2


@pytest.mark.slow
@pytest.mark.task("tabular")
def test_a_crashed_refit_crashes_the_run(tmp_path, monkeypatch, capsys):
    from {{ cookiecutter.package_name }}.training import run as runs

    train = runs.train

    def refit_without_its_table(cfg):  # the table is gone when the refit starts
        if Path(cfg.paths.output_dir).name == "refit":
            cfg.data.path = str(tmp_path / "gone.csv")
        return train(cfg)

    monkeypatch.setattr(runs, "train", refit_without_its_table)
    table = given_validation_table(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"gone\.csv"):
        cross_validation(tmp_path / "cv", *table, "mode=smoke", "cv.folds=2", "cv.refit=true")
    summary = json.loads((tmp_path / "cv" / "summary.json").read_text())
    assert (summary["status"], summary["exit_code"]) == ("crashed", 2)  # a mistake: exit 2
    assert "gone.csv" in summary["message"]
    assert capsys.readouterr().err.count("error: ") == 1  # printed by the refit run, once


def test_folds_whose_score_is_not_a_number_are_left_out_and_fail_the_run(tmp_path):
    from {{ cookiecutter.package_name }}.training.cv import _aggregate
    from {{ cookiecutter.package_name }}.training.summary import Summary, conclude

    def fold(k: int, val) -> dict:  # null: a NaN/inf score as summary.json writes it
        metrics = {"train": {"acc": 0.9, "loss": 0.1}, "val": {"acc": val, "loss": 0.5}}
        summary = {"task": {"score": "acc"}, "metrics": metrics}
        return {"name": f"fold_{k}", "status": "completed", "summary": summary, "message": ""}

    cfg = compose_config("train", ["cv=kfold", "cv.folds=4"], tmp_path)
    summary = Summary(mode="full", output_dir=str(tmp_path))
    _aggregate(cfg, summary, [fold(0, 0.8), fold(1, None), fold(2, math.nan), fold(3, 0.6)], None)
    assert summary.sections["cv"]["spread"]["val"]["values"] == [0.8, 0.6]
    assert summary.metrics["val"] == {"acc": pytest.approx(0.7), "loss": pytest.approx(0.5)}
    folds = summary.verdicts["folds"]
    assert folds["unscored"] == ["fold_1", "fold_2"] and not folds["passed"]
    assert "fold_1 val acc not a number, fold_2 val acc not a number" in folds["message"]
    assert conclude(summary).status == "failed"


def test_overfit_and_a_checkpoint_file_are_refused(tmp_path):
    cfg = compose_config("train", ["cv=kfold", "mode=overfit"], tmp_path)
    with pytest.raises(ConfigError, match="cv=kfold cannot run with mode=overfit"):
        check_cv(cfg)
    cfg = compose_config("train", ["cv=kfold", f"ckpt_path={tmp_path}"], tmp_path)
    with pytest.raises(ConfigError, match="ckpt_path=last or the folder of a cross-validation"):
        check_cv(cfg)
    cfg = compose_config("train", ["cv.folds=3"], tmp_path)
    with pytest.raises(ConfigError, match="folds=3 needs cv=kfold"):
        check_cv(cfg)


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides, line",
    [
        (
            ["mode=overfit"],
            "cv=kfold cannot run with mode=overfit: the overfit check learns one fixed batch, "
            "there is nothing to validate; run mode=overfit without cv, then cv=kfold",
        ),
        # found by the first fold's data module: printed by that run, not once more by the CV run
        pytest.param(
            ["task=classification", "mode=smoke", "cv.group_by=user"],
            "cv.group_by=user: data=digits has no such grouping (it offers: none)",
            marks=pytest.mark.task("classification"),
        ),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(tmp_path, overrides, line):
    run = tmp_path / "run"
    done = train_cli(run, *overrides)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {line}"]
    assert not run.exists() or json.loads((run / "summary.json").read_text())["exit_code"] == 2


# ---- resume --------------------------------------------------------------------------------------
def test_resuming_a_named_cv_folder_of_another_config_is_refused(tmp_path):
    from {{ cookiecutter.package_name }}.training.cv import CV_CONFIG, _earlier_run

    earlier = tmp_path / "earlier"
    earlier.mkdir()
    settings = ["mode=smoke", "cv.folds=2", f"ckpt_path={earlier}"]
    saved = compose_config("train", [*QUICK, "cv=kfold", *settings, "optimizer.lr=0.01"], earlier)
    OmegaConf.save(saved, earlier / CV_CONFIG)
    same = compose_config("train", [*QUICK, "cv=kfold", *settings, "optimizer.lr=0.01"], tmp_path)
    assert _earlier_run(same, tmp_path / "run") == earlier
    with pytest.raises(ConfigError, match=r"another config \(optimizer.lr 0.01 -> 0.02\): resume"):
        cross_validation(tmp_path / "run", *settings, "optimizer.lr=0.02")
    assert not (tmp_path / "run" / "fold_0").exists()  # refused before any fold is copied


# batches of 5 and 3 epochs: a fold long enough to be killed in the middle (as test_resume.py);
# 5: no fold (763 or 764 items) ends on a batch of one, which BatchNorm refuses in training
RESUMABLE = [
    "cv=kfold",
    "task=classification",
    "cv.folds=2",
    "model=mlp",
    "data.batch_size=5",
    "trainer.max_epochs=3",
]


@pytest.mark.slow
@pytest.mark.task("classification")
def test_a_killed_cv_run_resumes_to_the_same_figures(tmp_path):
    log = (tmp_path / "killed.log").open("w")
    killed = subprocess.Popen(
        [sys.executable, "train.py", *QUICK, *RESUMABLE, f"hydra.run.dir={tmp_path / 'killed'}"],
        cwd=PROJECT,
        stdout=log,
        stderr=log,
    )
    last = tmp_path / "killed" / "fold_1" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()
    assert (tmp_path / "killed" / "fold_0" / "summary.json").is_file()  # fold 0 had finished
    assert not (tmp_path / "killed" / "fold_1" / "summary.json").exists()  # fold 1 had not

    resumed = cross_validation(tmp_path / "resumed", *RESUMABLE[1:], "ckpt_path=last")
    whole = cross_validation(tmp_path / "whole", *RESUMABLE[1:])
    assert resumed["status"] == "completed"
    kept = json.loads((tmp_path / "resumed" / "fold_0" / "summary.json").read_text())
    assert kept["output_dir"] == str(tmp_path / "resumed" / "fold_0")  # copied, not re-run
    assert (
        kept["wall_time_s"]
        == json.loads((tmp_path / "killed" / "fold_0" / "summary.json").read_text())["wall_time_s"]
    )
    for split in ("train", "val", "test"):
        for name, value in whole["metrics"][split].items():
            assert resumed["metrics"][split][name] == pytest.approx(value, abs=1e-6), split
    assert resumed["cv"]["spread"]["val"]["values"] == pytest.approx(
        whole["cv"]["spread"]["val"]["values"], abs=1e-6
    )


def test_a_fold_s_best_epoch_is_read_from_its_summary_not_its_checkpoint(tmp_path):
    from {{ cookiecutter.package_name }}.training.cv import _fold_result

    best = tmp_path / "best.ckpt"
    best.write_bytes(b"a checkpoint of many megabytes, not loaded for one number")
    summary = {"status": "completed", "exit_code": 0, "message": "completed"}
    result = _fold_result(
        "fold_0", {**summary, "best_checkpoint": str(best), "selection": {"best_epoch": 3}}
    )
    assert (result["best_checkpoint"], result["best_epoch"]) == (str(best), 4)  # 0-based: 3


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.task("classification")
def test_a_stopped_cv_run_ends_interrupted_with_the_folds_code(tmp_path, stop, code):
    run = tmp_path / "run"
    # The signal lands while fold_1 trains: it is sent once fold_1's training has logged (its
    # first metrics.csv), with epochs enough that the fold cannot end first on a busy machine.
    command = [*QUICK, *RESUMABLE, "trainer.max_epochs=8", f"hydra.run.dir={run}"]
    stopped = subprocess.Popen(
        [sys.executable, "train.py", *command],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Ctrl-C as a terminal delivers it: a suite started in the background (`cmd &` in a
        # script) passes SIGINT on ignored, and Python keeps an ignored SIGINT ignored (a CI run
        # ended 0, trained 9 s past the signal)
        preexec_fn=_sigint_default if stop == signal.SIGINT else None,
    )
    deadline = time.monotonic() + 300
    while not (run / "fold_1" / "csv" / "metrics.csv").exists():
        assert stopped.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    stopped.send_signal(stop)
    sent = time.monotonic()
    ended = stopped.wait()
    summary = json.loads((run / "summary.json").read_text())
    assert ended == code, (time.monotonic() - sent, summary.get("message"), summary.get("cv"))
    assert (summary["status"], summary["exit_code"]) == ("interrupted", code)
    assert summary["message"].startswith("interrupted in fold_1; resume with ckpt_path=last")
    assert [f["status"] for f in summary["cv"]["per_fold"]] == ["completed", "interrupted"]


@pytest.mark.slow
@pytest.mark.parametrize("stop, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.task("classification")
def test_a_signal_to_parallel_folds_stops_each_once_and_leaves_none_running(tmp_path, stop, code):
    run, out = tmp_path / "run", tmp_path / "out.log"
    command = [*QUICK, *RESUMABLE, "cv.parallel=2", f"hydra.run.dir={run}"]
    with out.open("w") as log:
        stopped = subprocess.Popen(
            [sys.executable, "train.py", *command], cwd=PROJECT, stdout=log, stderr=log
        )
    deadline = time.monotonic() + 300
    while not (run / "fold_0" / "checkpoints" / "last.ckpt").exists():
        assert stopped.poll() is None and time.monotonic() < deadline, out.read_text()
        time.sleep(0.05)
    stopped.send_signal(stop)  # (the run's process alone, as `kill <pid>`)
    assert stopped.wait(timeout=120) == code, out.read_text()
    pids = [int(word) for word in re.findall(r"started \(process (\d+)\)", out.read_text())]
    assert len(pids) == 2 and not any(Path(f"/proc/{pid}").exists() for pid in pids)
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["status"], summary["exit_code"]) == ("interrupted", code)
    assert [f["status"] for f in summary["cv"]["per_fold"]] == ["interrupted"] * 2
    assert summary["message"].startswith("interrupted in fold_0; resume with ckpt_path=last")


def test_an_error_while_folds_run_in_parallel_leaves_no_fold_running(tmp_path, monkeypatch, capsys):
    from {{ cookiecutter.package_name }}.training import cv

    prepare = cv._prepare_fold

    def second_fold_fails(cfg, run_dir, fold, earlier, first):
        if fold["fold"] == 1:  # fold 0 is running by then
            raise RuntimeError("cannot prepare fold 1")
        return prepare(cfg, run_dir, fold, earlier, first)

    monkeypatch.setattr(cv, "_prepare_fold", second_fold_fails)
    with pytest.raises(RuntimeError, match="cannot prepare fold 1"):
        cross_validation(tmp_path / "run", "mode=smoke", "cv.folds=2", "cv.parallel=2")
    [pid] = re.findall(r"fold_0: started \(process (\d+)\)", capsys.readouterr().out)
    assert not Path(f"/proc/{pid}").exists()  # stopped and waited for, not left training


# ---- sweeps --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_sweep_ranks_learning_rates_by_the_cv_mean(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "train.py",
            "-m",
            "cv=kfold",
            "cv.folds=2",
            *QUICK_MODEL,
            "trainer.max_epochs=1",
            "optimizer.lr=1e-5,3e-3",
            f"hydra.sweep.dir={tmp_path}",
            *QUICK,
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    rows = read_csv(tmp_path / "summary.csv")
    assert [r["job"] for r in rows] == ["0", "1"]  # the folds are not jobs of the sweep
    for row in rows:
        cv = json.loads((Path(row["output_dir"]) / "summary.json").read_text())["cv"]
        assert float(row["objective"]) == pytest.approx(cv["spread"]["val"]["mean"])
        assert float(row["val_std"]) == pytest.approx(cv["spread"]["val"]["std"])
        assert row["folds"] == "2"
    slow, fast = rows
    assert float(fast["objective"]) > float(slow["objective"])  # 1e-5 barely moves in an epoch
    assert f"{float(fast['val']):.4f} +- {float(fast['val_std']):.4f}" in done.stdout


# ---- modes and trainers ----------------------------------------------------------------------
@pytest.mark.slow
def test_fraction_trains_each_fold_on_a_fraction_of_its_training_part(tmp_path):
    run = tmp_path / "cv"
    summary = cross_validation(run, "mode=fraction", "trainer.max_epochs=1", "cv.folds=2")
    assert summary["status"] == "completed"
    pool = len(read_csv(run / "oof_predictions.csv"))  # every pooled item validated once
    for k in range(2):
        data = json.loads((run / f"fold_{k}" / "summary.json").read_text())["data"]
        assert data["sizes"]["train"] == math.ceil(0.1 * data["full_train_size"])
        assert data["full_train_size"] + data["sizes"]["val"] == pool


@pytest.mark.slow
@pytest.mark.feature("ddp")
def test_ddp_folds_train_on_every_rank_rank_zero_writes_and_resumes_them(tmp_path):
    """Then the run resumes with process zero alone copying the finished folds."""
    settings = ["cv.folds=2", "mode=smoke", "trainer=ddp_cpu"]
    run = tmp_path / "earlier"
    done = train_cli(run, *settings)
    assert done.returncode == 0, done.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert [f["status"] for f in summary["cv"]["per_fold"]] == ["completed"] * 2
    assert json.loads((run / "fold_0" / "summary.json").read_text())["trainer"]["world_size"] == 2
    assert summary["cv"]["oof"]["items"] == len(read_csv(run / "oof_predictions.csv"))
    assert done.stdout.count("fold runs completed") == 1  # one summary, not one per rank

    shutil.rmtree(tmp_path / "earlier" / "fold_1")  # as if killed before fold 1 started
    (tmp_path / "earlier" / "summary.json").unlink()
    resume = [*QUICK, "cv=kfold", *settings, "ckpt_path=last", f"hydra.run.dir={tmp_path}/resumed"]
    try:  # (the other rank copying fold_0 too: FileExistsError there, the run dies or hangs)
        resumed = subprocess.run(
            [sys.executable, "train.py", *resume],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=240,
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"the resumed DDP run hung: {hung.stderr}")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((tmp_path / "resumed" / "summary.json").read_text())
    assert [f["status"] for f in summary["cv"]["per_fold"]] == ["completed"] * 2
    kept = json.loads((tmp_path / "resumed" / "fold_0" / "summary.json").read_text())
    assert kept["output_dir"] == str(tmp_path / "resumed" / "fold_0")  # copied, not trained


@pytest.mark.slow
def test_parallel_folds_give_the_figures_of_folds_in_turn(tmp_path):
    run = tmp_path / "parallel"
    done = train_cli(run, "cv.folds=2", "cv.parallel=2", "mode=smoke")
    assert done.returncode == 0, done.stderr
    parallel = json.loads((run / "summary.json").read_text())
    in_turn = cross_validation(tmp_path / "in_turn", "cv.folds=2", "mode=smoke")
    assert parallel["cv"]["spread"]["val"]["values"] == pytest.approx(
        in_turn["cv"]["spread"]["val"]["values"], abs=1e-6
    )
    assert parallel["metrics"]["test"] == pytest.approx(in_turn["metrics"]["test"], abs=1e-6)
    assert all((run / f"fold_{k}.log").is_file() for k in range(2))  # each fold's own output


def test_the_sweep_table_reads_a_cv_run_as_one_job_with_its_spread(tmp_path):
    from {{ cookiecutter.package_name }}.training.cv import CV_CONFIG
    from {{ cookiecutter.package_name }}.training.sweep import collect

    job = tmp_path / "0"
    (job / "fold_0").mkdir(parents=True)
    (job / CV_CONFIG).write_text("{}\n")
    fold = {"status": "completed", "task": {"score": "acc"}, "metrics": {"val": {"acc": 0.5}}}
    (job / "fold_0" / "summary.json").write_text(json.dumps(fold))
    spread = {"val": {"mean": 0.8, "std": 0.02, "values": [0.78, 0.8, 0.82]}}
    cv_run = {**fold, "metrics": {"val": {"acc": 0.8}}, "cv": {"spread": spread}}
    (job / "summary.json").write_text(json.dumps(cv_run))
    [row] = collect(tmp_path, "val/acc")
    assert (row["job"], row["val"], row["objective"]) == ("0", 0.8, 0.8)
    assert (row["val_std"], row["folds"]) == (0.02, 3)
