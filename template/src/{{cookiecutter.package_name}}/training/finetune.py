"""Transfer-learning schedules: none, frozen (linear probe), fine_tune (fastai's) and gradual.

Why not Lightning's ``BackboneFinetuning``: it adds the unfrozen parameters to the *existing*
optimizer, so a one-cycle scheduler breaks at the unfreeze epoch (``KeyError: 'max_lr'``), the new
groups get no schedule of their own, and resuming from a checkpoint taken after the unfreeze fails.
Here each stage is a fresh start instead: at a stage boundary the callback freezes/unfreezes layer
groups, tells the task the learning-rate multiplier of each group and how many steps the stage
lasts (``Task.set_schedule``), and asks the strategy to run ``configure_optimizers`` again (new
parameter groups, a new one-cycle). The stage index is saved in the checkpoint, so a resumed run
continues in the right stage with an optimizer state that matches.

Stages, for a model with ``n`` layer groups (head last), ``lr`` = the task's ``lr``:

* ``none``: everything trains at ``lr`` (no transfer schedule).
* ``frozen``: only the head trains (a linear probe on the pretrained features).
* ``fine_tune``: fastai's ``fine_tune``: ``freeze_epochs`` with the head only at ``lr``, then
  everything, with rates log-spaced from ``lr * unfreeze_lr_factor / lr_mult`` (first group) to
  ``lr * unfreeze_lr_factor`` (head); fastai halves the base rate (factor 0.5).
* ``gradual``: head only, then one more group from the top every ``epochs_per_group`` epochs, with
  the same log-spaced rates as ``fine_tune``, until everything trains.

While frozen, normalization layers stay trainable (and keep updating their statistics) when
``train_bn`` is true, as in fastai; with ``train_bn=false`` they are frozen and kept in eval mode.
Parameters the model's builder froze (``requires_grad=False``) stay frozen in every stage.
"""

import gc
import math
from dataclasses import asdict, dataclass

import lightning as L
from torch import nn

from .optim import _NORMS, log_spaced_ratios

SCHEDULES = ("none", "frozen", "fine_tune", "gradual")


@dataclass
class Stage:
    name: str
    trainable_groups: int  # how many layer groups train, counted from the head
    ratios: list[float]  # LR multiplier per layer group (input -> head)
    epochs: int | None  # None: until the end of training


