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

import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch

from ..training.validate import ConfigError

# the notes of ``Input.read_items`` that hold one value per item (see there)
PER_ITEM_NOTES = ("rows", "columns")


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
    """One kind of input. Built from ``data.input`` (``_target_`` + options) by the data module;
    the options it was built with are kept (``spec()``): plain values, they rebuild it from a
    checkpoint."""

    kind: ClassVar[str] = "input"  # facts.kind and summary.json's data.input
    item_name: ClassVar[str] = "item"  # what one input is called in messages ("image", "text")
    # axes of a batch whose size varies: an exported model accepts any size along them
    dynamic_axes: ClassVar[dict[int, str]] = {0: "batch"}
    # the settings that decide an item's size, named when a model's input size does not match
    size_settings: ClassVar[str] = ""
    # what the fit verdict adds to its advice for a variance problem (e.g. more augmentation)
    variance_advice: ClassVar[tuple[str, ...]] = ()
    # kinds read from files: the file name endings (lower case) a folder source takes as items
    suffixes: ClassVar[tuple[str, ...]] = ()

    shape: tuple[int, ...] | None = None  # one in-memory item's shape, seen by ``fit``

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        # (bind_partial: unpickling, in a loader worker, calls __new__ without the options)
        signature = inspect.signature(cls.__init__)
        bound = signature.bind_partial(self, *args, **kwargs)
        self.options = {}
        for name, value in list(bound.arguments.items())[1:]:  # (without self)
            keywords = signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD
            self.options.update(value if keywords else {name: value})
        return self

    def spec(self) -> dict:
        """The ``input:`` entry that builds this input again."""
        return input_spec(type(self), **self.options)

    @classmethod
    def settings_from_model(cls, options: dict, model_config: dict) -> dict:
        """Options this input takes from the model (a pretrained backbone's input size and
        statistics), for the options ``options`` leaves unset; called before construction."""
        return {}

    # ---- preprocessing learnt on the training split (kept in the checkpoint) ----------------
    def fit(self, train_inputs) -> None:
        """Learn the preprocessing (statistics, categories, vocabulary) from the training items,
        as the source holds them: an ``(N, ...)`` tensor in memory, or ``data.base.FileItems``
        (``paths``; each item read by ``load_item``). Called once, before any batch is served,
        with the whole training split (whatever ``data.fraction``); never sees val or test items.
        What ``load_state_dict`` restored is kept, not learnt again. Default: the items' shape."""
        if isinstance(train_inputs, torch.Tensor):
            self.shape = tuple(train_inputs.shape[1:])

    def state_dict(self) -> dict:
        """What ``fit`` learnt, as plain values and tensors (stored in the checkpoint)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``fit`` learnt (eval, predict, resume): no refit on other items."""

    def prepare(self, inputs: torch.Tensor) -> torch.Tensor:
        """In-memory items (the whole ``(N, ...)`` tensor) as the model sees them, after ``fit``."""
        return inputs

    def facts(self) -> InputFacts:
        """What a model needs to know about one item (after ``fit``)."""
        return InputFacts(kind=self.kind, shape=self.shape)

    def describe(self) -> dict:
        """Plain values for summary.json's ``data`` section, beside ``input`` (the facts)."""
        return {}

    def notes(self) -> list[str]:
        """What a person should know about how items were read (one line each), e.g. a size
        chosen for them; the console prints them under the data line."""
        return []

    # ---- new items: predict.py, serve.py, export ---------------------------------------------
    def read_file(self, source) -> torch.Tensor:
        """One item from a file path or a binary file object (a request body), preprocessed like
        an evaluation item. Raises ``InputError`` (one line) for something unreadable."""
        raise InputError(f"{self.kind} inputs cannot be read from a file")

    def load_item(self, path: str):
        """One item of a file source as stored (a PIL image, an array), read in the loader
        workers; ``item_transform`` turns it into the model's tensor. Default: ``read_file``."""
        return self.read_file(path)

    def check_files(self, paths: list[str]) -> dict[str, bool]:
        """``{path: readable}``, checked before training so that no loader worker dies mid-epoch
        on a bad file. Default: each file read once."""
        readable = {}
        for path in paths:
            try:
                self.load_item(path)
                readable[path] = True
            except Exception:  # readers raise many kinds (OSError, ValueError, EOFError, ...)
                readable[path] = False
        return readable

    def read_items(
        self, source, column: str | None = None
    ) -> tuple[list[str], torch.Tensor, dict] | None:
        """Many items from one source: ``(names, batch, notes)``, preprocessed like evaluation
        items; None when one file is one item (images: ``read_file``).

        ``source``: a path (predict.py's ``inputs=``: a CSV/Parquet table, or what else the kind
        reads, a folder or a .txt file of texts), or a ``JsonRows`` (serve.py's JSON body): the
        path of the same rows written as a CSV file, which reads like any other, plus ``.rows``,
        the rows as sent, for an input whose columns have types to check the JSON values the CSV
        text no longer tells apart. ``column``: the user's name for the one column an input
        reads (predict.py's ``column=``), or None.

        ``notes``, every key optional: facts about the source, which predict.py prints and
        returns (e.g. ``unknown_categories``: per column, the categories training never saw);
        ``left_out``: one ``"where: why"`` line per item left out of ``names`` (serve.py refuses
        a body with rows left out and quotes them). The keys that hold one value per item of
        ``names``, in its order (``PER_ITEM_NOTES``), written into predictions.csv beside each
        prediction and not printed: ``rows``, the item's position in the file (from 0, written
        as ``row``); ``columns``, ``{column: [one cell per item]}``, the cells of the columns the
        model does not read (IDs, a target), as the file holds them."""
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

    def item_transform(self, train: bool, policy: dict) -> Callable | None:
        """Per-item transform for items read from files, in the loader workers (None: none);
        ``train``: with the augmentation ``policy``."""
        return None

    # ---- showing ------------------------------------------------------------------------------
    def show_batch(self, inputs: torch.Tensor, titles: list[str], path: Path, title: str = ""):
        """Draw ``inputs`` (a batch as the model sees it) to ``path``; returns the path, or None
        when this kind is not shown as pictures (the caller says so in one line)."""
        return None

    def can_show(self) -> bool:
        """Whether ``show_batch`` draws anything (plots of batches and top losses)."""
        return False


