"""The jobs behind ``train.py`` and ``eval.py``. Read top to bottom: build, fit, measure, report.

What differs between modes arrives as configuration (``configs/mode/*.yaml``) and what differs
between tasks is declared by the task (``tasks/base.py``): nothing here asks which one runs.
"""

import time
from pathlib import Path

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class, instantiate
{%- if "ddp" in cookiecutter.__features.split(",") %}
from lightning.pytorch.utilities import rank_zero_only
{%- endif %}
from omegaconf import DictConfig, OmegaConf

from ..analysis.fit import fit_verdict
from ..analysis.predict import load_trained
from ..console import print_config, print_summary
from ..models import facts_config, model_data_config, model_head
from ..tasks.base import Task, TaskError
from .before_fit import before_fit
from .checkpoints import refuse_renamed
{%- if "ddp" in cookiecutter.__features.split(",") %}
from .distributed import eval_loaders, relaunchable
{%- endif %}
from .guards import Interruption, StopOnDivergence
from .loggers import build_loggers, finish_loggers, log_summary
from .module import TaskModule
from .progress import ProgressBar
from .speed import ChannelsLast, compile_model, lean_dispatch, startup_objects_frozen
from .summary import Summary, checkpoint_selection, conclude, sigterm_interrupts, write_summary
from .sweep import in_multirun
from .validate import validate_config


def plain(node) -> dict | list | None:
    return OmegaConf.to_container(node, resolve=True) if node is not None else None


# ---- building: data first (with what the model expects of it), then the task ------------------
def build_datamodule(cfg: DictConfig, task_cls: type[Task]):
    """Built once with its settings, the task's strata and what the model expects of its inputs."""
    settings = plain(cfg.data)
    cls = get_class(settings.pop("_target_"))
    refuse_renamed(cls, settings)  # (a user's yaml or +data.bad_rows=...: named, not a TypeError)
    model = plain(cfg.model)
    settings.update(cls.settings_from_model(settings, model_data_config(model)))
    settings["stratify"] = cfg.task.get("stratify") or task_cls.default_stratify
    if "target_kind" in settings and settings["target_kind"] is None:  # a user's file: as asked
        settings["target_kind"] = task_cls.target_kind
    datamodule = cls(**settings)
    # before setup: a split by the wrong kind of target fails with a message that misleads
    if datamodule.target_kind != task_cls.target_kind:
        raise TaskError(
            f"data={datamodule.name} has '{datamodule.target_kind}' targets, but "
            f"task={cfg.task.name} needs '{task_cls.target_kind}' targets: pick a "
            "data set made for this task (see configs/data/) or another task"
        )
    if model_head(model) != task_cls.head:
        raise TaskError(
            f"model={cfg.model.name} gives {model_head(model)} outputs but "
            f"task={cfg.task.name} needs {task_cls.head} ones (one output "
            f"{'per pixel' if task_cls.head == 'dense' else 'per item'}): pick a "
            "model made for this task"
        )
    datamodule.setup()
    return datamodule


def build_module(cfg: DictConfig, task_cls: type[Task], datamodule) -> TaskModule:
    targets = datamodule.split_targets("train", full=True)
    evaluate = cfg.evaluate
    task = {
        **plain(cfg.task),
        "targets": task_cls.describe_targets(targets, datamodule.target_names),
        "tolerances": {"bias": evaluate.bias_tolerance, "variance": evaluate.variance_tolerance},
    }
    inputs, optimizer = facts_config(datamodule.input_facts()), plain(cfg.optimizer)
    model, scheduler = plain(cfg.model), plain(cfg.scheduler)
    return TaskModule(task, model, inputs, optimizer, scheduler, bool(cfg.regularize))


def describe_task(task: Task) -> dict:
    facts = ("target_kind", "score", "overfit_metric", "overfit_target")
    return {"name": task.name or type(task).__name__, **{k: getattr(task, k) for k in facts}}


