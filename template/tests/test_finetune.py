"""Fine-tune schedules: what is frozen, which learning rates each stage gets, resume per stage."""

import math
from pathlib import Path

import lightning as L
import pytest
import torch

from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule
from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import facts_config, model_config
from {{ cookiecutter.package_name }}.training.finetune import FineTune
from {{ cookiecutter.package_name }}.training.module import TaskModule
from {{ cookiecutter.package_name }}.training.optim import log_spaced_ratios

# told on image classification (the ladder's CNN stages); a project with the transfer feature and
# another image task has this file without the task: imported only inside the tests
pytestmark = pytest.mark.task("classification")
LR = 1e-2
ADAMW = {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": LR, "weight_decay": 0.01}
ONE_CYCLE = {
    "_target_": "{{ cookiecutter.package_name }}.training.optim.one_cycle",
    "_partial_": True,
    "pct_start": 0.25,
    "div_factor": 25.0,
    "final_div_factor": 4000.0,
    "cycle_momentum": True,
    "base_momentum": 0.85,
    "max_momentum": 0.95,
}
CONSTANT = {
    "_target_": "{{ cookiecutter.package_name }}.training.optim.constant",
    "_partial_": True,
}
DIGITS = InputFacts("image", (1, 8, 8))


class RecordOptimizers(L.Callback):
    """At each epoch start (after FineTune's hook): the max LR of every optimizer group."""

    def __init__(self) -> None:
        self.epochs: list[dict] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        optimizer = trainer.optimizers[0]
        scheduler = trainer.lr_scheduler_configs[0].scheduler
        layer_lrs = []
        for group in pl_module.model.layer_groups():
            ids = {id(p) for p in group.parameters()}
            lrs = {
                g["max_lr"]
                for g in optimizer.param_groups
                if any(id(p) in ids for p in g["params"])
            }
            layer_lrs.append(lrs.pop() if len(lrs) == 1 else (lrs or None))
        self.epochs.append(
            {
                "layer_lrs": layer_lrs,
                "scheduler": scheduler,
                "scheduler_step": scheduler.last_epoch,
                "total_steps": scheduler.total_steps,
            }
        )


def fit(schedule: FineTune, epochs: int, batches: int = 3, frozen_by_user: str = "", **model):
    """``frozen_by_user``: the parameters whose names start with it are frozen before training,
    as a model builder may freeze them."""
    from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask

    data = DigitsDataModule(batch_size=32, augment=False)
    data.setup()
    task = TaskModule.for_task(
        ClassificationTask,
        model_config("cnn", width=8, depth=2, **model),
        {"names": data.class_names},
        facts_config(DIGITS),
        ADAMW,
        ONE_CYCLE,
    )
    for name, param in task.model.named_parameters():
        if frozen_by_user and name.startswith(frozen_by_user):
            param.requires_grad_(False)
    before = {k: v.clone() for k, v in task.model.state_dict().items()}
    probe = RecordOptimizers()
    trainer = L.Trainer(
        max_epochs=epochs,
        limit_train_batches=batches,
        limit_val_batches=0,
        callbacks=[schedule, probe],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    trainer.fit(task, datamodule=data)
    return task, before, probe


def changed(task, before, key_part: str, kind: type = torch.nn.Module) -> dict[str, bool]:
    """Which entries of the state dict under ``key_part`` (in modules of type ``kind``) moved."""
    after = task.model.state_dict()
    names = {n for n, m in task.model.named_modules() if isinstance(m, kind)}
    return {
        k: not torch.equal(before[k], after[k])
        for k in before
        if key_part in k and k.rpartition(".")[0] in names and not k.endswith("num_batches_tracked")
    }


def test_frozen_stage_keeps_the_backbone_but_trains_batchnorm_and_head():
    schedule = FineTune("frozen", train_bn=True)
    task, before, _ = fit(schedule, epochs=1)
    # a backbone that starts from no weights is said so: frozen, its features are random
    assert "the backbone was not pretrained" in schedule.summary()["message"]
    convs = changed(task, before, "backbone.", torch.nn.Conv2d)
    bn = changed(task, before, "backbone.", torch.nn.BatchNorm2d)  # weights and statistics
    assert len(convs) == 4 and not any(convs.values())
    assert len(bn) == 4 * 4 and all(bn.values())
    assert all(changed(task, before, "head.").values())


def test_without_train_bn_batchnorm_is_frozen_too():
    task, before, _ = fit(FineTune("frozen", train_bn=False), epochs=1)
    assert not any(changed(task, before, "backbone.").values())
    assert all(changed(task, before, "head.").values())


@pytest.mark.parametrize("name", ["none", "fine_tune", "gradual"])
def test_a_parameter_the_model_builder_froze_never_trains(name):
    frozen = "backbone.0.0."  # the first convolution block
    schedule = FineTune(name, freeze_epochs=1, epochs_per_group=1, train_bn=False)
    task, before, _ = fit(schedule, epochs=3, batches=2, frozen_by_user=frozen)
    moved = {k: v for k, v in changed(task, before, "").items() if "running_" not in k}
    assert [k for k, v in moved.items() if v and k.startswith(frozen)] == []
    assert any(v for k, v in moved.items() if k.startswith("backbone.") and frozen not in k)
    assert all(changed(task, before, "head.").values())
    counts = task.model.parameter_counts()
    assert counts["trainable"] < counts["total"]  # still frozen after the last stage


def test_fine_tune_rebuilds_optimizer_with_log_spaced_rates_and_a_fresh_cycle():
    schedule = FineTune(
        "fine_tune", freeze_epochs=1, lr_mult=100.0, unfreeze_lr_factor=0.5, train_bn=False
    )
    _, _, probe = fit(schedule, epochs=3)
    frozen, unfrozen, later = probe.epochs
    assert frozen["layer_lrs"] == [None, None, LR]  # only the head is in the optimizer
    expected = [0.5 * LR / 100, 0.5 * LR / 10, 0.5 * LR]
    assert all(math.isclose(a, b) for a, b in zip(unfrozen["layer_lrs"], expected, strict=True))
    assert unfrozen["scheduler"] is not frozen["scheduler"]  # a new one-cycle ...
    assert unfrozen["scheduler_step"] == 0  # ... that starts at its beginning
    assert unfrozen["total_steps"] == 2 * 3  # and spans the stage: 2 epochs x 3 batches
    assert later["scheduler"] is unfrozen["scheduler"]
    summary = schedule.summary()
    assert [s["stage"] for s in summary["stages"]] == ["frozen", "unfrozen"]
    first, second = summary["stages"]
    assert first["params_trainable"] < second["params_trainable"] == second["params_total"]
    assert second["group_lrs"] == pytest.approx(expected)
    assert log_spaced_ratios(3, 100.0) == pytest.approx([0.01, 0.1, 1.0])


def test_gradual_unfreezes_one_group_per_stage_from_the_top():
    schedule = FineTune("gradual", epochs_per_group=1, lr_mult=100.0, train_bn=False)
    _, _, probe = fit(schedule, epochs=3, batches=2)
    none_counts = [sum(lr is None for lr in e["layer_lrs"]) for e in probe.epochs]
    assert none_counts == [2, 1, 0]
    trainable = [s["params_trainable"] for s in schedule.summary()["stages"]]
    assert trainable == sorted(trainable) and len(set(trainable)) == 3


def test_an_lr_change_keeps_the_ratios():
    """An LR finder changes ``task.lr``; every group scales with it."""
    from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask

    schedule = FineTune("fine_tune", freeze_epochs=0, lr_mult=10.0, unfreeze_lr_factor=1.0)
    data = DigitsDataModule(batch_size=32)
    data.setup()
    task = TaskModule.for_task(
        ClassificationTask,
        model_config("cnn", width=8, depth=2),
        {"names": list("0123456789")},
        facts_config(DIGITS),
        ADAMW,
        CONSTANT,
    )
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=0,
        logger=False,
        callbacks=[schedule],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=data)
    task.set_lr(0.5)
    lrs = sorted({g["lr"] for g in task.configure_optimizers().param_groups})
    assert lrs == pytest.approx([0.05, 0.5 / math.sqrt(10), 0.5])


@pytest.mark.feature("resume")
@pytest.mark.parametrize("stop_after", [1, 2], ids=["in-frozen-stage", "in-unfrozen-stage"])
def test_resume_restores_the_stage(run_train, stop_after: int):
    quick = [
        "finetune=fine_tune",
        "finetune.freeze_epochs=1",
        "+trainer.limit_train_batches=3",
        "+trainer.limit_val_batches=1",
        "evaluate.splits=[]",
        "evaluate.fit_verdict=false",
        # Lightning 2.6 writes last.ckpt only when the monitored metric improved: without a
        # monitor, every epoch's checkpoint is written
        "callbacks.model_checkpoint.monitor=null",
    ]
    first = run_train(*quick, f"trainer.max_epochs={stop_after}")
    last = Path(first["output_dir"]) / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=True)
    state = next(v for k, v in saved["callbacks"].items() if "FineTune" in k)
    assert state["stage"] == stop_after - 1
    resumed = run_train(*quick, "trainer.max_epochs=3", f"ckpt_path={last}")
    assert resumed["status"] == "completed"
    stages = resumed["verdicts"]["finetune"]["stages"]
    assert stages[-1]["stage"] == "unfrozen"
    restored = [s for s in stages if s["resumed"]]
    assert [s["index"] for s in restored] == [stop_after - 1]


