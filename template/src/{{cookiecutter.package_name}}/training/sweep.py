"""Sweeps: what one job returns to Hydra's sweeper, and the table of every job at the end.

Hydra's basic sweeper stops at the first job that raises and the Optuna sweeper aborts the study;
a sweep of ten runs should not die because one crashed or diverged. ``run_job`` records such a run
(its summary.json says why) and hands the sweeper ``None``: the basic sweeper goes on, Optuna marks
the trial FAIL. A single run exits with its outcome's exit code; Ctrl-C stops a whole sweep.
``SweepSummary`` (a Hydra callback, configs/train.yaml) writes every job's summary.json into
``summary.csv`` at the sweep root and prints it. No torch/Lightning imports: Hydra loads it early.
"""

import csv
import json
import logging
import math
{% if "ddp" in cookiecutter.__features.split(",") -%}
import os
{% endif -%}
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

SUMMARY_CSV = "summary.csv"
{%- if "cv" in cookiecutter.__features.split(",") %}
CV_CONFIG = "cv_config.yaml"  # the composed config of a cross-validation run (training/cv.py)
{%- endif %}
{%- if "ddp" in cookiecutter.__features.split(",") %}
# set by Lightning's DDP launcher in the launching process
DDP_ENVIRONMENT = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
{%- endif %}
# train/val/test: the task's score (column ``score`` names it: acc, f1_micro, r2, miou, ...)
{%- if "cv" in cookiecutter.__features.split(",") %}
# a cross-validation run (cv=kfold): the means over its folds, val_std their spread, folds how many
COLUMNS = tuple(
    "job status overrides model mode task score train val val_std folds test val_loss objective "  # noqa: SIM905
    "verdict wall_time_s error output_dir".split()
)
{%- else %}
COLUMNS = tuple(
    "job status overrides model mode task score train val test val_loss objective verdict "  # noqa: SIM905
    "wall_time_s error output_dir".split()
)
{%- endif %}


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def metric_value(summary: dict, name: str | None) -> float | None:
    """``"val/acc"`` -> ``summary["metrics"]["val"]["acc"]`` (None: the run did not measure it)."""
    if not name:
        return None
    split, _, key = name.partition("/")
    value = (summary.get("metrics") or {}).get(split, {}).get(key)
    return None if value is None or math.isnan(value) else float(value)


def run_job(train: Callable[[DictConfig], dict], cfg: DictConfig) -> float | None:
    """``train(cfg)`` for train.py: the optimized metric for the sweeper."""
    from .errors import user_message  # (no heavy imports: Hydra loads this module early)

    multirun = in_multirun()
{%- if "ddp" in cookiecutter.__features.split(",") %}
    environment = {key: os.environ.get(key) for key in DDP_ENVIRONMENT}
{%- endif %}
    try:
        summary = train(cfg)
    except Exception as error:
        mistake = user_message(error) is not None  # its summary printed the one line
        if multirun:  # summary.json of this job already says "crashed" and why
            if not mistake:  # a bug keeps its traceback
                log.error("job failed, the sweep goes on:\n%s", traceback.format_exc())
            return None
        if mistake:
            sys.exit(2)
        raise
{%- if "ddp" in cookiecutter.__features.split(",") %}
    finally:
        _end_process_group(environment)
{%- endif %}
    if summary.status != "completed":
        if not multirun:
            sys.exit(summary.exit_code)
        return None  # failed, diverged: recorded in summary.csv, the sweep goes on
    return metric_value(summary.to_dict(), cfg.get("optimized_metric"))
{%- if "ddp" in cookiecutter.__features.split(",") %}


def _end_process_group(environment: dict[str, str | None]) -> None:
    """A DDP job leaves its process group and rank variables behind (with LOCAL_RANK set,
    Lightning would wait for ranks it never starts); a process group left to the exit of the
    process sometimes aborts it (gloo, seen on CPU)."""
    for key, value in environment.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if "torch" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
{%- endif %}


