"""The LR range test: suggestion rules, a sane suggestion on digits, group ratios kept,
tiny data sets (told on image classification: the ladder's backbone stages)."""

import csv
import itertools
import math

import lightning as L
import numpy as np
import pytest
import torch

from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import facts_config, model_config
from {{ cookiecutter.package_name }}.training import lr_finder
from {{ cookiecutter.package_name }}.training.module import TaskModule
from {{ cookiecutter.package_name }}.training.optim import parameter_groups

from pngcheck import assert_png

RATIOS = [0.01, 0.1, 1.0]  # input stage, middle stage, head
on_digits = pytest.mark.task("classification")  # a cnn on the digits, scored as 10 classes


def digits(**options):
    from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule

    return DigitsDataModule(**options)


class Discriminative(TaskModule):
    """Per-group LRs derived from ``self.lr`` (the way the task does with layer-group ratios)."""

    def configure_optimizers(self):
        groups = self.model.layer_groups()
        assert len(groups) == len(RATIOS)
        return torch.optim.AdamW(parameter_groups(groups, [self.lr * r for r in RATIOS], 0.0))


def make_task(cls=TaskModule, lr=3e-3):
    from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask

    torch.manual_seed(0)
    return cls.for_task(
        ClassificationTask,
        model=model_config("cnn", width=8, depth=2),
        targets={"names": list("0123456789")},
        inputs=facts_config(InputFacts("image", (1, 8, 8))),
        optimizer={"_target_": "torch.optim.AdamW", "_partial_": True, "lr": lr},
        scheduler={
            "_target_": "{{ cookiecutter.package_name }}.training.optim.constant",
            "_partial_": True,
        },
    )


def synthetic_curve():
    lrs = list(np.geomspace(1e-7, 10, 100))
    losses = [2.3 if lr < 1e-4 else 2.3 - 0.5 * math.log10(lr / 1e-4) for lr in lrs]
    losses = [
        loss if lr < 0.1 else 0.8 + 3 * math.log10(lr / 0.1)
        for lr, loss in zip(lrs, losses, strict=True)
    ]
    return lrs, losses


def test_suggestion_rules_on_a_known_curve():
    lrs, losses = synthetic_curve()  # flat, falls from 1e-4 to its minimum at 0.1, then rises
    valley = lr_finder.suggest_valley(lrs, losses)
    assert 1e-4 < valley < 0.1
    assert 1e-4 <= lr_finder.suggest_steep(lrs, losses) < 0.1
    assert lr_finder.suggest_minimum(lrs, losses) == pytest.approx(0.01, rel=0.2)


def smoothed(raw_losses: list[float]) -> list[float]:
    """``raw_losses`` as the range test records them (its EMA, beta 0.98), up to where it
    stops (the smoothed loss past 4x its best)."""
    finder = lr_finder.LRRangeTest(base_lr=1e-3, num_it=len(raw_losses))
    for loss in raw_losses:
        if finder.record(loss):
            break
    return finder.smoothed


@pytest.mark.parametrize("seed", range(5))
def test_valley_lies_in_the_descent_after_a_noisy_flat_start(seed):
    """Flat (with noise) up to 1e-2, falling from 1e-2 to 1, rising after: the EMA makes the flat
    part creep down here and there, and a decreasing subsequence may start far up it; the pick
    must still lie where the loss falls (the rule's middle once fell on the flat part, ~1e-3)."""
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-7, 10, 100)
    position = np.log10(lrs)
    clean = np.where(
        position < -2, 2.3, np.where(position < 0, 2.3 - 0.9 * (position + 2), 0.5 + 3 * position)
    )
    losses = smoothed(list(clean + rng.normal(0, 0.05, len(lrs))))
    lrs = list(lrs[: len(losses)])  # up to where the test stops (the loss diverged)
    assert 1e-2 <= lr_finder.suggest_valley(lrs, losses) <= 1
    first, last = lr_finder.valley(lrs, losses)
    assert first < 1e-2 < last  # the stretch reaches back into the flat part, not its middle


