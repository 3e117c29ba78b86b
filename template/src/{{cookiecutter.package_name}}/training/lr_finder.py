"""The learning-rate range test (fastai's ``lr_find``), run before training.

Why not Lightning's ``Tuner.lr_find``: it sets *every* parameter group to the suggestion (the
ratios between discriminative learning rates are lost), suggests at the steepest slope against a
linear LR axis, and stops when ``max_epochs`` ends the search on tiny data sets (no suggestion).

Here a callback scales the learning rate of every group by the same factor, exponentially from
``start_lr`` to ``end_lr`` (measured on the group that carries the module's ``lr``, normally the
head), for ``num_it`` steps, over as many epochs as that takes. The loss is smoothed with an EMA
(``beta``) and the test stops when it exceeds ``stop_div`` x its best value. The model's weights
are restored afterwards. With ``apply=True`` only the module's ``lr`` is changed (``set_lr``): it
derives every group's LR from it, so the ratios stay as configured.

Writes ``plots/lr_find.png`` and ``lr_find.csv`` (lr, loss, smoothed loss) in the run folder.
"""

import copy
import csv
import math
from pathlib import Path

import lightning as L
from omegaconf import DictConfig, OmegaConf

{% if "ddp" in cookiecutter.__features.split(",") -%}
from .distributed import launched_rank
{% endif -%}
from .validate import ConfigError

SUGGESTIONS = ("valley", "steep", "minimum")


class LRRangeTest(L.Callback):
    """Drives the learning rates during a short fit and records the losses."""

    def __init__(
        self,
        base_lr: float,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_it: int = 100,
        stop_div: float = 4.0,
        beta: float = 0.98,
    ) -> None:
        self.base_lr, self.start_lr, self.end_lr = base_lr, start_lr, end_lr
        self.num_it, self.stop_div, self.beta = num_it, stop_div, beta
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.group_lrs: list[list[float]] = []  # every group's LR at every step (ratios check)
        self._avg, self._best = 0.0, math.inf

    def lr_at(self, step: int) -> float:
        return self.start_lr * (self.end_lr / self.start_lr) ** (step / max(1, self.num_it - 1))

    def _capture(self, trainer: L.Trainer) -> None:
        # no schedule during the test: the callback sets the rates itself
        trainer.strategy.lr_scheduler_configs = []
        self._initial = [[g["lr"] for g in opt.param_groups] for opt in trainer.optimizers]

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._capture(trainer)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int
    ) -> None:
        if [len(o.param_groups) for o in trainer.optimizers] != [len(i) for i in self._initial]:
            self._capture(trainer)  # a fine-tune callback rebuilt the optimizer: new groups
        lr = self.lr_at(len(self.lrs))
        factor = lr / self.base_lr
        for opt, initial in zip(trainer.optimizers, self._initial, strict=True):
            for group, start in zip(opt.param_groups, initial, strict=True):
                group["lr"] = start * factor
        self.lrs.append(lr)
        self.group_lrs.append([g["lr"] for opt in trainer.optimizers for g in opt.param_groups])

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        if self.record(float(outputs["loss"] if isinstance(outputs, dict) else outputs)):
            trainer.should_stop = True

    def record(self, loss: float) -> bool:
        """Add one step's loss to the curve; True when the test should stop (the smoothed loss
        diverged, or the last step ran)."""
        self.losses.append(loss)
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        smooth = self._avg / (1 - self.beta ** len(self.losses))  # EMA, bias-corrected
        self.smoothed.append(smooth)
        self._best = min(self._best, smooth)
        return (
            not math.isfinite(smooth)
            or smooth > self.stop_div * self._best
            or len(self.losses) >= self.num_it
        )