DDP_SCRIPT = '''
import sys
import lightning as L
import torch
from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule
from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask
from {{ cookiecutter.package_name }}.training.finetune import FineTune
from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import facts_config, model_config
from {{ cookiecutter.package_name }}.training.module import TaskModule


class SameWeights(L.Callback):
    """After each epoch: do both processes hold the same backbone?"""

    def on_train_epoch_end(self, trainer, pl_module):
        sums = torch.stack([p.detach().sum() for p in pl_module.model.backbone.parameters()])
        both = trainer.strategy.all_gather(sums)
        if trainer.is_global_zero and not torch.allclose(both[0], both[1]):
            print("ranks differ after epoch", trainer.current_epoch, flush=True)
            sys.exit(3)


if __name__ == "__main__":
    optimizer = {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 1e-2}
    constant = {
        "_target_": "{{ cookiecutter.package_name }}.training.optim.constant",
        "_partial_": True,
    }
    task = TaskModule.for_task(ClassificationTask, model_config("cnn", width=8, depth=2),
                               {"names": list("0123456789")},
                               facts_config(InputFacts("image", (1, 8, 8))), optimizer, constant)
    trainer = L.Trainer(max_epochs=2, limit_train_batches=3, limit_val_batches=0,
                        accelerator="cpu", devices=2, strategy="ddp",
                        callbacks=[FineTune("fine_tune", freeze_epochs=1), SameWeights()],
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(task, datamodule=DigitsDataModule(batch_size=32))
    # as train.py does: left to the exit of the process, gloo's teardown sometimes aborts it
    torch.distributed.destroy_process_group()
'''


@pytest.mark.slow
def test_unfrozen_parameters_stay_in_sync_under_ddp(tmp_path):
    """2 CPU processes: parameters unfrozen mid-training must be averaged across processes."""
    import os
    import subprocess
    import sys

    script = tmp_path / "ddp_finetune.py"
    script.write_text(DDP_SCRIPT)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_summary_counts_what_actually_trained(run_train):
    summary = run_train("mode=smoke", "finetune=frozen")
    stage = summary["verdicts"]["finetune"]["stages"][0]
    assert summary["model"]["params_trainable"] == stage["params_trainable"]
    assert summary["model"]["params_trainable"] < summary["model"]["params_total"]
