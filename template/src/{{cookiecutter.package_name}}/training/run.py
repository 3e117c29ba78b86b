"""The jobs behind ``train.py`` and ``eval.py``. Read top to bottom: build, fit, measure, report.

Everything that differs between modes (overfit / fraction / full / smoke) arrives as configuration
(``configs/mode/*.yaml``); nothing here asks which mode is running.
"""

from __future__ import annotations

import time
from pathlib import Path

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from ..analysis.fit import fit_verdict
from ..analysis.predict import load_trained
from ..console import print_config, print_summary
from ..data import ClassificationDataModule
from ..tasks import ClassificationTask
from .before_fit import before_fit
from .distributed import eval_loaders, relaunchable
from .loggers import build_loggers, finish_loggers, log_summary
from .resume import resolve_ckpt_path
from .summary import final_status, split_metrics, write_summary


def plain(node) -> dict | list | None:
    """An OmegaConf node as plain Python values (what checkpoints and loggers may hold)."""
    return OmegaConf.to_container(node, resolve=True) if node is not None else None


def train(cfg: DictConfig) -> dict:
    """Fit, measure each split in eval mode with the best checkpoint, judge, write summary.json."""
    start = time.perf_counter()
    output_dir = Path(cfg.paths.output_dir)
    summary: dict = {"status": "crashed", "mode": cfg.mode.name, "task": "classification",
                     "output_dir": str(output_dir), "seed": cfg.get("seed"),
                     "overrides": _overrides()}
    trainer, loggers = None, []
    try:
        if cfg.get("print_config") and rank_zero_only.rank == 0:  # not once per DDP process
            print_config(cfg)
        if cfg.get("seed") is not None:  # `if cfg.seed:` would ignore seed 0
            L.seed_everything(cfg.seed, workers=True, verbose=False)

        datamodule: ClassificationDataModule = instantiate(cfg.data, _convert_="all")
        datamodule.setup()
        summary["data"] = {"name": datamodule.name, "sizes": datamodule.sizes(),
                           "full_train_size": datamodule.full_train_size,
                           "fraction": datamodule.hparams.fraction,
                           "overfit_batches": datamodule.hparams.overfit_batches,
                           "num_classes": datamodule.num_classes,
                           "input_shape": datamodule.input_shape}
        task = ClassificationTask(model=plain(cfg.model), num_classes=datamodule.num_classes,
                                  input_shape=datamodule.input_shape,
                                  optimizer=plain(cfg.optimizer), scheduler=plain(cfg.scheduler),
                                  label_smoothing=cfg.task.label_smoothing,
                                  class_names=datamodule.class_names)
        datamodule.adopt_model_config(task.model.data_config)  # a backbone's size/statistics
        counts = task.model.parameter_counts()
        summary["model"] = {"name": cfg.model.name, "params_total": counts["total"],
                            "params_trainable": counts["trainable"]}

        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
        if cfg.get("finetune"):  # the transfer-learning schedule (configs/finetune/)
            callbacks.append(instantiate(cfg.finetune))
        resume_from = resolve_ckpt_path(cfg)  # ckpt_path=last|<run dir>|<file>|null
        loggers = build_loggers(cfg, resume_from)
        trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False,
                              default_root_dir=str(output_dir))
        for logger in loggers:
            logger.log_hyperparams(plain(cfg))

        summary.update(before_fit(cfg, task, datamodule, callbacks, output_dir))
        with relaunchable():  # DDP under a Hydra multirun: the other ranks join this job
            trainer.fit(task, datamodule=datamodule, ckpt_path=resume_from)

        verdicts = {cb.summary_key: cb.summary() for cb in callbacks if hasattr(cb, "summary_key")}
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        splits = list(cfg.evaluate.splits)
        metrics = measure(trainer, task, datamodule, splits, ckpt_path=best) if splits else {}
        if cfg.evaluate.fit_verdict and {"train", "val"} <= metrics.keys():
            verdicts["fit"] = fit_verdict(metrics["train"]["acc"], metrics["val"]["acc"],
                                          datamodule.majority_baseline(),
                                          cfg.evaluate.bias_tolerance,
                                          cfg.evaluate.variance_tolerance,
                                          datamodule.hparams.fraction)
        # trainable as at the end of training (a fine-tune schedule may have frozen layers)
        summary["model"]["params_trainable"] = task.model.parameter_counts()["trainable"]
        summary.update(metrics=metrics, verdicts=verdicts, best_checkpoint=best,
                       status=final_status(verdicts),
                       trainer={"global_step": trainer.global_step, "epochs": trainer.current_epoch,
                                "world_size": trainer.world_size})
        if trainer.is_global_zero:
            log_summary(loggers, summary, step=trainer.global_step)
    except BaseException as error:
        summary["error"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        summary["wall_time_s"] = round(time.perf_counter() - start, 3)
        if trainer is None or trainer.is_global_zero:
            write_summary(output_dir, summary)
            print_summary(summary)
        finish_loggers(loggers, summary["status"])
    return summary


def measure(trainer: L.Trainer, task: ClassificationTask, datamodule: ClassificationDataModule,
            splits: list[str], ckpt_path: str | None = None) -> dict[str, dict[str, float]]:
    """Loss and accuracy of each split in eval mode (no dropout, no augmentation)."""
    task.eval_splits = tuple(splits)
    loaders = eval_loaders(datamodule.eval_dataloaders(splits), trainer)  # each sample once
    results = trainer.test(task, dataloaders=loaders, ckpt_path=ckpt_path, verbose=False,
                           weights_only=True)
    merged: dict[str, float] = {}
    for result in results:
        merged.update(result)
    return split_metrics(merged)


def evaluate(cfg: DictConfig) -> dict:
    """Rebuild the data split stored in the checkpoint, then measure the checkpoint on it."""
    start = time.perf_counter()
    ckpt_path = Path(cfg.ckpt_path).expanduser()
    task, datamodule = load_trained(ckpt_path, plain(cfg.get("data")))
    trainer = instantiate(cfg.trainer, logger=False, default_root_dir=cfg.paths.output_dir)
    splits = list(cfg.splits)
    task.eval_splits = tuple(splits)
    results = trainer.test(task, dataloaders=eval_loaders(datamodule.eval_dataloaders(splits),
                                                          trainer), verbose=False)
    metrics = split_metrics({k: v for r in results for k, v in r.items()})
    verdicts = {}
    if {"train", "val"} <= metrics.keys():
        verdicts["fit"] = fit_verdict(metrics["train"]["acc"], metrics["val"]["acc"],
                                      datamodule.majority_baseline(),
                                      fraction=datamodule.hparams.fraction)
    summary = {"status": "completed", "mode": "eval", "task": "classification",
               "output_dir": str(cfg.paths.output_dir), "checkpoint": str(ckpt_path),
               "data": {"name": datamodule.name, "sizes": datamodule.sizes(),
                        "fraction": datamodule.hparams.fraction},
               "metrics": metrics, "verdicts": verdicts}
    if cfg.get("interpret") and trainer.is_global_zero:
        from ..analysis.interpret import interpret

        summary["interpretation"] = interpret(task, datamodule, cfg.paths.output_dir,
                                              cfg.interpret_split, cfg.top_k)
    summary["wall_time_s"] = round(time.perf_counter() - start, 3)
    if trainer.is_global_zero:
        write_summary(cfg.paths.output_dir, summary)
        print_summary(summary)
    return summary


def _overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