# ---- the train job -----------------------------------------------------------------------------
def train(cfg: DictConfig) -> Summary:
    """Fit, measure each split in eval mode with the best checkpoint, judge, write summary.json
    (always; ``conclude`` decides the outcome). Raises only when the run crashed."""
    start = time.perf_counter()
    output_dir = Path(cfg.paths.output_dir)
    summary = Summary(
        mode=cfg.mode.name, output_dir=str(output_dir), seed=cfg.get("seed"), overrides=_overrides()
    )
    trainer, loggers, callbacks, error = None, [], [], None
    interruption = Interruption()
    try:
        # SIGTERM outside fit and test ends the run interrupted too, as inside them
        with sigterm_interrupts():
            validate_config(cfg)  # (train.py checks single runs before this; jobs of a sweep here)
{%- if "ddp" in cookiecutter.__features.split(",") %}
            if cfg.get("print_config") and rank_zero_only.rank == 0:  # not once per DDP process
{%- else %}
            if cfg.get("print_config"):
{%- endif %}
                print_config(cfg)
            if cfg.get("seed") is not None:  # `if cfg.seed:` would ignore seed 0
                L.seed_everything(cfg.seed, workers=True, verbose=False)

            task_cls = get_class(cfg.task._target_)
            datamodule = build_datamodule(cfg, task_cls)
            summary.data = datamodule.describe()
            if getattr(datamodule, "skipped_files", None){{ " and rank_zero_only.rank == 0" if "ddp" in cookiecutter.__features.split(",") }}:
                skipped = output_dir / "skipped_files.txt"  # unreadable files, left out of the run
                skipped.parent.mkdir(parents=True, exist_ok=True)
                skipped.write_text("\n".join(map(str, datamodule.skipped_files)) + "\n")
                summary.data["skipped_files_list"] = str(skipped)
            module = build_module(cfg, task_cls, datamodule)
            summary.task = describe_task(module.task)
            counts = module.model.parameter_counts()
            summary.model = {
                "name": cfg.model.name,
                "params_total": counts["total"],
                "params_trainable": counts["trainable"],
                "compiled": compile_model(module, cfg.get("compile")),
            }

            callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
            callbacks.append(ChannelsLast(cfg.get("channels_last")))
            if cfg.trainer.get("enable_progress_bar", True):  # (else Lightning's own)
                callbacks.append(ProgressBar())
{%- if "transfer" in cookiecutter.__features.split(",") %}
            if cfg.get("finetune"):  # the transfer-learning schedule (configs/finetune/)
                callbacks.append(instantiate(cfg.finetune))
{%- endif %}
            callbacks += [StopOnDivergence(), interruption]
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}
            resume_from = _resume_from(cfg, module)
            loggers = build_loggers(cfg, resume_from)
{%- else %}
            loggers = build_loggers(cfg)
{%- endif %}
            options = dict(
                callbacks=callbacks, logger=loggers or False, default_root_dir=str(output_dir)
            )
            trainer = lean_dispatch(instantiate(cfg.trainer, **options))
            for logger in loggers:
                logger.log_hyperparams(plain(cfg))

            summary.sections.update(before_fit(cfg, module, datamodule, callbacks, output_dir))
            try:
{%- if "ddp" in cookiecutter.__features.split(",") %}
                # relaunchable: DDP under a Hydra multirun, the other ranks join this job
                with relaunchable(), startup_objects_frozen():
{%- else %}
                with startup_objects_frozen():
{%- endif %}
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}
                    # weights_only: a resumed checkpoint is loaded as safely as every other one
                    trainer.fit(
                        module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True
                    )
{%- else %}
                    trainer.fit(module, datamodule=datamodule)
{%- endif %}
            finally:  # the checks' verdicts, also when fit stopped early (diverged, interrupted)
                summary.verdicts = {
                    cb.summary_key: cb.summary() for cb in callbacks if hasattr(cb, "summary_key")
                }
            summary.trainer = _trainer_facts(trainer)
            sizes = datamodule.sizes()
            summary.selection = checkpoint_selection(trainer, has_test=bool(sizes.get("test")))

            best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
            splits = [s for s in cfg.evaluate.splits if sizes.get(s)]  # (no test split: none)
            metrics = measure(trainer, module, datamodule, splits, best) if splits else {}
            summary.metrics, reference = metrics, None
            if cfg.evaluate.fit_verdict and splits:  # the model the network has to beat
                reference = datamodule.reference_scores(module.task, splits)
            if reference:
                summary.sections["reference_model"] = reference
            if cfg.evaluate.fit_verdict and {"train", "val"} <= metrics.keys():
                summary.verdicts["fit"] = judge_fit(module.task, datamodule, metrics, reference)
            # trainable as at the end of training (a fine-tune schedule may have frozen layers)
            summary.model["params_trainable"] = module.model.parameter_counts()["trainable"]
            summary.best_checkpoint = best
    except BaseException as caught:  # every ending is recorded (re-raised below)
        error = caught  # Lightning turns Ctrl-C into SystemExit(1): report what really happened
        if isinstance(caught, SystemExit) and isinstance(interruption.exception, KeyboardInterrupt):
            error = interruption.exception
    finally:
        error = _wait_for_files(callbacks, error)
        if trainer is not None and not summary.trainer:
            summary.trainer = _trainer_facts(trainer)
        conclude(summary, error)
        summary.wall_time_s = round(time.perf_counter() - start, 3)
        if trainer is None or trainer.is_global_zero:
            write_summary(output_dir, summary)
            print_summary(summary)
            if trainer is not None:
                log_summary(loggers, summary.to_dict(), step=trainer.global_step)
        finish_loggers(loggers, summary.status)
    if summary.status == "crashed" or (
        summary.status == "interrupted" and error is not None and in_multirun()
    ):
        raise error  # a crash is the caller's to report; Ctrl-C also stops a whole sweep
    return summary
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}