# ---- suggestion rules (on the smoothed curve) ---------------------------------------------------
def _trimmed(lrs: list[float], losses: list[float]) -> tuple[list[float], list[float]]:
    """Drop the first tenth (the EMA is still warming up) and the last few steps (divergence)."""
    skip_end = 5 if len(lrs) > 20 else 0
    start = len(lrs) // 10
    end = len(lrs) - skip_end
    pairs = [
        (lr, loss)
        for lr, loss in zip(lrs[start:end], losses[start:end], strict=True)
        if math.isfinite(loss)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def valley(lrs: list[float], losses: list[float]) -> tuple[float, float]:
    """The longest valley of the curve, as (first LR, last LR): fastai's ``valley`` reading.

    Its length is that of the longest decreasing subsequence of the smoothed losses; the valley is
    the stretch of that many steps that ends where the subsequence ends. (The subsequence's own
    first point is no start: it may lie far up the flat part of the curve, where the smoothed loss
    creeps down by noise, and a middle taken from there fell on the flat part, before the loss
    starts to fall.)"""
    lrs, first, last = _valley_steps(lrs, losses)
    return lrs[first], lrs[last]


def suggest_valley(lrs: list[float], losses: list[float]) -> float:
    """The middle of the longest valley (fastai's default rule): far enough down the slope to
    learn fast, well before the loss turns up."""
    lrs, first, last = _valley_steps(lrs, losses)
    return lrs[(first + last) // 2]


def _valley_steps(lrs: list[float], losses: list[float]) -> tuple[list[float], int, int]:
    lrs, losses = _trimmed(lrs, losses)
    n = len(losses)
    length = [1] * n  # longest decreasing subsequence ending at i
    for i in range(n):
        for j in range(i):
            if losses[i] < losses[j]:
                length[i] = max(length[i], length[j] + 1)
    last = max(range(n), key=lambda i: (length[i], -i))  # the first of the longest
    return lrs, last - length[last] + 1, last


def suggest_steep(lrs: list[float], losses: list[float]) -> float:
    """Where the loss falls fastest against log(lr)."""
    lrs, losses = _trimmed(lrs, losses)
    slopes = [
        (losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i]))
        for i in range(len(lrs) - 1)
    ]
    return lrs[min(range(len(slopes)), key=slopes.__getitem__)]


def suggest_minimum(lrs: list[float], losses: list[float]) -> float:
    """A tenth of the LR at the lowest loss (at the minimum itself training is already unstable)."""
    lrs, losses = _trimmed(lrs, losses)
    return lrs[min(range(len(losses)), key=losses.__getitem__)] / 10


RULES = {"valley": suggest_valley, "steep": suggest_steep, "minimum": suggest_minimum}


# ---- the job ---------------------------------------------------------------------------------
def lr_find_section(cfg: DictConfig, module, datamodule, callbacks: list, output_dir: Path) -> dict:
    """``lr_find=report|apply`` (``configs/lr_find/``): the test before training, its message
    printed; returns summary.json's ``lr_find`` section."""
    options = OmegaConf.to_container(cfg.lr_find, resolve=True)
    options.pop("enabled")
    trainer = cfg.trainer
    # callbacks that shape the model (a fine-tune schedule) shape it during the test too
    keep = [
        c.for_lr_find() if hasattr(c, "for_lr_find") else c
        for c in callbacks
        if getattr(c, "use_in_lr_find", False)
    ]
    result = find_lr(
        module,
        datamodule,
        output_dir,
        callbacks=keep,
        trainer_options={
            "accelerator": trainer.get("accelerator", "auto"),
            "precision": trainer.get("precision", "32-true"),
        },
        **options,
    )
    result["message"] = (
        f"lr_find: suggestion ({result['rule']}) {result['suggestion']:.2e}; "
        + (
            f"training with lr {result['lr_after']:.2e}"
            if result["applied"]
            else f"kept lr {result['lr_before']:.2e} (lr_find=apply to use it)"
        )
        + f"; plot: {result['plot']}"
    )
    print(result["message"])
    return result


