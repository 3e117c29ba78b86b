"""Seeds, checkpoints and the eval round trip."""

from __future__ import annotations

import torch

from conftest import compose_config

SHORT = ("mode=full", "trainer.max_epochs=2")


def test_same_seed_same_metrics_and_seed_zero_is_used(run_train):
    first, second = run_train(*SHORT, "seed=0"), run_train(*SHORT, "seed=0")
    other = run_train(*SHORT, "seed=1")
    assert first["metrics"] == second["metrics"]
    assert first["metrics"] != other["metrics"]  # seed 0 is a seed, not "no seed"


def test_checkpoint_holds_plain_values_and_eval_reproduces_the_metrics(run_train, tmp_path):
    from {{ cookiecutter.package_name }}.training.run import evaluate

    summary = run_train(*SHORT)
    checkpoint = torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=True)
    assert checkpoint["datamodule"]["_target_"].endswith("DigitsDataModule")
    assert checkpoint["hyper_parameters"]["model"]["name"] == "cnn"

    cfg = compose_config(
        "eval",
        [f"ckpt_path={summary['best_checkpoint']}", "+trainer.enable_progress_bar=false"],
        tmp_path / "eval",
    )
    evaluated = evaluate(cfg).to_dict()
    for split, values in summary["metrics"].items():
        for name, value in values.items():
            assert abs(evaluated["metrics"][split][name] - value) < 1e-6, (split, name)
    assert (tmp_path / "eval" / "summary.json").is_file()
