"""What a source that holds one input (``self.input``) answers on its behalf: the data module API
shared code uses (``input_facts``, ``read_input``, ``read_items``, ``describe_input``,
``preprocessing``), each delegated to the input.

TEMPORARY: ``data/base.py`` takes these over for every source (and the old names marked "alias"
below go with the call sites that still use them); then this file is deleted.
"""

from __future__ import annotations

import torch

from ..inputs.base import Input, InputFacts


def build_input(config: dict) -> Input:
    """The input of ``data.input`` (``_target_`` + options, plain values)."""
    from hydra.utils import instantiate

    return instantiate(config, _convert_="all")


class HoldsInput:
    """Mixed into a source (before ``DataModule``) that sets ``self.input`` and says how item
    ``index`` looked before preprocessing (``raw_item``)."""

    input: Input

    def raw_item(self, index: int):
        raise NotImplementedError

    def input_facts(self) -> InputFacts:
        self.loaded  # noqa: B018 (the input is fitted with the split)
        return self.input.facts()

    def read_input(self, path) -> torch.Tensor:
        return self.input.read_file(path)

    def read_items(self, inputs) -> tuple[list[str], torch.Tensor, dict] | None:
        return self.input.read_items(inputs)

    def describe_input(self, index: int) -> str:
        return self.input.describe_item(self.raw_item(index))

    def preprocessing(self) -> dict:
        return self.input.preprocessing()

    # ---- aliases of the old data-module flags, until their call sites ask the input ----------
    def input_info(self) -> dict:
        """Alias of ``input_facts()`` as the dict model builders read by parameter name."""
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