def collect(sweep_dir: str | Path, optimized_metric: str | None = None) -> list[dict[str, Any]]:
    """One row per job folder under ``sweep_dir`` (a job killed before its summary: "missing")."""
    sweep_dir = Path(sweep_dir)
    job_dirs = {p.parent for p in sweep_dir.rglob("summary.json")}
    job_dirs |= {p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")}
    rows = []
    for job_dir in job_dirs:
        if ".submitit" in job_dir.parts or job_dir == sweep_dir:
            continue
{%- if "cv" in cookiecutter.__features.split(",") %}
        if (job_dir.parent / CV_CONFIG).is_file():  # a fold of a cross-validation run
            continue
{%- endif %}
        path, saved = job_dir / "summary.json", job_dir / ".hydra" / "overrides.yaml"
        if path.is_file():
            summary = json.loads(path.read_text(encoding="utf-8"))
        else:
            overrides = list(OmegaConf.load(saved)) if saved.is_file() else []
            summary = {"status": "missing", "overrides": overrides}
        metrics, task = summary.get("metrics") or {}, summary.get("task") or {}
{%- if "cv" in cookiecutter.__features.split(",") %}
        cv_val = ((summary.get("cv") or {}).get("spread") or {}).get("val") or {}
{%- endif %}
        verdict = _verdict(summary.get("verdicts") or {})
        if not verdict and summary.get("status") not in ("completed", "crashed"):
            verdict = summary.get("message", "")
        rows.append(
            {
                "job": str(job_dir.relative_to(sweep_dir)),
                "status": summary.get("status"),
                "overrides": " ".join(summary.get("overrides", [])),
                "model": (summary.get("model") or {}).get("name"),
                "mode": summary.get("mode"),
                "task": task.get("name"),
                "score": task.get("score"),
                **{s: metrics.get(s, {}).get(task.get("score")) for s in ("train", "val", "test")},
{%- if "cv" in cookiecutter.__features.split(",") %}
                "val_std": cv_val.get("std"),
                "folds": len(cv_val.get("values", [])) or None,
{%- endif %}
                "val_loss": metrics.get("val", {}).get("loss"),
                "objective": metric_value(summary, optimized_metric),
                "verdict": verdict,
                "wall_time_s": summary.get("wall_time_s"),
                "error": summary.get("error"),
                "output_dir": str(job_dir),
            }
        )
    return sorted(rows, key=lambda row: _job_order(row["job"]))


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    """The table in the terminal: only the overrides that differ between jobs, short errors."""
    from rich.markup import escape
    from rich.table import Table

    from ..console import console

    common = set.intersection(*(set(row["overrides"].split()) for row in rows)) if rows else set()
    table = Table(title=title, title_justify="left")
    for column in ("job", "status", "overrides", "train", "val", "test", "note", "s"):
        wide = column in ("overrides", "note")
        justify = "right" if column in ("train", "val", "test", "s") else "left"  # scores, seconds
        width = 12 if wide else None
        table.add_column(
            column, justify=justify, overflow="fold", no_wrap=not wide, min_width=width
        )
    colours = {"completed": "green", "failed": "yellow", "interrupted": "yellow"}
    for row in rows:
        colour = colours.get(row["status"], "red")
        varying = " ".join(_short(o) for o in row["overrides"].split() if o not in common)
{%- if "cv" in cookiecutter.__features.split(",") %}
        spread = "" if row.get("val_std") is None else f" +- {row['val_std']:.4f}"
{%- endif %}
        table.add_row(
            row["job"],
            f"[{colour}]{row['status']}[/{colour}]",
            varying,
            _cell(row["train"]),
            _cell(row["val"]){{ " + spread" if "cv" in cookiecutter.__features.split(",") }},
            _cell(row["test"]),
            escape(row["verdict"] or _short_error(row["error"])),
            "" if row["wall_time_s"] is None else f"{row['wall_time_s']:.1f}",
        )
    console.print(table)


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        rows = collect(sweep_dir, OmegaConf.select(config, "optimized_metric"))
        path = write_csv(rows, sweep_dir / SUMMARY_CSV)
        failed = sum(row["status"] != "completed" for row in rows)
        scores = sorted({row["score"] for row in rows if row["score"]})
        print_table(
            rows,
            f"{len(rows)} runs ({failed} not completed), "
            f"{'/'.join(scores) or 'score'} per split -> {path}",
        )


def _verdict(verdicts: dict) -> str:
    parts = []
    if "overfit" in verdicts:
        reached = verdicts["overfit"].get("reached")
        parts.append("overfit " + ("reached" if reached else "NOT reached"))
    if "fit" in verdicts:
        parts.append(str(verdicts["fit"].get("diagnosis")))
    parts += [
        key
        for key, value in verdicts.items()
        if key not in ("overfit", "fit") and not value.get("passed", True)
    ]
    return "; ".join(parts)


def _job_order(name: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in Path(name).parts)


def _short(override: str) -> str:
    """``optimizer.lr=0.000567080778`` -> ``optimizer.lr=0.000567``."""
    key, _, value = override.partition("=")
    try:
        number = float(value)
    except ValueError:
        return override
    return f"{key}={number:.3g}" if "." in value or "e" in value else override


def _short_error(error: str | None) -> str:
    """The root cause: the last line of the message (Hydra wraps errors of ``_target_``s)."""
    lines = [line for line in (error or "").splitlines() if line and "full_key" not in line]
    return lines[-1][:80] if lines else ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)
