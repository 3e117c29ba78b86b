"""User-item pairs (collaborative filtering): two ids per item.

``fit`` learns the users and the items of the training pairs, ``1..n`` in order of first
appearance, ``0`` for "unknown"; ``encode`` turns (user, item) names into ``(N, 2)`` index pairs,
a user or item training never saw getting 0, so the model can only use what it knows of the other
side. The vocabularies are the input's state (kept in the checkpoint): eval encodes the data
exactly as training did, even if the file has grown since.
"""

from dataclasses import dataclass
{%- if "deploy" in cookiecutter.__features.split(",") %}
from pathlib import Path
{%- endif %}

import torch
{% if "deploy" in cookiecutter.__features.split(",") %}
from ..training.validate import ConfigError
{%- endif %}
from .base import Input, InputFacts

UNKNOWN = "<unknown>"


@dataclass(frozen=True)
class PairFacts(InputFacts):
    """``shape``: ``(2,)``: a user index and an item index (0 = unknown for both)."""

    n_users: int = 0
    n_items: int = 0


class PairInput(Input):
    """``user_col``, ``item_col``, ``sep``: how new pairs are read from a CSV or JSON rows."""

    kind = "pair"
    item_name = "user-item pair"

    def __init__(self, user_col: str = "user", item_col: str = "item", sep: str | None = None):
        self.user_col, self.item_col, self.sep = user_col, item_col, sep
        self.vocab: dict[str, list[str]] | None = None  # {"users": [...], "items": [...]}

    @property
    def fitted(self) -> bool:
        return self.vocab is not None

    # ---- the vocabularies: learnt on the training pairs, kept in the checkpoint ---------------
    def fit(self, train_inputs: tuple[list, list]) -> None:
        """``train_inputs``: the training pairs' users and items (names or numbers); what a
        checkpoint gave back is kept."""
        if self.fitted:
            return
        users, items = train_inputs
        self.vocab = {"users": first_seen(users), "items": first_seen(items)}

    def state_dict(self) -> dict:
        return dict(self.vocab or {})

    def load_state_dict(self, state: dict) -> None:
        if state:  # (nothing stored: nothing to restore)
            self.vocab = {key: list(state[key]) for key in ("users", "items")}

    def encode(self, users: list, items: list) -> torch.Tensor:
        """``(N, 2)`` long: the user's and the item's index (0: not seen in training)."""
        users, items = _lookup(self.vocab["users"], users), _lookup(self.vocab["items"], items)
        return torch.stack([users, items], dim=1)

    @property
    def user_names(self) -> list[str]:
        return [UNKNOWN, *self.vocab["users"]]

    @property
    def item_names(self) -> list[str]:
        return [UNKNOWN, *self.vocab["items"]]

    # ---- facts for the model ------------------------------------------------------------------
    def facts(self) -> PairFacts:
        return PairFacts(
            kind=self.kind, shape=(2,), n_users=len(self.user_names), n_items=len(self.item_names)
        )
{%- if "deploy" in cookiecutter.__features.split(",") %}

    # ---- new pairs: predict.py, serve.py ------------------------------------------------------
    def read_file(self, source) -> torch.Tensor:
        raise ConfigError(
            "ratings data reads (user, item) pairs, not single files: predict.py "
            "inputs=<pairs.csv>, serve.py a JSON object of the user and item columns, "
            "eval.py ckpt_path=<run> +data.path=<ratings file> (the stored mapping applies)"
        )

    def read_items(self, source, column: str | None = None) -> tuple[list[str], torch.Tensor, dict]:
        """New (user, item) pairs from a CSV with the user and item columns (others, a rating,
        are ignored): ("user/item" names, index pairs, 0 for a user or item training never saw;
        notes: how many pairs have an unknown user / item)."""
        import pandas as pd

        path = Path(str(source)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"inputs={path} does not exist (a .csv of {self.user_col},{self.item_col} pairs)"
            )
        columns = {self.user_col: str, self.item_col: str}
        try:  # (empty, not a table, not UTF-8: the file's problem, told in one line)
            frame = pd.read_csv(path, sep=self.sep or ",", dtype=columns)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
            raise ConfigError(f"inputs={path}: not a pairs file ({error})") from None
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ConfigError(
                f"inputs={path}: no column(s) {missing} among {list(frame.columns)}: the pairs "
                "need the data's user and item columns (data.user_col, data.item_col)"
            )
        users, items = frame[self.user_col].tolist(), frame[self.item_col].tolist()
        pairs = self.encode(users, items)
        names = [f"{u}/{i}" for u, i in zip(users, items, strict=True)]
        unknown = {
            "unknown_users": int((pairs[:, 0] == 0).sum()),
            "unknown_items": int((pairs[:, 1] == 0).sum()),
        }
        return names, pairs, unknown

    def preprocessing(self) -> dict:
        return {
            "inputs": "(user index, item index) pairs, long",
            "unknown_index": 0,
            "users": self.user_names,
            "items": self.item_names,
        }
{%- endif %}


def first_seen(values: list) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


def _lookup(names: list[str], values: list) -> torch.Tensor:
    index = {name: i + 1 for i, name in enumerate(names)}
    return torch.tensor([index.get(str(v), 0) for v in values], dtype=torch.long)
