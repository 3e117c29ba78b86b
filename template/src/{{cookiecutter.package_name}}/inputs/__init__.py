"""Input kinds: how items are read, preprocessed, augmented, shown and described to a model.
``base.Input`` is the contract; one module per kind. See ``base.py`` and docs/inputs.md."""

from .base import Input, InputError, InputFacts

__all__ = ["Input", "InputError", "InputFacts"]
