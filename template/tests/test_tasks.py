"""The task contract, checked for every option of configs/task/ (the way timm tests every model):
each task's overfit check reaches its target and fails with lr=0, a fraction run gives a verdict
on the task's score, the checkpoint rebuilds the task and reproduces the metrics, eval writes the
task's interpretation{{ ", clean-data finds items" if "clean" in cookiecutter.__features.split(",") }}. A new task file + yaml is covered automatically."""

{% if "clean" in cookiecutter.__features.split(",") %}import csv
{% endif %}import json
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class

{% if "clean" in cookiecutter.__features.split(",") %}from {{ cookiecutter.package_name }}.analysis import clean_data
from {{ cookiecutter.package_name }}.analysis.predict import load_trained
{% endif %}from {{ cookiecutter.package_name }}.training.run import (
    build_datamodule,
    build_module,
    evaluate,
)

from conftest import CONFIGS, compose_config

TASKS = sorted(f.stem for f in (CONFIGS / "task").glob("*.yaml"))


@pytest.fixture(params=TASKS)
def task_name(request) -> str:
    return request.param


def test_the_task_declares_what_shared_code_reads(task_name, tmp_path):
    cfg = compose_config("train", [f"task={task_name}"], tmp_path)
    cls = get_class(cfg.task._target_)
    assert cfg.task.name == task_name
    assert cls.target_kind and cls.head in ("pooled", "dense")
    # the names configs interpolate: checkpoint monitor, sweeps, early stopping
    assert cfg.callbacks.model_checkpoint.monitor == f"val/{cfg.task.score}"
    assert cfg.optimized_metric == f"val/{cfg.task.score}"
    assert 0 < cfg.task.overfit_target <= 1


def test_overfit_reaches_the_target_and_lr_zero_fails(task_name, run_train):
    summary = run_train(f"task={task_name}", "mode=overfit")
    verdict = summary["verdicts"]["overfit"]
    task = summary["task"]
    assert summary["status"] == "completed" and summary["exit_code"] == 0, verdict
    assert verdict["reached"] and verdict["metric"] == task["overfit_metric"]
    assert verdict["target"] == task["overfit_target"] and 0 < verdict["steps"] < 500
    # measured again after training, in eval mode, on the fixed batch itself
    assert summary["metrics"]["train"][task["overfit_metric"]] >= task["overfit_target"]

    failed = run_train(
        f"task={task_name}", "mode=overfit", "optimizer.lr=0", "trainer.max_steps=30"
    )
    assert failed["status"] == "failed" and failed["exit_code"] == 1
    assert not failed["verdicts"]["overfit"]["reached"]
    assert any("not decreasing" in cause for cause in failed["verdicts"]["overfit"]["diagnosis"])


def test_only_identical_inputs_with_different_targets_lower_the_best_attainable(
    task_name, tmp_path
):
    """The overfit check's ceiling: the task's oracle is perfect on distinct inputs, and below
    perfect once an input comes back with another item's target."""
    cfg = compose_config("train", [f"task={task_name}"], tmp_path)
    task_cls = get_class(cfg.task._target_)
    datamodule = build_datamodule(cfg, task_cls)
    task = build_module(cfg, task_cls, datamodule).task
    targets = next(iter(datamodule.train_dataloader()))[1][:8]
    metric, distinct = task.overfit_metric, torch.arange(len(targets))
    assert task.best_attainable(distinct, targets, metric) == pytest.approx(1.0, abs=1e-5)
    other = targets.roll(1, 0)
    assert not other.equal(targets)
    twice = task.best_attainable(
        torch.cat([distinct, distinct]), torch.cat([targets, other]), metric
    )
    assert 0.0 <= twice < 1.0


def test_fraction_judges_the_fit_on_the_task_score(task_name, run_train):
    summary = run_train(f"task={task_name}", "mode=fraction", "trainer.max_epochs=3")
    fit, score = summary["verdicts"]["fit"], summary["task"]["score"]
    assert summary["status"] == "completed"
    assert fit["metric"] == score and fit["train"] == summary["metrics"]["train"][score]
    assert fit["diagnosis"] in {
        "good fit",
        "overfitting",
        "underfitting",
        "underfitting and overfitting",
    }
    assert fit["message"].startswith(fit["diagnosis"]) and fit["advice"]
    assert summary["data"]["sizes"]["train"] < summary["data"]["full_train_size"]
    on_disk = json.loads((Path(summary["output_dir"]) / "summary.json").read_text())
    assert on_disk["verdicts"]["fit"]["metric"] == score


