"""The model zoo: one rule from config to model, one model API.

Every model yaml is ``_target_`` (a builder registered with ``@register_model``) + ``_partial_:
true`` + its options; ``create_model`` instantiates it and calls the partial with what only the
run knows: the head's size and the data's facts, one typed object (``inputs/``)::

    model = create_model(model_config("cnn", width=32), 10, InputFacts("image", (1, 8, 8)))
    model.backbone, model.head, model.layer_groups()   # the same questions for every model

A builder declares the facts it needs by annotating ``facts`` (``TableFacts``, ``TextFacts``,
``PairFacts``...); a model given other inputs is refused in one line. The registry keeps what
names are good for: ``python -m <package>.models list``, ``model_config(name)``, and per builder
its ``head`` and ``data_config`` (registry.py). The same rule builds the optimizer and the
scheduler (training/optim.py); docs/configuration.md lists every config group.

With the transfer feature, ``model=resnet18``, ``model=torchvision model.name=...`` and
``model=timm model.name=...`` wrap the libraries' models (zoo.py; timm/torchvision are imported
only then) and ``model.weights=<file>`` starts any model's backbone from a local file (weights.py).

Add a model: a new module in this folder with a builder
``def my_model(num_outputs: int, facts: InputFacts, <options>) -> Network`` decorated by
``@register_model("my_model")`` (every module here is imported, so it registers itself), plus
``configs/model/my_model.yaml``: ``_target_: <package>.models.<module>.my_model``,
``_partial_: true``, ``name: my_model`` and the options.
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
