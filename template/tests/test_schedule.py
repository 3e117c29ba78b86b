"""The one-cycle schedule follows fastai's settings; the training switches (mixed precision,
gradient clipping, early stopping, best + last checkpoints) are plain configuration."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from {{ cookiecutter.package_name }}.training.optim import build_scheduler

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