def test_a_checkpoint_rebuilds_the_task_and_reproduces_its_metrics_in_eval(
    task_name, run_train, tmp_path
):
    trained = run_train(
        f"task={task_name}", "trainer.max_epochs=1", "+trainer.limit_train_batches=5"
    )
    best = trained["best_checkpoint"]
    checkpoint = torch.load(best, map_location="cpu", weights_only=True)  # plain values only
    task_target = checkpoint["hyper_parameters"]["task"]["_target_"]
    assert task_target.endswith(type_name(task_name, tmp_path))

    cfg = compose_config(
        "eval",
        [
            f"ckpt_path={best}",
            "+trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
        ],
        tmp_path / "eval",
    )
    evaluated = evaluate(cfg).to_dict()
    for split in ("train", "val", "test"):  # the same numbers, from the checkpoint alone
        for name, value in trained["metrics"][split].items():
            assert evaluated["metrics"][split][name] == pytest.approx(value, rel=1e-4, abs=1e-5)
    report = evaluated["interpretation"]
    assert report["message"] and report["files"]
    assert all((Path(report["folder"]) / name).stat().st_size > 0 for name in report["files"])

{%- if "clean" in cookiecutter.__features.split(",") %}

    task, datamodule = load_trained(best)
    rows = clean_data.find_suspicious(task, datamodule, ["val"], top_k=3)
    assert rows and all(row["split"] == "val" and row["reasons"] for row in rows)
    path = clean_data.write_review(rows, tmp_path / "review", datamodule, best)
    with path.open(newline="") as file:
        written = list(csv.DictReader(file))
    assert len(written) == len(rows) and {"label", "prediction", "loss"} <= set(written[0])
{%- endif %}


def type_name(task_name: str, tmp_path: Path) -> str:
    cfg = compose_config("train", [f"task={task_name}"], tmp_path / "cfg")
    return cfg.task._target_.rsplit(".", 1)[-1]


# ---- settings go in through the constructor or a named method, never by assignment -----------
SOURCE = Path(__file__).resolve().parents[1] / "src" / "{{ cookiecutter.package_name }}"


def test_no_module_outside_the_task_assigns_a_task_s_attributes():
    """``measure``, the LR finder and the speed switches call a named method (``set_eval_splits``,
    ``set_lr``, ``use_channels_last``); only Lightning's own ``trainer`` is attached from
    outside (the LR finder detaches its trial trainer)."""
    import re

    assignment = re.compile(r"\b(task|pl_module|module)\.(?!trainer\b)([a-z_]+)\s*=[^=]")
    found = [
        f"{path.relative_to(SOURCE)}: {line.strip()}"
        for folder in ("training", "analysis", "data")  # (in models/, a module is a layer)
        for path in (SOURCE / folder).rglob("*.py")
        if path.name != "module.py"  # the training module's own attributes
        for line in path.read_text(encoding="utf-8").splitlines()
        if assignment.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found


def test_a_task_is_the_contract_alone_and_one_module_trains_every_task(task_name, tmp_path):
    """Tasks declare (targets, loss, metrics, decoding, ...); the training steps, logging,
    optimizers and checkpoints are the one training module's, whatever the task."""
    import lightning as L

    from {{ cookiecutter.package_name }}.tasks.base import Task
    from {{ cookiecutter.package_name }}.training.module import TaskModule

    cfg = compose_config("train", [f"task={task_name}"], tmp_path)
    task_cls = get_class(cfg.task._target_)
    assert issubclass(task_cls, Task) and not issubclass(task_cls, L.LightningModule)
    steps = {"training_step", "validation_step", "test_step", "configure_optimizers"}
    assert not steps & {name for klass in task_cls.__mro__ for name in vars(klass)}
    module = build_module(cfg, task_cls, build_datamodule(cfg, task_cls))
    assert type(module) is TaskModule and isinstance(module.task, task_cls)
    assert module.hparams.task["_target_"] == cfg.task._target_
