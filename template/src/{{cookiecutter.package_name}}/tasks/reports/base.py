"""The skeleton every task's report runs on: ``interpret`` writes the task's ``tables``, then the
ranked items as a CSV and a figure; ``derive`` computes once what the other hooks read (``d``)."""

from pathlib import Path
from typing import ClassVar

import torch

from ...analysis.reports import image_rows, write_csv


class Report:
    ranked_file: ClassVar[str] = "top_losses"  # <ranked_file>.csv and .png
    ranked_title: ClassVar[str] = "top losses on {split}"
    identity_header: ClassVar[tuple[str, ...]] = ("index", "path")
    ranked_header: ClassVar[tuple[str, ...]] = ("label", "prediction")

    def __init__(self, task, module=None) -> None:  # module: for reports that read the model
        self.task, self.module = task, module

    def derive(self, p, **options) -> dict:  # options: clean-data's thresholds
        return {"preds": self.task.decode(p.outputs)}

    def tables(self, p, d: dict, folder: Path, datamodule, top_k: int) -> dict:
        raise NotImplementedError

    def ranked(self, p, d: dict, top_k: int) -> list[int]:
        return self.highest_losses(p, top_k)

    def ranked_columns(self, p, d: dict, i: int) -> dict:  # (ranked_header)
        label, prediction = p.targets[i], d["preds"][i]
        return {"label": self.describe_item(label), "prediction": self.describe_item(prediction)}

    def caption(self, row: dict) -> str:
        return f"{row['prediction']}\n{row['label']}"

    def show_ranked(self, p, d: dict, rows: list[dict], path: Path, datamodule) -> None:
        indices, captions = [row["index"] for row in rows], [self.caption(row) for row in rows]
        image_rows(datamodule, indices, captions, path, self.ranked_title.format(split=p.split))

    def describe_item(self, target: torch.Tensor) -> str:  # a target or a decoded prediction
        return str(target.tolist())
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def prediction_row(self, output: torch.Tensor, folder=None, name: str = "") -> dict:
        """A row of predict.py's CSV and serve.py's JSON (``folder`` None), values typed; a mask may
        be saved into ``folder`` as a file called after ``name``, the row giving its path."""
        return {"prediction": self.describe_item(self.task.decode(output[None])[0])}
{%- endif %}

    def identity(self, p, i: int, datamodule) -> dict:  # (identity_header)
        return {"index": p.indices[i], "path": p.paths[i] or ""}

    def interpret(self, p, folder: Path, datamodule, top_k: int) -> dict:
        d = self.derive(p)
        section = self.tables(p, d, folder, datamodule, top_k)
        rows = [
            {**self.identity(p, i, datamodule), **self.ranked_columns(p, d, i), "loss": _loss(p, i)}
            for i in self.ranked(p, d, top_k)
        ]
        header = [*self.identity_header, *self.ranked_header, "loss"]
        table = [[row[key] for key in header] for row in rows]
        write_csv(folder / f"{self.ranked_file}.csv", header, table)
        self.show_ranked(p, d, rows, folder / f"{self.ranked_file}.png", datamodule)
        return {"split": p.split, "items": len(p.targets), **section}

{%- if "clean" in cookiecutter.__features.split(",") %}

    def reasons(self, p, d: dict, top_k: int, **options) -> list[tuple[str, list[int]]]:
        """Why items are worth a second look (clean-data): ``(reason, items)`` pairs."""
        raise NotImplementedError

    def review_columns(self, p, d: dict, i: int) -> dict:
        return self.ranked_columns(p, d, i)

    def suspicious(self, p, top_k: int, **options) -> list[dict]:
        """Review rows for clean-data: the task's columns, ``loss``, ``reasons``, ``item`` (the
        position in ``p``)."""
        d = self.derive(p, **options)
        reasons: dict[int, list[str]] = {}
        for why, items in self.reasons(p, d, top_k, **options):
            for i in items:
                reasons.setdefault(int(i), []).append(why)
        return [
            {**self.review_columns(p, d, i), "loss": _loss(p, i), "reasons": "+".join(w), "item": i}
            for i, w in reasons.items()
        ]
{%- endif %}

    @staticmethod
    def highest_losses(p, top_k: int) -> list[int]:
        return torch.argsort(p.losses, descending=True)[:top_k].tolist()


def _loss(p, i: int) -> float:
    return round(float(p.losses[i]), 6)
