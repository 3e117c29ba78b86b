"""The model zoo: ``create_model(model_config("cnn"), 10, InputFacts("image", (1, 8, 8)))``.

Add a model: a module here with ``@register_model("my_model") def my_model(num_outputs: int,
facts: InputFacts, <options>) -> Network`` and ``configs/model/my_model.yaml``: ``_target_:
<package>.models.<module>.my_model``, ``_partial_: true``, ``name: my_model`` and the options."""

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

__all__ = ["ModelInputError", "Network", "create_model", "facts_config", "facts_from_config"]
__all__ += ["list_models", "model_config", "model_data_config", "model_head", "register_model"]
