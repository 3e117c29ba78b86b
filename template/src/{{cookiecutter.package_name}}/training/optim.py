"""Parameter groups and LR schedules from ``_partial_`` configs (a partial is made at use, never
stored: checkpoints load with ``weights_only=True``, ``optimizer.lr`` stays a plain number)."""

import inspect
import math

import torch
from hydra.utils import instantiate
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

_NORMS = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, _InstanceNorm)


def parameter_groups(layer_groups, lrs: list[float], weight_decay: float) -> list[dict]:
    """Per layer group: with weight decay, and without for norm layers and biases (decaying those
    only hurts). Frozen parameters are left out."""
    groups = []
    for module, lr in zip(layer_groups, lrs, strict=True):
        decay, no_decay = [], []
        for sub in module.modules():
            for name, param in sub.named_parameters(recurse=False):
                if param.requires_grad:
                    (no_decay if isinstance(sub, _NORMS) or name == "bias" else decay).append(param)
        groups.append({"params": decay, "lr": lr, "weight_decay": weight_decay})
        groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]
{%- if "transfer" in cookiecutter.__features.split(",") %}


def log_spaced_ratios(count: int, lr_mult: float) -> list[float]:
    """``count`` multipliers from ``1/lr_mult`` (near the input) to 1 (the head), evenly spaced on
    a log scale: fastai's discriminative learning rates."""
    if count <= 1:
        return [1.0] * count
    return [lr_mult ** (i / (count - 1) - 1.0) for i in range(count)]
{%- endif %}


def build_optimizer(config: dict, groups: list[dict]) -> torch.optim.Optimizer:
    # each group's own ``lr`` and ``weight_decay`` take precedence over the config's
    return instantiate(config, _convert_="all")(groups)


def build_scheduler(config: dict, optimizer, total_steps: int) -> dict | None:
    """A Lightning ``lr_scheduler`` dict (stepped every batch), or None (``constant``)."""
    make = instantiate(config, _convert_="all")
    wants_steps = "total_steps" in inspect.signature(make).parameters
    scheduler = make(optimizer, total_steps=total_steps) if wants_steps else make(optimizer)
    return None if scheduler is None else {"scheduler": scheduler, "interval": "step"}


# schedules whose torch arguments are computed from the optimizer and the run's length
def one_cycle(
    optimizer,
    total_steps: int,
    pct_start: float,
    div_factor: float,
    final_div_factor: float,
    cycle_momentum: bool,
    base_momentum: float,
    max_momentum: float,
) -> torch.optim.lr_scheduler.OneCycleLR:
    """torch's one-cycle schedule peaking at each group's own rate (discriminative rates keep
    their spread); momentum cycles only for an optimizer that has one."""
    # torch divides by zero if warm-up ends at step 1 (tiny runs, short stages): plan a few more
    minimum = math.floor(1 / pct_start) + 2
    defaults = optimizer.defaults
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in optimizer.param_groups],
        total_steps=max(total_steps, minimum),
        pct_start=pct_start,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        cycle_momentum=cycle_momentum and ("betas" in defaults or defaults.get("momentum", 0) > 0),
        base_momentum=base_momentum,
        max_momentum=max_momentum,
    )


def cosine(optimizer, total_steps: int, min_lr_ratio: float):
    eta_min = optimizer.param_groups[-1]["lr"] * min_lr_ratio
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(total_steps, 1), eta_min)


def constant(optimizer) -> None:
    return None
