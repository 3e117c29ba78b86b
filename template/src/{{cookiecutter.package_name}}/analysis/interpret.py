"""Interpretation report of a trained model on one split, where and how it is wrong: predictions
gathered the same way for every task, the contents written by the task's report
(``tasks/reports/``) into ``<run dir>/interpret/``; returns summary.json's ``interpretation``."""

from __future__ import annotations

from pathlib import Path

from .predict import predict


def interpret(
    module, datamodule, output_dir: str | Path, split: str = "test", top_k: int = 16
) -> dict:
    folder = Path(output_dir) / "interpret"
    folder.mkdir(parents=True, exist_ok=True)
    predictions = predict(module, datamodule, split)
    report = module.report().interpret(predictions, folder, datamodule, top_k)
    return {**report, "folder": str(folder), "files": sorted(f.name for f in folder.iterdir())}
