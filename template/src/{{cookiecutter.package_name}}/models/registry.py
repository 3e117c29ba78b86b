"""Name -> builder registry (the timm way: friendly names instead of import paths)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from .base import Classifier

_BUILDERS: dict[str, Callable[..., Classifier]] = {}


def register_model(name: str):
    def decorate(builder: Callable[..., Classifier]) -> Callable[..., Classifier]:
        if name in _BUILDERS:
            raise ValueError(f"model '{name}' is registered twice")
        _BUILDERS[name] = builder
        return builder

    return decorate


def list_models() -> list[str]:
    return sorted(_BUILDERS)


def create_model(name: str, num_classes: int, input_shape: list[int], weights: str | None = None,
                 zoo: str | None = None, **options) -> Classifier:
    """Build model ``name`` for ``num_classes`` outputs and inputs of ``input_shape`` (C, H, W).

    ``zoo``: a library builder ("torchvision", "timm") that receives ``name`` as the library's
    model name. ``weights``: a local file the backbone starts from (see ``weights.py``); the head
    stays new.
    """
    if zoo is not None:
        name, options = zoo, {**options, "name": name}
    if name not in _BUILDERS:
        raise ValueError(f"unknown model '{name}'. Known models: {', '.join(list_models())}")
    builder = _BUILDERS[name]
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        known = sorted(set(accepted) - {"num_classes", "input_shape"})
        raise ValueError(f"model '{name}' has no option(s) {unknown}; its options: {known}")
    model = builder(num_classes=num_classes, input_shape=list(input_shape), **options)
    if weights:
        from .weights import load_backbone_weights

        model.weights_info = load_backbone_weights(model.backbone, weights)
    return model
