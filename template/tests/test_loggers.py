"""Experiment loggers: wandb offline writes a run with the config and the final summary; wandb
online without an API key stops at once with a clear message (no prompt, no hang)."""

import sqlite3

import pytest
from default_task import MODEL, QUICK_MODEL, SCORE


def test_wandb_offline_writes_a_run_with_config_and_summary(run_train, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    summary = run_train("logger=wandb", "mode=smoke", *QUICK_MODEL)
    assert summary["status"] == "completed"
    runs = list((summary_dir(summary) / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    # offline runs keep everything in one binary log (protobuf records; uploaded by `wandb sync`)
    log = next(runs[0].glob("run-*.wandb")).read_bytes()
    assert MODEL.encode() in log and b"overfit_target" in log  # the resolved config
    assert f"summary/test/{SCORE}".encode() in log and b"completed" in log  # the final summary


def test_wandb_online_without_api_key_fails_fast_with_a_clear_message(
    run_train, monkeypatch, tmp_path
):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_IDENTITY_TOKEN_FILE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with pytest.raises(RuntimeError, match=r"wandb login.*WANDB_MODE=offline"):
        run_train("logger=wandb", "mode=smoke")


def test_tensorboard_gets_the_final_summary(run_train):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    summary = run_train("logger=tensorboard", "mode=smoke", *QUICK_MODEL)
    events = EventAccumulator(
        str(summary_dir(summary) / "tensorboard"), size_guidance={"tensors": 0}
    ).Reload()
    assert "summary/text_summary" in events.Tags()["tensors"]
    assert f"summary/test/{SCORE}" in events.Tags()["scalars"]


def summary_dir(summary: dict):
    from pathlib import Path

    return Path(summary["output_dir"])


def test_mlflow_local_database_gets_config_and_summary(run_train, tmp_path):
    pytest.importorskip("mlflow")
    store = tmp_path / "mlruns"
    summary = run_train(
        "logger=mlflow",
        "mode=smoke",
        *QUICK_MODEL,
        f"logger.mlflow.tracking_uri=sqlite:///{tmp_path}/mlflow.db",
        f"+logger.mlflow.artifact_location={store}",
    )
    assert summary["status"] == "completed"
    artifacts = list(store.rglob("summary.json"))
    assert len(artifacts) == 1
    assert '"status": "completed"' in artifacts[0].read_text()
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        params = dict(db.execute("SELECT key, value FROM params").fetchall())
    assert params["model/name"] == MODEL  # the resolved config, flattened


def test_wandb_runs_of_a_multirun_are_grouped_by_sweep(monkeypatch, tmp_path):
    pytest.importorskip("wandb")
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    from {{ cookiecutter.package_name }}.training.loggers import build_loggers

    from conftest import CONFIGS

    monkeypatch.setenv("WANDB_MODE", "offline")
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "logger=wandb",
                "seed=7",
                "hydra.mode=MULTIRUN",
                f"hydra.sweep.dir={tmp_path}/sweep",
            ],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    try:
        [logger] = build_loggers(cfg)  # the run itself starts only when something is logged
    finally:
        HydraConfig.instance().cfg = None
    assert logger._wandb_init["group"] == f"{tmp_path}/sweep"
    assert "seed=7" in logger._wandb_init["name"]
