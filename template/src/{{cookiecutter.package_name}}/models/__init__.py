"""The model zoo: one rule from config to model, one model API.

A model yaml is ``_target_`` (a builder registered with ``@register_model``) + ``_partial_: true``
+ its options; ``create_model`` calls the partial with what only the run knows, the head's size and
the data's facts (``inputs/``)::

    model = create_model(model_config("cnn", width=32), 10, InputFacts("image", (1, 8, 8)))
    model.backbone, model.head, model.layer_groups()   # the same questions for every model

With the transfer feature, ``model=resnet18|torchvision|timm`` wrap the libraries' models (zoo.py)
and ``model.weights=<file>`` starts a backbone from a local file (weights.py).

Add a model: a module here with ``@register_model("my_model") def my_model(num_outputs: int,
facts: InputFacts, <options>) -> Network`` (every module here is imported, so it registers itself)
and ``configs/model/my_model.yaml``: ``_target_: <package>.models.<module>.my_model``, ``_partial_:
true``, ``name: my_model`` and the options.
"""

import importlib
import pkgutil

from .base import Network
from .registry import (
    ModelInputError,
    create_model,
    facts_config,
    facts_from_config,
    list_models,
    model_config,
    model_data_config,
    model_head,
    register_model,
)

# importing a module registers its builders: every module of this package, yours included
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "registry", "weights", "__main__"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "ModelInputError",
    "Network",
    "create_model",
    "facts_config",
    "facts_from_config",
    "list_models",
    "model_config",
    "model_data_config",
    "model_head",
    "register_model",
]
