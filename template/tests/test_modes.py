"""Each mode through the real configs: on the embedded digits (image classification) where a test
reads their figures, else on the project's default task."""

import csv
import json
import math
import random
from pathlib import Path

import pytest
from default_task import QUICK_MODEL


@pytest.mark.task("classification")  # the digits' figures (test_tasks.py: every task's contract)
def test_overfit_reaches_the_target_on_one_batch_and_stops(run_train):
    summary = run_train("task=classification", "mode=overfit")
    verdict = summary["verdicts"]["overfit"]
    assert summary["status"] == "completed"
    assert verdict["reached"] and verdict["target"] == 1.0
    assert 0 < verdict["steps"] < 500  # stopped early, as soon as the batch was learned
    assert verdict["batch_size"] == 64 and verdict["num_batches"] == 1
    assert f"in {verdict['steps']} steps" in verdict["message"]
    assert summary["metrics"]["train"]["acc"] == 1.0  # measured again, in eval mode
    assert summary["data"]["sizes"]["train"] == 64
    on_disk = json.loads((Path(summary["output_dir"]) / "summary.json").read_text())
    assert on_disk["verdicts"]["overfit"]["steps"] == verdict["steps"]


def test_overfit_with_lr_zero_fails_with_a_diagnosis(run_train):
    summary = run_train("mode=overfit", "optimizer.lr=0", "trainer.max_steps=60")
    verdict = summary["verdicts"]["overfit"]
    assert summary["status"] == "failed" and not verdict["reached"]
    assert verdict["steps"] == 60
    assert verdict["first_loss"] == verdict["last_loss"]
    assert "not decreasing" in " ".join(verdict["diagnosis"])


@pytest.mark.task("classification")
def test_overfit_with_lr_zero_on_classes_says_the_loss_is_stuck_at_chance(run_train):
    summary = run_train(
        "task=classification", "mode=overfit", "optimizer.lr=0", "trainer.max_steps=60"
    )
    text = " ".join(summary["verdicts"]["overfit"]["diagnosis"])
    assert "not decreasing" in text and "ln(C)" in text


# outputs squashed into a range (ratings) stay finite at any rate: told on unbounded logits
@pytest.mark.task("classification")
def test_overfit_with_nan_loss_stops_as_diverged_and_says_lr_too_high(run_train):
    summary = run_train(
        "task=classification",
        "mode=overfit",
        "optimizer.lr=1e12",
        "trainer.max_steps=20",
        "optimizer=sgd",
        "optimizer.momentum=0",
        "optimizer.nesterov=false",
    )
    assert summary["status"] == "diverged" and summary["exit_code"] == 3
    assert (
        "too high" in summary["message"]
        and "too high" in summary["verdicts"]["overfit"]["diagnosis"][0]
    )
    assert summary["trainer"]["global_step"] < 20  # stopped at the first non-finite loss


def test_a_rising_loss_is_diagnosed_as_a_rate_too_high():
    """A loss that rises without becoming NaN: the rate is too high, not too small."""
    from {{ cookiecutter.package_name }}.training.overfit import OverfitCheck

    check = OverfitCheck(target=1.0)
    check.losses = [2.3, 5.0, 40.0, 300.0, 280.0, 310.0]
    assert "too high" in check.diagnosis()[0] and "too small" not in " ".join(check.diagnosis())
    check.losses = [2.3] * 6  # flat: nothing learns (lr 0 or far too small)
    assert any("too small" in cause for cause in check.diagnosis())


@pytest.mark.task("classification")
def test_fraction_trains_on_a_tenth_and_tests_on_untouched_splits(run_train):
    full = run_train("task=classification", "mode=smoke")
    part = run_train("task=classification", "mode=fraction", "trainer.max_epochs=15")
    sizes, full_sizes = part["data"]["sizes"], full["data"]["sizes"]
    assert sizes["train"] == math.ceil(0.1 * full_sizes["train"])
    assert sizes["val"] == full_sizes["val"] and sizes["test"] == full_sizes["test"]
    assert part["data"]["fraction"] == 0.1
    assert part["metrics"]["test"]["acc"] > 0.7  # ~126 images are enough to learn digits
    assert part["verdicts"]["fit"]["diagnosis"]


