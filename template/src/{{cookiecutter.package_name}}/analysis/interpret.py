"""Where and how a trained model is wrong on one split: the task's report, in ``interpret/``."""

from pathlib import Path

from .predict import predict


def interpret(module, datamodule, output_dir: str | Path, split="test", top_k=16) -> dict:
    folder = Path(output_dir) / "interpret"
    folder.mkdir(parents=True, exist_ok=True)
    predictions = predict(module, datamodule, split)
    report = module.report().interpret(predictions, folder, datamodule, top_k)
    return {**report, "folder": str(folder), "files": sorted(f.name for f in folder.iterdir())}
