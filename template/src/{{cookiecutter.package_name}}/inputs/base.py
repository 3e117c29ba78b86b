"""The input contract: what one kind of input owns, whatever the task and the source. Shared code
never asks which kind it is; the defaults suit fixed-shape tensors."""

import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch

from ..training.validate import ConfigError
{%- if "deploy" in cookiecutter.__features.split(",") %}

# the notes of ``Input.read_items`` that hold one value per item (see there)
PER_ITEM_NOTES = ("rows", "columns")
{%- endif %}


class InputError(ValueError):
    """An input a user gave (a file, a request body, a row) that cannot be read: one line."""

    user_error = True


@dataclass(frozen=True)
class InputFacts:
    """What a model builder may know about its inputs (a kind with more to say subclasses it)."""

    kind: str
    shape: tuple[int, ...] | None = None  # one item's shape when fixed

    def describe(self) -> dict:  # plain values for summary.json and the checkpoint
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


class Input:
    """Built from ``data.input``; its options kept as plain values (``spec()``) for checkpoints."""

    kind: ClassVar[str] = "input"  # facts.kind and summary.json's data.input
    item_name: ClassVar[str] = "item"  # what one input is called in messages ("image", "text")
{%- if "deploy" in cookiecutter.__features.split(",") %}
    # axes of a batch whose size varies: an exported model accepts any size along them
    dynamic_axes: ClassVar[dict[int, str]] = {0: "batch"}
{%- endif %}
    size_settings: ClassVar[str] = ""  # what decides an item's size, named on a size mismatch
    variance_advice: ClassVar[tuple[str, ...]] = ()  # the fit verdict's advice for variance
    suffixes: ClassVar[tuple[str, ...]] = ()  # (lower case) what a folder source takes as items

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
        return input_spec(type(self), **self.options)

    @classmethod
    def settings_from_model(cls, options: dict, model_config: dict) -> dict:
        """Options unset in ``options`` from the model (a pretrained backbone's statistics)."""
        return {}

    # ---- preprocessing learnt on the training split (kept in the checkpoint) ----------------
    def fit(self, train_inputs) -> None:  # once, on the training split; keep what was restored
        if isinstance(train_inputs, torch.Tensor):
            self.shape = tuple(train_inputs.shape[1:])

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``fit`` learnt (eval, predict, resume): never refit on other items."""

    def prepare(self, inputs: torch.Tensor) -> torch.Tensor:  # the whole (N, ...) tensor
        return inputs

    def facts(self) -> InputFacts:
        return InputFacts(kind=self.kind, shape=self.shape)

    def describe(self) -> dict:  # for summary.json's data section
        return {}

    def notes(self) -> list[str]:  # how items were read (a size chosen), under the data line
        return []
{%- if "deploy" in cookiecutter.__features.split(",") %}

    # ---- new items: predict.py, serve.py, export ---------------------------------------------
{%- else %}

    # ---- items read from files ---------------------------------------------------------------
{%- endif %}
    def read_file(self, source) -> torch.Tensor:
        """One item from a path or a binary file object, preprocessed like an evaluation item;
        ``InputError`` (one line) for something unreadable."""
        raise InputError(f"{self.kind} inputs cannot be read from a file")

    def load_item(self, path: str):
        """One item of a file source as stored, in a loader worker (``item_transform`` follows)."""
        return self.read_file(path)

    def check_files(self, paths: list[str]) -> dict[str, bool]:
        """``{path: readable}``, before training, so no loader worker dies mid-epoch."""
        readable = {}
        for path in paths:
            try:
                self.load_item(path)
                readable[path] = True
            except Exception:  # readers raise many kinds (OSError, ValueError, EOFError, ...)
                readable[path] = False
        return readable
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def read_items(self, source, column=None) -> tuple[list[str], torch.Tensor, dict] | None:
        """Many items from one source: ``(names, batch, notes)``; None when one file is one item.

        ``source``: a path (predict.py's ``inputs=``) or a ``JsonRows`` (serve.py); ``column``:
        the one column the input reads (``column=``). ``notes`` (keys optional): facts predict.py
        prints (``unknown_categories``); ``left_out``: ``"where: why"`` per item left out (serve.py
        refuses them); and ``PER_ITEM_NOTES``, one value per name, written into predictions.csv:
        ``rows`` (position in the file) and ``columns`` (``{column: cells}`` the model ignores)."""
        return None
{%- endif %}

    def describe_item(self, raw) -> str:
        """One item as a person reads it in a review CSV ("" when it is shown as a picture)."""
        return ""
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def preprocessing(self) -> dict:
        """How a raw item becomes the model's input, as plain values (the export's JSON)."""
        return {"input": self.kind}
{%- endif %}

    # ---- augmentation (training split only) and showing ---------------------------------------
    def augment_batch(self, inputs, targets, policy: dict):  # on the device; masks move too
        return inputs, targets

    def item_transform(self, train: bool, policy: dict) -> Callable | None:  # in loader workers
        return None

    def show_batch(self, inputs: torch.Tensor, titles: list[str], path: Path, title: str = ""):
        return None  # (the path drawn to; None: this kind is not shown as pictures)

    def can_show(self) -> bool:
        return False
{%- if "deploy" in cookiecutter.__features.split(",") %}


class JsonRows(str):
    """serve.py's JSON rows for ``Input.read_items``: the path of the CSV they were written to
    (read as predict.py reads a CSV), with ``rows`` as sent, for inputs that check value types
    the CSV text loses (``true`` and ``"True"``, ``"NA"`` and null)."""

    rows: list[dict]

    def __new__(cls, path, rows: list[dict]):
        self = super().__new__(cls, str(path))
        self.rows = rows
        return self
{%- endif %}


def input_spec(cls: type[Input], **options) -> dict:  # the input: entry building cls(**options)
    return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **options}


def build_input(spec: dict) -> Input:  # (no _target_: the contract's defaults)
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