@pytest.mark.task("classification")
def test_full_run_tests_the_best_checkpoint_and_judges_the_fit(run_train):
    summary = run_train("task=classification", "mode=full", "trainer.max_epochs=6")
    assert summary["status"] == "completed"
    assert summary["metrics"]["test"]["acc"] > 0.9
    assert set(summary["metrics"]) == {"train", "val", "test"}
    assert Path(summary["best_checkpoint"]).name == "best.ckpt"
    assert summary["verdicts"]["fit"]["diagnosis"] in {
        "good fit",
        "overfitting",
        "underfitting",
        "underfitting and overfitting",
    }
    assert summary["model"]["params_trainable"] == summary["model"]["params_total"] > 0


def test_smoke_runs_a_few_batches_of_everything(run_train):
    summary = run_train("mode=smoke", *QUICK_MODEL)
    assert summary["status"] == "completed"
    assert set(summary["metrics"]) == {"train", "val", "test"}
    assert "fit" not in summary["verdicts"]


def test_a_crash_still_writes_the_summary(run_train, tmp_path):
    import pytest

    with pytest.raises(Exception, match="unknown model"):
        run_train("mode=smoke", "model.name=nope")
    written = json.loads(next(tmp_path.glob("run*/summary.json")).read_text())
    assert written["status"] == "crashed" and "unknown model" in written["error"]


@pytest.mark.task("classification")
def test_overfit_on_two_batches_needs_both(run_train):
    """The target must hold on every fixed batch at once, not on whichever came last."""
    summary = run_train(
        "task=classification", "mode=overfit", "mode.batches=2", "mode.batch_size=32"
    )
    verdict = summary["verdicts"]["overfit"]
    assert verdict["reached"] and verdict["num_batches"] == 2
    assert summary["data"]["sizes"]["train"] == 64
    assert summary["metrics"]["train"]["acc"] == 1.0  # both batches, measured after training


def write_passengers(path, rows: int = 240, seed: int = 0):
    """sex, class and an age band (18 distinct rows) with a random outcome: every batch of 64
    holds identical rows with both outcomes, so no model can be right on all of them."""
    rng = random.Random(seed)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["sex", "pclass", "age", "survived"])
        for _ in range(rows):
            sex, pclass, age = rng.choice("mf"), rng.choice("123"), rng.choice([5, 30, 60])
            chance = (0.75 if sex == "f" else 0.2) + (0.15 if pclass == "1" else 0.0)
            writer.writerow([sex, f"c{pclass}", age, "yes" if rng.random() < chance else "no"])
    return path


@pytest.mark.task("tabular")
def test_overfit_on_conflicting_duplicates_is_judged_against_the_attainable_ceiling(
    run_train, tmp_path
):
    table = [
        "task=tabular",
        "data=table_csv",
        f"data.path={write_passengers(tmp_path / 'passengers.csv')}",
        "data.y_names=[survived]",
        "mode=overfit",
    ]
    summary = run_train(*table)
    verdict = summary["verdicts"]["overfit"]
    assert summary["status"] == "completed" and verdict["reached"], verdict["message"]
    assert 0.5 < verdict["attainable"] < 1.0 and verdict["conflicting_items"] > 0
    assert verdict["best"] == pytest.approx(verdict["attainable"])
    assert (
        f"this batch holds {verdict['conflicting_items']} identical inputs with different "
        f"targets: the best attainable train acc is {verdict['attainable']:.4g}"
    ) in verdict["message"]
    assert f"in {verdict['steps']} steps" in verdict["message"]

    stuck = run_train(*table, "optimizer.lr=0", "trainer.max_steps=30")
    assert stuck["status"] == "failed" and not stuck["verdicts"]["overfit"]["reached"]
    assert stuck["verdicts"]["overfit"]["attainable"] == verdict["attainable"]
