"""Interpretation report of a trained model on one split: where and how it is wrong.

The predictions of the trained module (a task and its model) are gathered here, the same way for
every task; what the report contains is the task's report (``tasks/reports/``): per-class tables
and a confusion matrix for classes, per-label scores for label sets, scatter and residual plots
for numbers, per-class IoU for masks. Files go to ``<run dir>/interpret/``; the returned dict is
summary.json's ``interpretation`` section.
"""

from __future__ import annotations

from pathlib import Path

from .predict import predict


def interpret(
    module, datamodule, output_dir: str | Path, split: str = "test", top_k: int = 16
) -> dict:
    folder = Path(output_dir) / "interpret"
    folder.mkdir(parents=True, exist_ok=True)
    report = module.report().interpret(
        predict(module, datamodule, split), folder, datamodule, top_k
    )
    return {**report, "folder": str(folder), "files": sorted(f.name for f in folder.iterdir())}
