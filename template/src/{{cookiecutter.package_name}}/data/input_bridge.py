"""What the data module base does for a source that holds one input (``self.input``): build it
from the config's ``input:`` entry (or the source's ``default_input``), take the input's options
from the model, and answer the data module API shared code uses (``input_facts``,
``read_input``, ``read_items``, ``preprocessing``, the input's summary entries) by asking it.

TEMPORARY: the input-aware ``data/base.py`` does all of this for every source; at the merge this
mixin leaves the sources' bases and this file is deleted (the aliases marked below go with the call
sites that still use the old names).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from ..inputs.base import Input, InputFacts


def build_input(spec: dict) -> Input:
    """The input of a ``data.input`` entry (``_target_`` + options, plain values)."""
    from hydra.utils import instantiate

    return instantiate(spec, _convert_="all")


class HoldsInput:
    """Mixed into a source before ``DataModule``."""

    default_input: ClassVar[dict | None] = None  # the ``input:`` entry when the config has none

    def __init__(self, input: dict | None = None, **kwargs) -> None:
        self.input: Input = build_input(input or self.default_input)
        super().__init__(**kwargs)

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        """The input's options that follow the model (``Input.settings_from_model``)."""
        from hydra.utils import get_class

        spec = settings.get("input") or cls.default_input
        options = {k: v for k, v in spec.items() if k != "_target_"}
        # (every input has the classmethod once inputs/base.py is input-aware)
        follow = getattr(get_class(spec["_target_"]), "settings_from_model", None)
        chosen = follow(options, model_config) if follow else {}
        return {"input": {**spec, **chosen}} if chosen else {}

    def input_facts(self) -> InputFacts:
        self.loaded  # noqa: B018 (the input is fitted with the split)
        return self.input.facts()

    def read_input(self, path) -> torch.Tensor:
        self.loaded  # noqa: B018
        return self.input.read_file(path)

    def read_items(self, inputs) -> tuple[list[str], torch.Tensor, dict] | None:
        self.loaded  # noqa: B018
        return self.input.read_items(inputs)

    def preprocessing(self) -> dict:
        return self.input.preprocessing()

    def describe(self) -> dict:
        """The data section of summary.json, with the input's own entries beside its facts."""
        info = super().describe()
        return {**info, **self.input.describe(), "input": info["input"]}

    # ---- aliases of the old data-module names, until their call sites ask the input ----------
    def input_info(self) -> dict:
        """Alias of ``input_facts()``, as the dict model builders read by parameter name."""
        facts = self.input_facts().describe()
        return {k: v for k, v in facts.items() if k != "kind" and v is not None}

    @property
    def image_inputs(self) -> bool:  # alias: ``input.can_show()``
        return self.input.can_show()

    @property
    def input_name(self) -> str:  # alias: ``input.item_name``
        return self.input.item_name

    @property
    def input_axes(self) -> dict[int, str]:  # alias: ``input.dynamic_axes``
        return self.input.dynamic_axes