@on_digits
def test_lr_find_on_digits_is_sane_keeps_ratios_and_restores_weights(tmp_path):
    datamodule = digits(batch_size=64)
    task = make_task(Discriminative)
    before = {k: v.clone() for k, v in task.state_dict().items()}
    result = lr_finder.find_lr(
        task, datamodule, tmp_path, apply=True, num_it=60, trainer_options={"accelerator": "cpu"}
    )
    assert 1e-4 <= result["suggestion"] <= 0.3, result["suggestions"]
    # the pick lies where the loss falls: below the flat start (1e-6..1e-4) by more than the flat
    # start's own ups and downs (the old rule's pick, 8.6e-4, lay within them)
    with open(result["curve"], newline="") as file:
        rows = list(csv.DictReader(file))
    curve = {float(row["lr"]): float(row["smoothed_loss"]) for row in rows}
    flat = [loss for lr, loss in curve.items() if 1e-6 <= lr <= 1e-4]
    picked = curve[result["suggestion"]]
    assert picked < min(flat) - (max(flat) - min(flat)), (result["suggestion"], picked, flat)
    assert result["applied"] and task.lr == result["suggestion"]
    # during the test every group moved by the same factor: the ratios never changed
    pairs = sorted({round(r, 9) for r in result["group_lr_ratios"]})
    assert pairs == pytest.approx(RATIOS)
    for name, value in task.state_dict().items():
        assert torch.equal(value, before[name]), f"{name} not restored"
    # training after apply: each group gets suggestion x its ratio
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=1,
        logger=False,
        limit_val_batches=0,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=datamodule)
    lrs = sorted({round(g["lr"], 12) for g in trainer.optimizers[0].param_groups})
    assert lrs == pytest.approx([result["suggestion"] * r for r in RATIOS])
    # the raw curve and the plot
    assert len(rows) == result["steps"] and float(rows[0]["lr"]) == pytest.approx(1e-7)
    assert all(float(a["lr"]) < float(b["lr"]) for a, b in itertools.pairwise(rows))
    assert_png(tmp_path / "plots" / "lr_find.png")


@on_digits
def test_tiny_data_is_not_cut_short_by_max_epochs(tmp_path):
    datamodule = digits(batch_size=64, fraction=0.04)  # 51 images: 1 batch per epoch
    result = lr_finder.find_lr(
        make_task(),
        datamodule,
        tmp_path,
        num_it=30,
        end_lr=1e-2,
        trainer_options={"accelerator": "cpu"},
    )
    assert datamodule.sizes()["train"] < 64
    assert result["steps"] == 30 and not result["stopped_early"]
    assert not result["applied"] and result["lr_after"] == result["lr_before"] == 3e-3


@on_digits
def test_divergence_stops_the_test(tmp_path):
    result = lr_finder.find_lr(
        make_task(),
        digits(batch_size=64),
        tmp_path,
        num_it=100,
        start_lr=1e-3,
        end_lr=1e6,
        trainer_options={"accelerator": "cpu"},
    )
    assert result["stopped_early"] and result["steps"] < 100


def test_lr_find_from_the_config_records_the_suggestion(run_train):
    summary = run_train(
        "mode=fraction", "trainer.max_epochs=2", "lr_find=apply", "lr_find.num_it=40"
    )
    found = summary["lr_find"]
    assert found["applied"] and found["rule"] == "valley"
    assert found["lr_after"] == found["suggestion"] != found["lr_before"]
    assert set(found["suggestions"]) == {"valley", "steep", "minimum"}
    assert_png(found["plot"])


class FreezeBackbone(L.Callback):
    """Stands in for a fine-tune schedule's first stage: only the head trains."""

    use_in_lr_find = True

    def on_fit_start(self, trainer, pl_module):
        self.used = True
        for param in pl_module.model.backbone.parameters():
            param.requires_grad_(False)
        trainer.strategy.setup_optimizers(trainer)  # rebuild: frozen groups are left out


@on_digits
def test_lr_find_with_a_frozen_backbone_restores_everything(tmp_path):
    task = make_task()
    freeze = FreezeBackbone()
    result = lr_finder.find_lr(
        task,
        digits(batch_size=64),
        tmp_path,
        num_it=30,
        end_lr=1e-2,
        callbacks=[freeze],
        trainer_options={"accelerator": "cpu"},
    )
    assert freeze.used and result["steps"] == 30
    assert len(result["group_lr_ratios"]) == 2  # the head's two groups only
    assert all(p.requires_grad for p in task.parameters())  # unfrozen again afterwards


@on_digits
@pytest.mark.feature("transfer")  # fine-tuning schedules and the zoo
def test_lr_find_with_fine_tune_searches_the_frozen_first_stage(run_train):
    """fastai's order: find the LR on the frozen model, then fine-tune with it. The test runs
    5 epochs of digits; it must not unfreeze after `freeze_epochs=1` in the middle of it."""
    summary = run_train(
        "finetune=fine_tune", "trainer.max_epochs=2", "lr_find=apply", "lr_find.num_it=100"
    )
    during = summary["lr_find"]["during"]["finetune"]
    assert [s["stage"] for s in during["stages"]] == ["frozen"]
    assert during["stages"][0]["params_trainable"] < during["stages"][0]["params_total"]
    # the real training then went through both stages, at rates derived from the suggestion
    stages = summary["verdicts"]["finetune"]["stages"]
    assert [s["stage"] for s in stages] == ["frozen", "unfrozen"]
    assert stages[0]["group_lrs"][-1] == pytest.approx(summary["lr_find"]["suggestion"], rel=1e-5)