def find_lr(
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    output_dir: str | Path,
    suggestion: str = "valley",
    apply: bool = False,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_it: int = 100,
    stop_div: float = 4.0,
    beta: float = 0.98,
    trainer_options: dict | None = None,
    callbacks: list | None = None,
) -> dict:
    """Run the range test on ``module`` (a task and its model; weights restored afterwards);
    return the summary section.

    ``callbacks``: extra callbacks that shape the model during training and must also shape it
    during the test (e.g. a fine-tune schedule that freezes the backbone first); ``train.py``
    passes the configured callbacks that set ``use_in_lr_find = True``.
    """
    if suggestion not in RULES:
        raise ConfigError(f"lr_find.suggestion must be one of {SUGGESTIONS}, got '{suggestion}'")
    if num_it < 20:
        raise ConfigError(f"lr_find.num_it={num_it} is too few steps to read a curve (use >= 20)")
    base_lr = float(module.lr)
    state = copy.deepcopy(module.state_dict())
    trainable = {name: p.requires_grad for name, p in module.named_parameters()}
    finder = LRRangeTest(base_lr, start_lr, end_lr, num_it, stop_div, beta)
    options = {"accelerator": "auto", "devices": 1, **(trainer_options or {})}
    trainer = L.Trainer(
        **options,
        max_steps=num_it,
        max_epochs=-1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[finder, *(callbacks or [])],
    )
    try:
        trainer.fit(module, datamodule=datamodule)
    finally:  # as before the test: weights, BatchNorm statistics, frozen or not
        module.load_state_dict(state)
        for name, param in module.named_parameters():
            param.requires_grad_(trainable[name])
        module.trainer = None  # detach: the real training attaches its own trainer
    if len(finder.losses) < 10:
        raise RuntimeError(
            f"the LR range test stopped after {len(finder.losses)} steps (loss "
            "diverged at once?): lower lr_find.start_lr"
        )
    suggestions = {name: float(rule(finder.lrs, finder.smoothed)) for name, rule in RULES.items()}
    chosen = suggestions[suggestion]
    output_dir = Path(output_dir)
    curve, plot = output_dir / "lr_find.csv", output_dir / "plots" / "lr_find.png"
{%- if "ddp" in cookiecutter.__features.split(",") %}
    if launched_rank() == 0:  # under strategy=ddp every process runs the (same) test
        _write_curve(curve, finder)
        plot_lr_find(finder.lrs, finder.smoothed, suggestions, suggestion, plot)
{%- else %}
    _write_curve(curve, finder)
    plot_lr_find(finder.lrs, finder.smoothed, suggestions, suggestion, plot)
{%- endif %}
    if apply:
        module.set_lr(chosen)
    ratios = [lr / finder.group_lrs[0][-1] for lr in finder.group_lrs[0]]
    during = {c.summary_key: c.summary() for c in callbacks or [] if hasattr(c, "summary_key")}
    return {
        "during": during,
        "suggestion": chosen,
        "rule": suggestion,
        "suggestions": suggestions,
        "applied": bool(apply),
        "lr_before": base_lr,
        "lr_after": float(module.lr),
        "group_lr_ratios": ratios,
        "steps": len(finder.losses),
        "stopped_early": len(finder.losses) < num_it,
        "curve": str(curve),
        "plot": str(plot),
    }


def _write_curve(path: Path, finder: LRRangeTest) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "lr", "loss", "smoothed_loss"])
        for step, row in enumerate(zip(finder.lrs, finder.losses, finder.smoothed, strict=False)):
            writer.writerow([step, *row])


def plot_lr_find(
    lrs: list[float], losses: list[float], suggestions: dict[str, float], chosen: str, path: Path
) -> Path:
    """Smoothed loss against the learning rate (log axis), each suggestion marked, the longest
    valley shaded."""
    from ..analysis.plots import new_figure, save_figure

    fig, ax = new_figure(6, 4)
    ax.plot(lrs, losses, color="tab:blue", label="smoothed loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    finite = [v for v in losses if math.isfinite(v)]
    if finite:  # the divergence at the end would squash the interesting part
        low, high = min(finite), min(max(finite), 2.5 * finite[0])
        margin = 0.05 * (high - low) or 0.05
        ax.set_ylim(low - margin, high + margin)
    styles = {"valley": "tab:red", "steep": "tab:orange", "minimum": "tab:green"}
    first, last = valley(lrs, losses)  # the stretch the valley rule picks the middle of
    ax.axvspan(first, last, color=styles["valley"], alpha=0.08, label="longest valley")
    for name, lr in suggestions.items():
        y = losses[min(range(len(lrs)), key=lambda i: abs(math.log(lrs[i] / lr)))]
        ax.scatter(
            [lr],
            [y],
            s=80 if name == chosen else 30,
            color=styles[name],
            zorder=3,
            label=f"{name}{' (chosen)' if name == chosen else ''}: {lr:.2e}",
        )
    ax.set_title("LR range test")
    ax.legend()
    return save_figure(fig, path)
