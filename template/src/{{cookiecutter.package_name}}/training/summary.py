"""``summary.json``: one file per run that says what ran and how it went.

Schema (all plain JSON values): status ("completed" | "failed" | "crashed"), mode, task,
data {name, sizes {train, val, test}, fraction, num_classes, input_shape}, model {name,
params_total, params_trainable}, metrics {split: {acc, loss}}, verdicts {overfit, fit},
best_checkpoint, trainer {global_step, epochs, world_size}, output_dir, wall_time_s, seed,
overrides, error; when they ran: shape_check, lr_find {suggestion, rule, suggestions, applied,
lr_before, lr_after, curve, plot}, plots, interpretation {split, folder, accuracy, macro_f1,
most_confused} (eval.py).
Tests, benchmarks, sweeps and your own scripts read this file.
"""

from __future__ import annotations

import json
from pathlib import Path

SUMMARY_FILE = "summary.json"


def final_status(verdicts: dict) -> str:
    """A run whose checks did not pass is "failed" (the command then exits non-zero)."""
    return "completed" if all(v.get("passed", True) for v in verdicts.values()) else "failed"


def split_metrics(results: dict[str, float]) -> dict[str, dict[str, float]]:
    """``{"val/final_acc": 0.9}`` -> ``{"val": {"acc": 0.9}}``."""
    metrics: dict[str, dict[str, float]] = {}
    for key, value in results.items():
        split, _, name = key.partition("/final_")
        if name:
            metrics.setdefault(split, {})[name] = float(value)
    return metrics


def write_summary(output_dir: str | Path, summary: dict) -> Path:
    path = Path(output_dir) / SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return path
