"""The one-cycle schedule follows fastai's settings; the training switches (mixed precision,
gradient clipping, early stopping, best + last checkpoints) are plain configuration."""

import math
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from {{ cookiecutter.package_name }}.training.optim import (
    build_optimizer,
    build_scheduler,
    parameter_groups,
)

from conftest import compose_config


def curve(scheduler_name: str, tmp_path, total: int = 200, lrs=(1e-3, 1e-2)):
    cfg = OmegaConf.to_container(
        compose_config("train", [f"scheduler={scheduler_name}"], tmp_path).scheduler
    )
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
    optimizer = torch.optim.AdamW(
        [{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)], betas=(0.9, 0.99)
    )
    scheduler = build_scheduler(cfg, optimizer, total)["scheduler"]
    seen = []
    for _ in range(total):
        seen.append([(g["lr"], g["betas"][0]) for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return cfg, seen


def test_one_cycle_matches_fastai(tmp_path):
    cfg, seen = curve("one_cycle", tmp_path)
    assert (cfg["pct_start"], cfg["div_factor"]) == (0.25, 25.0)
    assert cfg["div_factor"] * cfg["final_div_factor"] == 1e5
    total, warm = len(seen), int(0.25 * len(seen))
    for group, peak in enumerate((1e-3, 1e-2)):  # per-group max LRs, same shape
        lrs = [step[group][0] for step in seen]
        betas = [step[group][1] for step in seen]
        assert lrs[0] == pytest.approx(peak / 25)
        assert max(lrs) == pytest.approx(peak, rel=1e-3)
        assert abs(lrs.index(max(lrs)) - warm) <= 1
        assert lrs[-1] == pytest.approx(peak / 1e5, rel=0.1, abs=peak * 1e-4)
        for t in (warm // 2, warm + (total - warm) // 2):  # cosine halfway points
            low = peak / 25 if t < warm else peak / 1e5
            assert lrs[t] == pytest.approx((peak + low) / 2, rel=0.05)
        assert betas[0] == pytest.approx(0.95) and betas[-1] == pytest.approx(0.95, abs=1e-3)
        assert min(betas) == pytest.approx(0.85, abs=1e-3)
        assert abs(betas.index(min(betas)) - warm) <= 1


def test_cosine_alternative(tmp_path):
    cfg, seen = curve("cosine", tmp_path)
    lrs = [step[1][0] for step in seen]
    assert lrs[0] == pytest.approx(1e-2) and lrs == sorted(lrs, reverse=True)
    assert lrs[len(lrs) // 2] == pytest.approx(1e-2 * (1 + cfg["min_lr_ratio"]) / 2, rel=0.02)
    constant = OmegaConf.to_container(
        compose_config("train", ["scheduler=constant"], tmp_path).scheduler
    )
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    assert build_scheduler(constant, sgd, 10) is None


def group_config(group: str, option: str, tmp_path) -> dict:
    return OmegaConf.to_container(compose_config("train", [f"{group}={option}"], tmp_path)[group])


@pytest.mark.parametrize("option", ["adamw", "sgd"])
def test_an_optimizer_yaml_is_a_partial_called_with_the_parameter_groups(option, tmp_path):
    """``_target_`` + ``_partial_``: the groups' own rates and weight decay (per layer group, none
    for norms and biases) win over the yaml's, which are only the optimizer's defaults."""
    cfg = group_config("optimizer", option, tmp_path)
    assert cfg["_partial_"] and isinstance(cfg["lr"], float)  # a plain rate an LR finder can set
    layers = [torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)]
    optimizer = build_optimizer(cfg, parameter_groups(layers, [1e-4, 1e-3], 0.5))
    assert type(optimizer).__name__ == cfg["_target_"].rsplit(".", 1)[-1]
    groups = [(g["lr"], g["weight_decay"], len(g["params"])) for g in optimizer.param_groups]
    assert groups == [(1e-4, 0.5, 1), (1e-4, 0.0, 1), (1e-3, 0.0, 2)]
    options = {k: v for k, v in cfg.items() if k not in ("_target_", "_partial_")}
    for key, value in options.items():  # the other options reach the optimizer
        assert optimizer.defaults[key] == (tuple(value) if isinstance(value, list) else value)


def test_one_cycle_plans_enough_steps_and_cycles_momentum_only_when_there_is_one(tmp_path):
    cfg = group_config("scheduler", "one_cycle", tmp_path)
    plain_sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)  # no momentum
    scheduler = build_scheduler(cfg, plain_sgd, 1)["scheduler"]
    # warm-up ending at step 1 divides by zero in torch: a few more steps are planned
    assert scheduler.total_steps == math.floor(1 / cfg["pct_start"]) + 2
    assert scheduler.cycle_momentum is False
    for _ in range(scheduler.total_steps - 1):
        plain_sgd.step()
        scheduler.step()
    assert plain_sgd.param_groups[0]["lr"] == pytest.approx(0.1 / 1e5, rel=0.01)


def test_a_torch_scheduler_can_be_the_target_and_gets_total_steps_when_it_asks(tmp_path):
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    step = {"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True, "step_size": 2}
    built = build_scheduler(step, sgd, 50)  # (StepLR has no total_steps: none is given)
    assert isinstance(built["scheduler"], torch.optim.lr_scheduler.StepLR)
    assert built["scheduler"].step_size == 2 and built["interval"] == "step"
    cycle = {"_target_": "torch.optim.lr_scheduler.OneCycleLR", "_partial_": True, "max_lr": 0.2}
    assert build_scheduler(cycle, sgd, 50)["scheduler"].total_steps == 50


def test_training_switches_are_lightning_callbacks_and_trainer_flags(run_train):
    summary = run_train(
        "mode=smoke",
        "callbacks=early_stopping",
        "trainer.precision=bf16-mixed",
        "trainer.gradient_clip_val=0.5",
        "trainer.max_epochs=2",
        "callbacks.early_stopping.patience=1",
    )
    assert summary["status"] == "completed"
    checkpoints = Path(summary["best_checkpoint"]).parent
    assert {p.name for p in checkpoints.glob("*.ckpt")} == {"best.ckpt", "last.ckpt"}
    assert math.isfinite(summary["metrics"]["test"]["loss"])