class JsonRows(str):
    """Rows sent as JSON (serve.py), given to ``Input.read_items``: the path of the CSV file the
    rows were written to (so that they read exactly as predict.py reads a CSV), carrying
    ``rows``, the rows as sent (a list of ``{column: value}``). An input whose columns have types
    checks those values themselves, which the CSV text no longer tells apart (``true`` and
    ``"True"``, ``"NA"`` and null)."""

    rows: list[dict]

    def __new__(cls, path, rows: list[dict]):
        self = super().__new__(cls, str(path))
        self.rows = rows
        return self


def input_spec(cls: type[Input], **options) -> dict:
    """The ``input:`` entry (plain values) that builds ``cls(**options)``: a source's default."""
    return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **options}


def build_input(spec: dict) -> Input:
    """The input a data config's ``input:`` entry names (``_target_`` + options, plain values;
    no ``_target_``: the contract's defaults, for fixed-shape tensors); ``ConfigError`` (one line)
    for a class that is not there or an option it does not take."""
    from hydra.utils import get_class

    options = dict(spec)
    target = options.pop("_target_", None)
    if target is None:
        return Input(**options)
    try:
        cls = get_class(target)
    except Exception as error:  # hydra wraps the import error
        raise ConfigError(f"data.input._target_={target}: no such class ({error})") from None
    if not (isinstance(cls, type) and issubclass(cls, Input)):
        raise ConfigError(f"data.input._target_={target}: not an input kind (inputs/base.Input)")
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        raise ConfigError(
            f"data.input: {cls.__name__} has no option {', '.join(unknown)}; it takes "
            f"{', '.join(accepted) or 'none'}"
        )
    return cls(**options)
