"""Name -> builder registry (the timm way: friendly names instead of import paths).

A builder receives ``num_outputs`` (the head's size: classes, labels, targets, mask classes) and
the keys of ``configs/model/<name>.yaml``; it may also ask for any fact the data module gives
about its inputs by naming it as a parameter (``input_shape`` for images, ``cardinalities`` for
tables, ``vocab_size`` for text, ...). Registration also says:

* ``head``: ``"pooled"`` (one vector per item: classification, regression) or ``"dense"`` (one
  vector per pixel: segmentation); the run checks it against the task's head;
* ``data_config``: a function of the model's options that tells, *before* any data is loaded, the
  input size and normalization the model expects (pretrained backbones), so the data module is
  built with them instead of being changed afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from .base import Network


@dataclass(frozen=True)
class Entry:
    builder: Callable[..., Network]
    head: str
    data_config: Callable[..., dict] | None


_ENTRIES: dict[str, Entry] = {}
HEADS = ("pooled", "dense")


def register_model(name: str, head: str = "pooled", data_config: Callable[..., dict] | None = None):
    if head not in HEADS:
        raise ValueError(f"register_model('{name}'): head must be one of {HEADS}, got '{head}'")

    def decorate(builder: Callable[..., Network]) -> Callable[..., Network]:
        if name in _ENTRIES:
            raise ValueError(f"model '{name}' is registered twice")
        _ENTRIES[name] = Entry(builder, head, data_config)
        return builder

    return decorate


def list_models() -> list[str]:
    return sorted(_ENTRIES)


def _entry(name: str | None, zoo: str | None, options: dict) -> tuple[Entry, dict]:
    if zoo is not None:  # a library builder ("torchvision", "timm") takes the model name
        name, options = zoo, {**options, "name": name}
    if name not in _ENTRIES:
        raise ValueError(f"unknown model '{name}'. Known models: {', '.join(list_models())}")
    return _ENTRIES[name], options


def model_head(name: str, zoo: str | None = None, **_) -> str:
    return _entry(name, zoo, {})[0].head


def model_data_config(
    name: str, zoo: str | None = None, weights: str | None = None, **options
) -> dict:
    """What the model expects of its inputs (``input_size``, ``mean``, ``std``), known without
    building it; ``{}`` when it has no preference (models trained from scratch)."""
    entry, options = _entry(name, zoo, options)
    if entry.data_config is None:
        return {}
    accepted = inspect.signature(entry.data_config).parameters
    return entry.data_config(**{k: v for k, v in options.items() if k in accepted})


def create_model(
    name: str,
    num_outputs: int,
    inputs: dict,
    weights: str | None = None,
    zoo: str | None = None,
    regularize: bool = True,
    **options,
) -> Network:
    """Build model ``name`` with ``num_outputs`` outputs for the inputs the data describes.

    ``inputs``: the data module's facts about its inputs (``shape`` for images -> the builder's
    ``input_shape``; other keys by name). ``weights``: a local file the backbone starts from (see
    ``weights.py``); the head stays new. ``regularize=False`` (modes overfit and fraction) turns
    every dropout of the built network off, whatever the model's options are called.
    """
    entry, options = _entry(name, zoo, options)
    accepted = inspect.signature(entry.builder).parameters
    facts = {("input_shape" if k == "shape" else k): v for k, v in inputs.items()}
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        known = sorted(set(accepted) - {"num_outputs", *facts})
        raise ValueError(
            f"model '{options.get('name', name)}' has no option(s) {unknown}; its options: {known}"
        )
    missing = [
        p.name
        for p in accepted.values()
        if p.default is inspect.Parameter.empty
        and p.name not in options
        and p.name not in facts
        and p.name != "num_outputs"
        and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    if missing:
        raise ValueError(
            f"model '{name}' needs {missing}, which this data set does not provide "
            f"(it provides {sorted(facts)}): is the model made for this kind of data?"
        )
    given = {k: v for k, v in facts.items() if k in accepted}
    model = entry.builder(num_outputs=num_outputs, **given, **options)
    if weights:
        from .weights import load_backbone_weights

        model.weights_info = load_backbone_weights(model.backbone, weights)
    if not regularize:
        without_dropout(model)
    return model


def without_dropout(model: nn.Module) -> nn.Module:
    """Every dropout (and timm's stochastic depth) off: one switch for any architecture."""
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.p = 0.0
        elif hasattr(module, "drop_prob"):  # timm's DropPath
            module.drop_prob = 0.0
    return model
