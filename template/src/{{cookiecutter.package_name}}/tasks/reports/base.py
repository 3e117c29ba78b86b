"""The skeleton every task's report runs on.

``interpret`` always writes the same things in the same order: the task's own tables and plots
(``tables``), then the ranked items (the highest losses, the largest errors, the worst masks) as a
CSV and a figure, and returns summary.json's ``interpretation`` section: ``split``, ``items``, what
``tables`` returned (with a one-line ``message``). ``suspicious`` gathers, per item, every reason
the task gives (``reasons``) and the same item columns as the ranked CSV.

A report declares (override in a subclass):

* ``derive``: what is computed once per split from the predictions (decoded predictions,
  probabilities, errors), handed to every other hook as ``d``;
* ``tables``: the task's own files and summary fields;
* ``ranked``/``ranked_file``/``ranked_title``/``ranked_header``/``ranked_columns``/``caption``:
  which items the ranked CSV and figure show, and how;
* ``reasons``: why an item is worth a second look (clean-data), as ``(reason, items)`` pairs;
* ``review_columns``: an item's columns in clean-data's review (by default the ranked ones);
* ``describe_item`` and ``prediction_row``: one target, one raw output, as read by people.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from ...analysis.reports import image_rows, write_csv


class Report:
    ranked_file: ClassVar[str] = "top_losses"  # <ranked_file>.csv and .png
    ranked_title: ClassVar[str] = "top losses on {split}"
    identity_header: ClassVar[tuple[str, ...]] = ("index", "path")
    ranked_header: ClassVar[tuple[str, ...]] = ("label", "prediction")

    def __init__(self, task, module=None) -> None:
        """``module``: what runs the task's model (reports that read the model itself, such as
        learned item vectors, ask it); the task alone is enough for everything else."""
        self.task, self.module = task, module

    # ---- declarations ------------------------------------------------------------------------
    def derive(self, p, **options) -> dict:
        """``options``: clean-data's thresholds (``suspicious``), none for ``interpret``."""
        return {"preds": self.task.decode(p.outputs)}

    def tables(self, p, d: dict, folder: Path, datamodule, top_k: int) -> dict:
        raise NotImplementedError

    def ranked(self, p, d: dict, top_k: int) -> list[int]:
        return self.highest_losses(p, top_k)

    def ranked_columns(self, p, d: dict, i: int) -> dict:
        """One ranked item's columns between its identity and its loss (``ranked_header``)."""
        return {
            "label": self.describe_item(p.targets[i]),
            "prediction": self.describe_item(d["preds"][i]),
        }

    def caption(self, row: dict) -> str:
        return f"{row['prediction']}\n{row['label']}"

    def show_ranked(self, p, d: dict, rows: list[dict], path: Path, datamodule) -> None:
        """The ranked items as a figure (an image grid, or a table of described inputs)."""
        image_rows(
            datamodule,
            [row["index"] for row in rows],
            [self.caption(row) for row in rows],
            path,
            self.ranked_title.format(split=p.split),
        )

    def reasons(self, p, d: dict, top_k: int, **options) -> list[tuple[str, list[int]]]:
        raise NotImplementedError

    def review_columns(self, p, d: dict, i: int) -> dict:
        return self.ranked_columns(p, d, i)

    def describe_item(self, target: torch.Tensor) -> str:
        """A target or a decoded prediction as a person reads it (for CSVs and plot titles)."""
        return str(target.tolist())

    def prediction_row(self, output: torch.Tensor, folder=None, name: str = "") -> dict:
        """One new item's prediction from its raw output: a row of predict.py's CSV, and the JSON
        answer serve.py gives (``folder`` None), so plain values typed as they are (numbers as
        numbers). A task whose prediction is not a row (a mask) may save it into ``folder`` as a
        file called after ``name`` and give the file's path, and serve it encoded."""
        return {"prediction": self.describe_item(self.task.decode(output[None])[0])}

    # ---- the skeleton ------------------------------------------------------------------------
    def identity(self, p, i: int, datamodule) -> dict:
        """Which item a ranked row is (``identity_header``)."""
        return {"index": p.indices[i], "path": p.paths[i] or ""}

    def interpret(self, p, folder: Path, datamodule, top_k: int) -> dict:
        """Write the report into ``folder``; return summary.json's ``interpretation`` section."""
        d = self.derive(p)
        section = self.tables(p, d, folder, datamodule, top_k)
        rows = [
            {**self.identity(p, i, datamodule), **self.ranked_columns(p, d, i), "loss": _loss(p, i)}
            for i in self.ranked(p, d, top_k)
        ]
        header = [*self.identity_header, *self.ranked_header, "loss"]
        write_csv(
            folder / f"{self.ranked_file}.csv", header, [[r[k] for k in header] for r in rows]
        )
        self.show_ranked(p, d, rows, folder / f"{self.ranked_file}.png", datamodule)
        return {"split": p.split, "items": len(p.targets), **section}

    def suspicious(self, p, top_k: int, **options) -> list[dict]:
        """Items worth a second look: review rows (``label``, ``prediction``, the task's columns,
        ``loss``, ``reasons``, ``item``: the position in ``p``), for clean-data."""
        d = self.derive(p, **options)
        reasons: dict[int, list[str]] = {}
        for why, items in self.reasons(p, d, top_k, **options):
            for i in items:
                reasons.setdefault(int(i), []).append(why)
        return [
            {
                **self.review_columns(p, d, i),
                "loss": _loss(p, i),
                "reasons": "+".join(why),
                "item": i,
            }
            for i, why in reasons.items()
        ]

    @staticmethod
    def highest_losses(p, top_k: int) -> list[int]:
        return torch.argsort(p.losses, descending=True)[:top_k].tolist()


def _loss(p, i: int) -> float:
    return round(float(p.losses[i]), 6)
