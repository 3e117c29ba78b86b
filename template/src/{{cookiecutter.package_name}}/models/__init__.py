"""The model zoo: one registry, one factory, one model API.

    model = create_model("cnn", num_classes=10, input_shape=[1, 8, 8], width=32)
    model.backbone, model.head, model.layer_groups()   # the same questions for every model

``model=resnet18``, ``model=torchvision model.name=...`` and ``model=timm model.name=...`` wrap the
libraries' models (zoo.py; timm/torchvision are imported only then); ``model.weights=<file>``
starts any model's backbone from a local file (weights.py). ``python -m <package>.models list``
lists them.

Add a model by decorating a builder with ``@register_model("name")``; it receives
``num_classes``, ``input_shape`` and the keys of ``configs/model/<name>.yaml``.
"""

from . import ladder, zoo  # noqa: F401  (importing a module registers its builders)
from .base import Classifier
from .registry import create_model, list_models, register_model

__all__ = ["Classifier", "create_model", "list_models", "register_model"]
