"""Optimizer parameter groups and learning-rate schedules, built from plain config values.

Configs hold names and numbers only (never a ``functools.partial``): checkpoints stay loadable with
``weights_only=True``, and the learning rate stays a plain attribute an LR finder can change.
"""

from __future__ import annotations

import math

import torch
from hydra.utils import get_class
from torch import nn

_NORMS = (
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.modules.instancenorm._InstanceNorm,
)


def parameter_groups(
    layer_groups: list[nn.Module], lrs: list[float], weight_decay: float
) -> list[dict]:
    """Two optimizer groups per layer group: with weight decay, and without it for norm layers and
    biases (decaying those only hurts). Frozen parameters are left out."""
    groups = []
    for module, lr in zip(layer_groups, lrs, strict=True):
        decay, no_decay = [], []
        for sub in module.modules():
            for name, param in sub.named_parameters(recurse=False):
                if not param.requires_grad:
                    continue
                (no_decay if isinstance(sub, _NORMS) or name == "bias" else decay).append(param)
        groups += [
            {"params": decay, "lr": lr, "weight_decay": weight_decay},
            {"params": no_decay, "lr": lr, "weight_decay": 0.0},
        ]
    return [g for g in groups if g["params"]]


def log_spaced_ratios(count: int, lr_mult: float) -> list[float]:
    """``count`` learning-rate multipliers from ``1/lr_mult`` (first group, near the input) to 1
    (the head), evenly spaced on a log scale: fastai's discriminative learning rates."""
    if count <= 1:
        return [1.0] * count
    return [lr_mult ** (i / (count - 1) - 1.0) for i in range(count)]


def group_learning_rates(lr: float, ratios: list[float] | None, count: int) -> list[float]:
    """Per-layer-group learning rates ``lr * ratio``. Ratios, not absolute rates, are stored, so an
    LR finder that changes ``lr`` keeps the discriminative spread."""
    ratios = list(ratios) if ratios else [1.0] * count
    if len(ratios) != count:
        raise ValueError(f"{len(ratios)} learning-rate ratios for {count} layer groups")
    return [lr * r for r in ratios]


def build_optimizer(config: dict, groups: list[dict]) -> torch.optim.Optimizer:
    """``config``: ``{"_target_": "torch.optim.AdamW", "lr": ..., <other kwargs>}``."""
    options = {k: v for k, v in config.items() if k not in ("_target_", "lr", "weight_decay")}
    return get_class(config["_target_"])(groups, **options)


def build_scheduler(
    config: dict, optimizer: torch.optim.Optimizer, total_steps: int
) -> dict | None:
    """A Lightning ``lr_scheduler`` dict for ``config["name"]``, or None for a constant rate."""
    name = config["name"]
    max_lrs = [group["lr"] for group in optimizer.param_groups]
    if name == "constant":
        return None
    if name == "one_cycle":
        # torch divides by zero when the warm-up ends exactly at step 1 (pct_start * steps == 1:
        # tiny runs, short fine-tune stages): plan a few more; the run then stops a bit early
        minimum = math.floor(1 / config["pct_start"]) + 2
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=max_lrs,
            total_steps=max(total_steps, minimum),
            pct_start=config["pct_start"],
            div_factor=config["div_factor"],
            final_div_factor=config["final_div_factor"],
            cycle_momentum=config["cycle_momentum"] and _has_momentum(optimizer),
            base_momentum=config["base_momentum"],
            max_momentum=config["max_momentum"],
        )
    elif name == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(total_steps, 1), eta_min=max_lrs[-1] * config["min_lr_ratio"]
        )
    else:
        raise ValueError(f"unknown scheduler '{name}': use one_cycle, cosine or constant")
    return {"scheduler": scheduler, "interval": "step"}


def _has_momentum(optimizer: torch.optim.Optimizer) -> bool:
    defaults = optimizer.defaults
    return "betas" in defaults or defaults.get("momentum", 0) > 0
