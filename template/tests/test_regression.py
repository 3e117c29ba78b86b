"""Regression through the whole workflow: the rotated digits are learned far beyond the mean
predictor, numbers come back in the targets' own units, ``y_range`` bounds the outputs, and a
folder of images with a CSV of numbers trains, its bad rows reported by line.
(Overfit, lr=0, fraction, checkpoint round trip and clean-data: ``test_tasks.py``.)"""

import csv
{% if "deploy" in cookiecutter.__features.split(",") -%}
import shutil
{% endif -%}
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class
from PIL import Image

from {{ cookiecutter.package_name }}.analysis.interpret import interpret
from {{ cookiecutter.package_name }}.analysis.predict import load_trained
{%- if "deploy" in cookiecutter.__features.split(",") %}
from {{ cookiecutter.package_name }}.analysis.predict_files import run as predict_run
{%- endif %}
from {{ cookiecutter.package_name }}.data.image_csv_regression import (
    ImageCSVRegressionDataModule,
)
from {{ cookiecutter.package_name }}.tasks.base import TaskError
from {{ cookiecutter.package_name }}.training import run
from {{ cookiecutter.package_name }}.training.errors import user_message

from conftest import compose_config


def test_full_run_learns_the_angle_and_reports_degrees(run_train, tmp_path):
    summary = run_train("task=regression", "mode=full", "trainer.max_epochs=12")
    test, fit = summary["metrics"]["test"], summary["verdicts"]["fit"]
    assert summary["status"] == "completed"
    assert test["r2"] >= 0.9, test
    assert fit["baseline"] < 0.05 and fit["val"] > fit["baseline"] + 0.8  # far above the mean
    # eval writes the interpretation; its per-item table reproduces the run's numbers
    cfg = compose_config(
        "eval",
        [
            f"ckpt_path={summary['best_checkpoint']}",
            "splits=[test]",
            "+trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
        ],
        tmp_path / "eval",
    )
    report = run.evaluate(cfg).to_dict()["interpretation"]
    folder = Path(report["folder"])
    for name in (
        "scatter.png",
        "residuals.png",
        "worst.csv",
        "worst.png",
        "per_target.csv",
        "predictions.csv",
    ):
        assert (folder / name).stat().st_size > 0, name
    with (folder / "predictions.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    true = torch.tensor([float(r["true_angle"]) for r in rows])
    pred = torch.tensor([float(r["pred_angle"]) for r in rows])
    assert len(rows) == summary["data"]["sizes"]["test"]
    # degrees, not standardized units: the angles span [-45, 45]
    assert true.abs().max() > 30 and true.abs().max() <= 45.0
    assert (pred - true).abs().mean().item() == pytest.approx(test["mae"], rel=1e-3)
    assert report["mae"] == pytest.approx(test["mae"], rel=1e-3)
    with (folder / "worst.csv").open(newline="") as file:
        errors = [float(r["abs_error"]) for r in csv.DictReader(file)]
    assert errors == sorted(errors, reverse=True)
    assert errors[0] == pytest.approx((pred - true).abs().max().item(), rel=1e-3)


def _task(tmp_path, *overrides):
    cfg = compose_config("train", ["task=regression", *overrides], tmp_path)
    task_cls = get_class(cfg.task._target_)
    datamodule = run.build_datamodule(cfg, task_cls)
    return run.build_module(cfg, task_cls, datamodule), datamodule


def test_targets_are_standardized_for_the_loss_and_decoded_to_original_units(tmp_path):
    module, datamodule = _task(tmp_path)
    task = module.task
    train = datamodule.split_targets("train", full=True)
    assert task.target_info["mean"][0] == pytest.approx(float(train.mean()), abs=1e-4)
    assert task.target_info["std"][0] == pytest.approx(float(train.std()), rel=1e-4)
    # predicting the training mean: standardized output 0, its loss is the chance level
    zeros = torch.zeros(len(train), 1)
    assert task.decode(zeros)[0, 0].item() == pytest.approx(float(train.mean()), abs=1e-4)
    assert task.item_losses(zeros, train).mean().item() == pytest.approx(
        task.chance_loss(), rel=1e-4
    )
    assert task.chance_loss() == pytest.approx(1.0, abs=0.01)
    val = datamodule.split_targets("val")
    assert abs(task.baseline(train, val)) < 0.05
{%- if "deploy" in cookiecutter.__features.split(",") %}
    # an export's consumer decodes with the numbers export_info gives, by the rule it states
    info = task.export_info()
    outputs = torch.randn(5, 1)
    mean, std = torch.tensor(info["target_mean"]), torch.tensor(info["target_std"])
    assert "output * target_std + target_mean" in info["decode"]
    assert torch.allclose(outputs * std + mean, task.decode(outputs))
{%- endif %}


def test_y_range_bounds_the_outputs_in_original_units(tmp_path):
    module, datamodule = _task(tmp_path, "task.y_range=[-10,10]", "task.loss=smooth_l1")
    module.eval()
    task = module.task
    x = torch.randn(64, *datamodule.input_shape) * 1000  # drive the raw outputs far out
    with torch.no_grad():
        values = task.decode(module(x))
    assert values.min() >= -10.0 - 1e-4 and values.max() <= 10.0 + 1e-4
    # the squashing itself: any raw output maps into the range, in order, reaching both ends
    module.model = torch.nn.Identity()
    raw = torch.linspace(-1e4, 1e4, 101)[:, None]
    squashed = task.decode(module(raw))[:, 0]
    assert (squashed.diff() >= 0).all() and squashed.min() >= -10.0 - 1e-4
    assert squashed[0] == pytest.approx(-10.0, abs=1e-3)
    assert squashed[-1] == pytest.approx(10.0, abs=1e-3)
    with pytest.raises(TaskError, match="low < high"):
        _task(tmp_path / "bad", "task.y_range=[10,-10]")


def _write_images(root: Path, count: int) -> list[list[str]]:
    """Grey squares whose brightness is the target (learnable from the image alone)."""
    rows = []
    for i in range(count):
        value = (i * 37 % count) / count
        image = Image.new("L", (16, 16), color=int(255 * value))
        image.save(root / f"img{i:03d}.png")
        rows.append([f"img{i:03d}.png", f"{100 * value:.3f}", f"{-value:.3f}"])
    return rows


def test_user_images_with_a_csv_train_and_bad_rows_are_reported(run_train, tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    rows = _write_images(root, 60)
    rows[4][1] = "n/a"  # line 6: not a number
    rows[9][2] = ""  # line 11: missing
    rows.append(["gone.png", "1.0", "2.0"])  # line 62: no such file
    with (root / "labels.csv").open("w", newline="") as file:
        csv.writer(file).writerows([["file", "brightness", "darkness"], *rows])

    with pytest.raises(ValueError) as failed:
        ImageCSVRegressionDataModule(root=str(root), stratify="quantiles").setup()
    message = str(failed.value)
    assert "3 bad rows" in message and "line 6:" in message and "not a number" in message
    assert "line 11:" in message and "missing" in message and "line 62:" in message
    assert "data.on_bad=skip" in message
    # the setting's old name (a user's own yaml, +data.on_bad_rows=...): named, not ignored
    with pytest.raises(ValueError) as renamed:
        _task(tmp_path, "data=image_csv_regression", f"data.root={root}", "+data.on_bad_rows=skip")
    assert user_message(renamed.value) == (
        "data.on_bad_rows was renamed data.on_bad: set data.on_bad=skip instead (in your own "
        "data config too)"
    )

    data = [
        "data=image_csv_regression",
        f"data.root={root}",
        "data.on_bad=skip",
        "data.image_size=16",
        "data.channels=1",
        "data.num_workers=0",
        "data.batch_size=8",
    ]
    summary = run_train("task=regression", *data, "trainer.max_epochs=2")
    assert summary["status"] == "completed"
    assert summary["data"]["skipped_files"] == 3 and summary["data"]["targets"] == 2
    assert sum(summary["data"]["sizes"].values()) == 58  # 61 rows, 3 bad
    # errors in the CSV's units (brightness spans 0..100), not standardized ones
    assert summary["metrics"]["test"]["mae"] > 0.5
    # the interpretation report of two targets: a scatter and a residual panel for each
    module, datamodule = load_trained(summary["best_checkpoint"])
    report = interpret(module, datamodule, tmp_path / "eval", "test", 4)
    assert {"scatter.png", "residuals.png"} <= set(report["files"]), report["files"]
    # a checkpoint written when the setting was on_bad_rows rebuilds the same data
    checkpoint = torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=True)
    stored = checkpoint["datamodule"]
    assert stored["on_bad"] == "skip" and "on_bad_rows" not in stored
    stored["on_bad_rows"] = stored.pop("on_bad")
    torch.save(checkpoint, tmp_path / "before_the_rename.ckpt")
    _, old = load_trained(tmp_path / "before_the_rename.ckpt")
    assert old.hparams.on_bad == "skip" and len(old.skipped_files) == 3
    assert old.indices == datamodule.indices

    one = ImageCSVRegressionDataModule(
        root=str(root),
        on_bad="skip",
        y_names=["brightness"],
        stratify="quantiles",
        image_size=16,
    )
    one.setup()
    assert one.target_names == ["brightness"] and one.loaded.targets.shape == (59, 1)
    assert len(one.skipped_files) == 2 and one.skipped_files[0].startswith("line 6:")
    assert not one.input.geometric_ok and not one.input.hflip_ok
{%- if "deploy" in cookiecutter.__features.split(",") %}
    # predicting new images needs the checkpoint only: not the training CSV nor its images
    new = tmp_path / "new"
    new.mkdir()
    for name in ("img000.png", "img001.png"):
        (root / name).rename(new / name)
    shutil.rmtree(root)
    cfg = compose_config(
        "predict",
        [f"ckpt_path={summary['best_checkpoint']}", f"inputs={new}"],
        tmp_path / "predict",
    )
    assert predict_run(cfg)["predicted"] == 2
{%- endif %}


@pytest.mark.feature("transfer", "lr_find")  # fine-tuning schedules, the zoo, the finder
def test_zoo_fine_tune_and_lr_finder_run_on_the_regression_task(run_train):
    summary = run_train(
        "task=regression",
        "mode=smoke",
        "model=timm",
        "model.name=test_resnet",
        "model.input_size=16",
        "finetune=fine_tune",
        "finetune.freeze_epochs=1",
        "trainer.max_epochs=2",
        "evaluate.splits=[val]",
        "lr_find=apply",
        "lr_find.num_it=20",
    )
    assert summary["status"] == "completed"
    stages = summary["verdicts"]["finetune"]["stages"]
    assert [s["stage"] for s in stages] == ["frozen", "unfrozen"]
    found = summary["lr_find"]  # its suggestion comes from the regression loss
    assert found["applied"] and found["lr_after"] == found["suggestion"] > 0
    assert set(summary["metrics"]["val"]) == {"loss", "mae", "rmse", "r2"}


def test_the_best_attainable_r2_leaves_out_the_variance_within_identical_inputs(tmp_path):
    cfg = compose_config("train", ["task=regression"], tmp_path)
    task_cls = get_class(cfg.task._target_)
    task = run.build_module(cfg, task_cls, run.build_datamodule(cfg, task_cls)).task
    groups = torch.tensor([0, 0, 1, 1, 2])
    targets = torch.tensor([[1.0], [3.0], [5.0], [5.0], [10.0]])  # group means 2, 5, 10
    within = 2.0  # (1-2)² + (3-2)²
    total = float((targets - targets.mean()).pow(2).sum())
    best = task.best_attainable(groups, targets, "r2")
    assert best == pytest.approx(1 - within / total, abs=1e-5)