class FineTune(L.Callback):
    summary_key = "finetune"
    use_in_lr_find = True  # the LR range test runs on the first stage (frozen), as fastai's does

    def __init__(
        self,
        name: str = "none",
        freeze_epochs: int = 1,
        lr_mult: float = 100.0,
        unfreeze_lr_factor: float = 0.5,
        epochs_per_group: int = 1,
        train_bn: bool = True,
    ) -> None:
        if name not in SCHEDULES:
            raise ValueError(f"finetune.name={name!r}: use one of {', '.join(SCHEDULES)}")
        if freeze_epochs < 0 or epochs_per_group < 1 or lr_mult < 1:
            raise ValueError("finetune: freeze_epochs >= 0, epochs_per_group >= 1, lr_mult >= 1")
        self.name, self.freeze_epochs, self.lr_mult = name, freeze_epochs, lr_mult
        self.unfreeze_lr_factor, self.epochs_per_group = unfreeze_lr_factor, epochs_per_group
        self.train_bn = train_bn
        self.stage = 0
        self.stages: list[Stage] = []
        self.history: list[dict] = []
        self.weights: dict | None = None
        self.pretrained = True  # (known at setup: whether the backbone starts from weights)
        self.hold_stage = False  # True: never leave the first stage (see ``for_lr_find``)
        self._module: L.LightningModule | None = None
        # parameters the model's builder froze stay frozen: a stage unfreezes only what a stage
        # froze (kept by identity: the same parameters across fits of one module)
        self._user_frozen: set[int] = set()
        self._stage_frozen: set[int] = set()

    def for_lr_find(self) -> "FineTune":
        """A copy for the LR range test: it freezes like the first stage and stays there (a
        stage change mid-search would rebuild the optimizer under the test's feet)."""
        copy = FineTune(
            self.name,
            self.freeze_epochs,
            self.lr_mult,
            self.unfreeze_lr_factor,
            self.epochs_per_group,
            self.train_bn,
        )
        copy.hold_stage = True
        return copy

    # ---- the plan ------------------------------------------------------------------------
    def plan(self, num_groups: int) -> list[Stage]:
        n = num_groups
        spread = [self.unfreeze_lr_factor * r for r in log_spaced_ratios(n, self.lr_mult)]
        head_only = [1.0] * n
        if self.name == "none" or n == 1:
            return [Stage("all", n, [1.0] * n, None)]
        if self.name == "frozen":
            return [Stage("frozen", 1, head_only, None)]
        if self.name == "fine_tune":
            unfrozen = Stage("unfrozen", n, spread, None)
            if not self.freeze_epochs:
                return [unfrozen]
            return [Stage("frozen", 1, head_only, self.freeze_epochs), unfrozen]
        stages = [Stage("frozen", 1, head_only, self.epochs_per_group)]
        stages += [Stage(f"top_{k}", k, spread, self.epochs_per_group) for k in range(2, n)]
        return [*stages, Stage("unfrozen", n, spread, None)]

    def start_epoch(self, index: int) -> int:
        return sum(stage.epochs or 0 for stage in self.stages[:index])

    # ---- Lightning hooks -----------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        self._module = pl_module
        self._user_frozen = {
            id(p) for p in pl_module.model.parameters() if not p.requires_grad
        } - self._stage_frozen
        self.stages = self.plan(len(pl_module.model.layer_groups()))
        self.history = []  # (a tuner's trial fit may have run the plan before)
        self.weights = getattr(pl_module.model, "weights_info", None)
        model = dict(getattr(pl_module, "hparams", {}).get("model") or {})
        self.pretrained = bool(self.weights or model.get("pretrained") or model.get("weights"))
        self._enter(trainer, pl_module, 0)  # before configure_optimizers runs for the first time

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        index = self.stage
        while (
            not self.hold_stage
            and index + 1 < len(self.stages)
            and trainer.current_epoch >= self.start_epoch(index + 1)
        ):
            index += 1
        if index != self.stage:
            self._enter(trainer, pl_module, index)
            _refresh_optimizers(trainer)
        self._set_norm_modes(pl_module)

    def state_dict(self) -> dict:
        return {"stage": self.stage, "name": self.name, "history": self.history}

    def load_state_dict(self, state_dict: dict) -> None:
        """Runs after ``setup`` and before the optimizers are built: re-enter the saved stage."""
        self.history = list(state_dict.get("history", []))
        trainer = self._module.trainer if self._module is not None else None
        # (testing a checkpoint also loads callback states: nothing to re-enter then)
        if trainer is not None and trainer.training and self.stages:
            self._enter(
                trainer, self._module, min(state_dict["stage"], len(self.stages) - 1), resumed=True
            )

    # ---- applying a stage ----------------------------------------------------------------
    def _enter(
        self, trainer: L.Trainer, pl_module: L.LightningModule, index: int, resumed: bool = False
    ) -> None:
        self.stage = index
        stage = self.stages[index]
        groups = pl_module.model.layer_groups()
        frozen = groups[: len(groups) - stage.trainable_groups]
        for param in pl_module.model.parameters():
            param.requires_grad_(id(param) not in self._user_frozen)
        self._stage_frozen = set()
        for group in frozen:
            for module in group.modules():
                if not (self.train_bn and isinstance(module, _NORMS)):
                    for param in module.parameters(recurse=False):
                        if param.requires_grad:
                            param.requires_grad_(False)
                            self._stage_frozen.add(id(param))
        pl_module.set_schedule(stage.ratios, self._stage_steps(trainer, index))
        counts = pl_module.model.parameter_counts()
        self.history.append(
            {
                "stage": stage.name,
                "index": index,
                "start_epoch": self.start_epoch(index),
                "resumed": resumed,
                "trainable_groups": stage.trainable_groups,
                "num_groups": len(groups),
                "params_trainable": counts["trainable"],
                "params_total": counts["total"],
                "schedule_steps": pl_module.schedule_steps,
                # (in frozen groups, only the norm layers use their rate, and only with train_bn)
                "group_lrs": [float(f"{pl_module.lr * r:.6g}") for r in stage.ratios],
            }
        )

    def _stage_steps(self, trainer: L.Trainer, index: int) -> int | None:
        """Optimizer steps the stage lasts, so each stage gets one whole one-cycle."""
        if len(self.stages) == 1:
            return None  # the task's default: all of training
        total = int(trainer.estimated_stepping_batches)
        epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None
        if epochs is None or (trainer.max_steps and trainer.max_steps > 0):
            return max(total, 1)  # step-bounded training: no epoch arithmetic to do
        per_epoch = math.ceil(total / epochs)
        stage = self.stages[index]
        if stage.epochs is None:
            return max(total - per_epoch * self.start_epoch(index), 1)
        return max(per_epoch * stage.epochs, 1)

    def _set_norm_modes(self, pl_module: L.LightningModule) -> None:
        """With ``train_bn=false``, frozen norm layers also keep their running statistics."""
        if self.train_bn or not self.stages:
            return
        groups = pl_module.model.layer_groups()
        for group in groups[: len(groups) - self.stages[self.stage].trainable_groups]:
            for module in group.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    # ---- summary.json --------------------------------------------------------------------
    def summary(self) -> dict:
        stage = self.stages[self.stage].name if self.stages else None
        return {
            "name": self.name,
            "train_bn": self.train_bn,
            "lr_mult": self.lr_mult,
            "message": ""
            if self.name == "none"
            else (
                f"schedule {self.name}: {len(self.history)} stage(s), ended in stage {stage}"
                + (
                    ""
                    if self.pretrained
                    else "; the backbone was not pretrained (no model.pretrained=true or "
                    "model.weights=...): frozen, it gives the head random features"
                )
            ),
            "stage": self.stages[self.stage].name if self.stages else None,
            "plan": [asdict(s) for s in self.stages],
            "stages": self.history,
            "weights": self.weights,
        }


def _refresh_optimizers(trainer: L.Trainer) -> None:
    """Rebuild optimizers and schedulers from ``configure_optimizers`` (a fresh one-cycle).

    Under DDP the model is wrapped anew first: DDP registers the parameters that require grad
    when it wraps the module, so gradients of parameters unfrozen later would never be averaged
    across processes and the copies would drift apart (what happens with BackboneFinetuning).
    """
    from torch.nn.parallel import DistributedDataParallel

    strategy = trainer.strategy
    if isinstance(strategy.model, DistributedDataParallel) and hasattr(strategy, "_setup_model"):
        old = strategy.model
        strategy.model = strategy._setup_model(old.module)
        # free the old wrapper (and its communication threads) now, while the process group is
        # alive: left to the exit of the process it sometimes aborted it (seen with ddp_spawn)
        del old
        gc.collect()
    strategy.setup_optimizers(trainer)
