"""The model zoo: one registry, one factory, one model API.

    model = create_model("cnn", num_outputs=10, inputs={"shape": [1, 8, 8]}, width=32)
    model.backbone, model.head, model.layer_groups()   # the same questions for every model

``model=resnet18``, ``model=torchvision model.name=...`` and ``model=timm model.name=...`` wrap the
libraries' models (zoo.py; timm/torchvision are imported only then); ``model.weights=<file>``
starts any model's backbone from a local file (weights.py). ``python -m <package>.models list``
lists them.

Add a model: a new module in this folder with a builder decorated by ``@register_model("name")``
(every module here is imported, so it registers itself), plus ``configs/model/<name>.yaml``.
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
