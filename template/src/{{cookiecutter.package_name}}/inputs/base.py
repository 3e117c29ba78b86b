"""The input contract: what one kind of input owns, whatever the task and wherever items come from.

A data set is three independent parts (fastai's blocks):

* a **source** lists the items and their targets (an image folder, a CSV file, an embedded set):
  the data modules in ``data/``;
* an **input kind** (this package: ``image.py``, ``table.py``, ``text.py``, ``pair.py``, and the
  next one you add) reads one item, learns its preprocessing on the training split (kept in the
  checkpoint), augments batches (target-aware: a mask moves with its image), shows a batch, reads a
  request body for predict/serve, and tells the model what it needs to know (``facts()``);
* a **task** (``tasks/``) says what the targets are: loss, metrics, decoding, strata.

Shared code (training/, analysis/, the verdict, the plots) asks the input through the methods
below and never asks which kind it is. Every method has a default that suits fixed-shape tensors,
so a new kind overrides only what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch


class InputError(ValueError):
    """An input a user gave (a file, a request body, a row) that cannot be read: one line."""

    user_error = True


@dataclass(frozen=True)
class InputFacts:
    """What a model builder may know about its inputs: one typed object, passed as ``facts``.

    ``kind`` names the input kind ("image", "table", ...); ``shape`` is one item's tensor shape
    when it is fixed (images ``(C, H, W)``, table rows ``(columns,)``), None when it varies (texts).
    An input kind with more to say subclasses this in its own file (``TableFacts``, ``TextFacts``);
    a builder that needs those facts annotates its ``facts`` parameter with that class, and the
    registry refuses other inputs in one line.
    """

    kind: str
    shape: tuple[int, ...] | None = None

    def describe(self) -> dict:
        """Plain values for summary.json and the checkpoint."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


class Input:
    """One kind of input. Built from ``data.input`` (``_target_`` + options) by the data module."""

    kind: ClassVar[str] = "input"  # facts.kind and summary.json's data.input
    item_name: ClassVar[str] = "item"  # what one input is called in messages ("image", "text")
    # axes of a batch whose size varies: an exported model accepts any size along them
    dynamic_axes: ClassVar[dict[int, str]] = {0: "batch"}
    # the settings that decide an item's size, named when a model's input size does not match
    size_settings: ClassVar[str] = ""
    # what the fit verdict adds to its advice for a variance problem (e.g. more augmentation)
    variance_advice: ClassVar[tuple[str, ...]] = ()

    # ---- preprocessing learnt on the training split (kept in the checkpoint) ----------------
    def fit(self, train_inputs) -> None:
        """Learn the preprocessing (statistics, categories, vocabulary) from the training items.
        Called once per split, before any batch is served; never sees val or test items."""

    def state_dict(self) -> dict:
        """What ``fit`` learnt, as plain values and tensors (stored in the checkpoint)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``fit`` learnt (eval, predict, resume): no refit on other items."""

    def facts(self) -> InputFacts:
        """What a model needs to know about one item (after ``fit``)."""
        raise NotImplementedError

    def describe(self) -> dict:
        """Plain values for summary.json's ``data`` section."""
        return {"input": self.kind}

    # ---- new items: predict.py, serve.py, export ---------------------------------------------
    def read_file(self, source) -> torch.Tensor:
        """One item from a file path or a binary file object (a request body), preprocessed like
        an evaluation item. Raises ``InputError`` (one line) for something unreadable."""
        raise InputError(f"{self.kind} inputs cannot be read from a file")

    def read_items(self, source) -> tuple[list[str], torch.Tensor, dict] | None:
        """Many items from one source (the rows of a CSV file or a JSON body): their names, the
        batch, and notes for the summary; None when one file is one item (images)."""
        return None

    def describe_item(self, raw) -> str:
        """One item as a person reads it in a review CSV ("" when it is shown as a picture)."""
        return ""

    def preprocessing(self) -> dict:
        """How a raw item becomes the model's input, as plain values (the export's JSON)."""
        return {"input": self.kind}

    # ---- augmentation (training split only) --------------------------------------------------
    def augment_batch(self, inputs, targets, policy: dict):
        """A training batch augmented on the device (in-memory tensors); targets that move with
        their inputs (masks) are transformed with them. Default: unchanged."""
        return inputs, targets

    def item_transform(self, train: bool) -> Callable | None:
        """Per-item transform for items read from files in the loader workers (None: none)."""
        return None

    # ---- showing ------------------------------------------------------------------------------
    def show_batch(self, inputs: torch.Tensor, titles: list[str], path: Path, title: str = ""):
        """Draw ``inputs`` (a batch as the model sees it) to ``path``; returns the path, or None
        when this kind is not shown as pictures (the caller says so in one line)."""
        return None

    def can_show(self) -> bool:
        """Whether ``show_batch`` draws anything (plots of batches and top losses)."""
        return False
