"""Sweeps: a failing run does not stop a multirun, summary.csv lists every run, Optuna studies
return their best value, resume from their storage and survive a crashing trial; launchers."""

import csv
import importlib.util
import logging
import os
import sqlite3
import subprocess
import sys

import pytest
import yaml
from default_task import DEFAULT_TASK, QUICK_MODEL, SCORE
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from {{ cookiecutter.package_name }}.training import sweep

from conftest import CONFIGS, PROJECT

SUBMITIT = "hydra_plugins.hydra_submitit_launcher"
QUIET = [
    "print_config=false",
    "logger=csv",
    "trainer.enable_model_summary=false",
    "+trainer.enable_progress_bar=false",
]


@pytest.fixture
def hydra_main(monkeypatch):
    """hydra_main("-m", "model=mlp", ...): train.py's main, in this process (no 5 s start-up)."""
    spec = importlib.util.spec_from_file_location("train_script", PROJECT / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main.__wrapped__.__module__ = "__main__"  # Hydra then finds configs/ next to the file
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def run(*args: str) -> None:
        monkeypatch.setattr(sys, "argv", ["train.py", *args, *QUIET])
        try:
            script.main()
        finally:  # Hydra keeps global state and configures logging: undo both
            GlobalHydra.instance().clear()
            HydraConfig.instance().cfg = None
            for handler in root.handlers[:]:
                if handler not in handlers:
                    root.removeHandler(handler)
                    handler.close()
            root.setLevel(level)

    return run


def read_csv(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_multirun_with_a_failing_run_writes_a_complete_summary(tmp_path, hydra_main, capsys):
    # data.fraction=2.0 is invalid: that run crashes, the two others must still run
    hydra_main(
        "-m",
        "mode=smoke",
        *QUICK_MODEL,
        "data.fraction=0.5,2.0,1.0",
        f"hydra.sweep.dir={tmp_path}",
    )
    rows = read_csv(tmp_path / "summary.csv")
    assert [r["job"] for r in rows] == ["0", "1", "2"]
    assert [r["status"] for r in rows] == ["completed", "crashed", "completed"]
    assert "data.fraction=2.0" in rows[1]["overrides"] and "data.fraction" in rows[1]["error"]
    for row in (rows[0], rows[2]):
        assert row["score"] == SCORE and row["task"] == DEFAULT_TASK
        # (every task's score is at most 1; R² has no lower bound: a smoke run's may be -1.05)
        assert float("-inf") < float(row["val"]) <= 1.0 and float(row["wall_time_s"]) > 0
        assert row["objective"] == row["val"]  # optimized_metric: val/${task.score}
    assert f"3 runs (1 not completed), {SCORE} per split" in capsys.readouterr().out  # the table


@pytest.mark.slow
@pytest.mark.feature("sweeps")
def test_optuna_returns_the_best_value_and_a_stored_study_resumes(tmp_path, hydra_main):
    """On the default task and its own model: the preset's search space is theirs."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason='pip install -e ".[sweeps]"')
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = [
        "hparams_search=optuna",
        "mode=smoke",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=test",
    ]
    hydra_main(*common, "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={tmp_path / 'first'}")
    # the resumed sweep adds one trial, which crashes (invalid fraction): marked FAIL, no abort
    hydra_main(
        *common,
        "hydra.sweeper.n_trials=1",
        "data.fraction=2.0",
        f"hydra.sweep.dir={tmp_path / 'resumed'}",
    )
    first = read_csv(tmp_path / "first" / "summary.csv")
    [crashed] = read_csv(tmp_path / "resumed" / "summary.csv")
    assert [r["status"] for r in first] == ["completed"] * 2 and crashed["status"] == "crashed"
    best = yaml.safe_load((tmp_path / "resumed" / "optimization_results.yaml").read_text())
    # the best of the whole study, stored trials included
    assert best["best_value"] == pytest.approx(max(float(r["objective"]) for r in first))
    with sqlite3.connect(tmp_path / "study.db") as db:
        states = [s for (s,) in db.execute("SELECT state FROM trials ORDER BY number")]
        params = db.execute("SELECT trial_id, param_name, param_value FROM trial_params").fetchall()
    assert states == ["COMPLETE", "COMPLETE", "FAIL"]
    lrs = [v for (_, name, v) in params if name == "optimizer.lr"]
    assert len(set(lrs)) == 3  # the resumed sweep did not repeat the stored trials


def test_a_crash_in_a_multirun_is_recorded_and_returns_none(tmp_path):
    from hydra import compose, initialize_config_dir

    def crash(cfg):
        raise RuntimeError("diverged")

    for mode, expect_raise in ((RunMode.MULTIRUN, False), (RunMode.RUN, True)):
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            cfg = compose("train", overrides=[f"hydra.mode={mode.name}"], return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        try:
            if expect_raise:
                with pytest.raises(RuntimeError, match="diverged"):
                    sweep.run_job(crash, cfg)
            else:
                assert sweep.run_job(crash, cfg) is None  # the Optuna sweeper marks the trial FAIL
        finally:
            HydraConfig.instance().cfg = None


def test_collect_reads_summaries_and_flags_jobs_without_one(tmp_path):
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "summary.json").write_text(
        '{"status": "completed", "overrides": ["model=mlp"], "model": {"name": "mlp"}, '
        '"task": {"name": "classification", "score": "acc"}, '
        '"metrics": {"val": {"acc": 0.5, "loss": 1.0}}, "wall_time_s": 1.5}'
    )
    (tmp_path / "1" / ".hydra").mkdir(parents=True)  # killed before writing its summary
    (tmp_path / "1" / ".hydra" / "overrides.yaml").write_text("- model=cnn\n")
    rows = sweep.collect(tmp_path, "val/acc")
    assert [(r["job"], r["status"], r["overrides"]) for r in rows] == [
        ("0", "completed", "model=mlp"),
        ("1", "missing", "model=cnn"),
    ]
    assert rows[0]["objective"] == 0.5 and rows[0]["val"] == 0.5 and rows[0]["score"] == "acc"
    assert sweep.metric_value({"metrics": {}}, "val/acc") is None


@pytest.mark.slow
@pytest.mark.feature("sweeps")
def test_submitit_local_runs_a_job_like_the_slurm_preset_would(tmp_path):
    pytest.importorskip(SUBMITIT, reason='pip install -e ".[cluster]"')
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(PROJECT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "train.py"),
            "-m",
            "hydra/launcher=slurm_local",
            "mode=smoke",
            *QUICK_MODEL,
            f"hydra.sweep.dir={tmp_path}",
            *QUIET,
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / ".submitit").iterdir())  # submitted through submitit
    [row] = read_csv(tmp_path / "summary.csv")
    assert row["status"] == "completed" and float(row["test"]) >= 0.0


@pytest.mark.feature("sweeps")
def test_slurm_preset_follows_the_trainer():
    pytest.importorskip(SUBMITIT, reason='pip install -e ".[cluster]"')
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "hydra/launcher=slurm",
{%- if "ddp" in cookiecutter.__features.split(",") %}
                "trainer=ddp",
                "trainer.devices=4",
                "trainer.num_nodes=2",
{%- else %}
                "trainer=gpu",
                "trainer.devices=4",
                "+trainer.num_nodes=2",
{%- endif %}
                "hydra.launcher.partition=gpu",
            ],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu"
    # one SLURM task per GPU, on every node: what Lightning's SLURM environment expects
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