def _resume_from(cfg: DictConfig, module: TaskModule) -> str | None:
    if cfg.get("ckpt_path") in (None, ""):
        return None
    from .resume import resolve_ckpt_path

    return resolve_ckpt_path(cfg, module)
{%- endif %}


def measure(trainer: L.Trainer, module: TaskModule, datamodule, splits: list[str], ckpt_path=None):
    """The task's metrics and loss on each split in eval mode (no dropout, no augmentation)."""
    module.set_eval_splits(splits)
{%- if "ddp" in cookiecutter.__features.split(",") %}
    loaders = eval_loaders(datamodule.eval_dataloaders(splits), trainer)  # each sample once
{%- else %}
    loaders = datamodule.eval_dataloaders(splits)
{%- endif %}
    results = trainer.test(
        module, dataloaders=loaders, ckpt_path=ckpt_path, verbose=False, weights_only=True
    )
    metrics: dict[str, dict[str, float]] = {}  # {"val/final_acc": 0.9} -> {"val": {"acc": 0.9}}
    for key, value in (item for result in results for item in result.items()):
        split, _, name = key.partition("/final_")
        if name:
            metrics.setdefault(split, {})[name] = float(value)
    return metrics


def judge_fit(task: Task, datamodule, metrics: dict, reference: dict | None = None) -> dict:
    """The bias/variance verdict on the task's score, against its trivial baseline."""
    baseline = task.baseline(datamodule.split_targets("train"), datamodule.split_targets("val"))
    scores = metrics["train"][task.score], metrics["val"][task.score], baseline
    tolerances = task.tolerances["bias"], task.tolerances["variance"]
    data = datamodule.hparams.fraction, datamodule.input.variance_advice
    return fit_verdict(task.score, *scores, *tolerances, *data, reference, task.regularize)


# ---- the eval job ------------------------------------------------------------------------------
def evaluate(cfg: DictConfig) -> Summary:
    """Measure a checkpoint on the task and data split stored in it."""
    start = time.perf_counter()
    ckpt_path = Path(cfg.ckpt_path).expanduser()
    summary = Summary(mode="eval", output_dir=str(cfg.paths.output_dir), overrides=_overrides())
    error, trainer = None, None
    try:
        # data settings given on the command line (the ones left at null keep the checkpoint's)
        changes = {k: v for k, v in (plain(cfg.get("data")) or {}).items() if v is not None}
        module, datamodule = load_trained(ckpt_path, changes)
        summary.task, summary.data = describe_task(module.task), datamodule.describe()
        summary.sections["checkpoint"] = str(ckpt_path)
        trainer = lean_dispatch(
            instantiate(cfg.trainer, logger=False, default_root_dir=cfg.paths.output_dir)
        )
        sizes = datamodule.sizes()
        splits = [s for s in cfg.splits if sizes.get(s)]  # (an empty split: nothing to measure)
        summary.metrics = measure(trainer, module, datamodule, splits)
        if {"train", "val"} <= summary.metrics.keys():
            summary.verdicts["fit"] = judge_fit(module.task, datamodule, summary.metrics)
        if cfg.get("interpret") and trainer.is_global_zero:
            from ..analysis.interpret import interpret

            # a data set without the asked split (no test split): the report is on val, said so
            split = cfg.interpret_split if sizes.get(cfg.interpret_split) else "val"
            report = interpret(module, datamodule, cfg.paths.output_dir, split, cfg.top_k)
            if split != cfg.interpret_split:
                report["message"] = (
                    f"interpret_split={cfg.interpret_split} is empty in this data: the report is "
                    f"on val. {report.get('message', '')}"
                ).strip()
            summary.sections["interpretation"] = report
    except BaseException as caught:  # recorded, then re-raised
        error = caught
    finally:
        conclude(summary, error)
        summary.wall_time_s = round(time.perf_counter() - start, 3)
        if trainer is None or trainer.is_global_zero:
            write_summary(cfg.paths.output_dir, summary)
            print_summary(summary)
    if error is not None:
        raise error
    return summary


def _wait_for_files(callbacks: list, error: BaseException | None) -> BaseException | None:
    """Waits for files written in the background (plots/curves.png): the run's error or theirs."""
    for callback in callbacks:
        if hasattr(callback, "wait_written"):
            try:
                callback.wait_written()
            except Exception as failed:
                error = error or failed
    return error


def _trainer_facts(trainer: L.Trainer) -> dict:
    step, epochs = trainer.global_step, trainer.current_epoch
    return {"global_step": step, "epochs": epochs, "world_size": trainer.world_size}


def _overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
