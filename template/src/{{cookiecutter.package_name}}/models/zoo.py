"""Bigger and pretrained backbones by name: any torchvision or timm classification model.

    model=resnet18                              torchvision's ResNet-18
    model=torchvision model.name=efficientnet_b0
    model=timm model.name=convnext_tiny         (any name of `python -m <package>.models list`)

Each becomes the same ``Network`` as the ladder models: the library network without its
classifier is the backbone, a new head fits the data's classes, the first convolution takes the
data's channels (grey digits: RGB kernels summed), and the backbone's children are cut into
``groups`` layer groups (input -> output) for freezing and discriminative learning rates.
Inputs are resized on the fly to the size the backbone was pretrained at (``input_size`` to
choose another: ``model.input_size=32`` keeps 8x8 digits fast). The pretrained input size, mean
and std go to the data module (``Network.data_config``): image folders read and normalize
images with them; the embedded digits keep their own standardization.

Weights: ``pretrained=true`` uses the library's own download and cache (torch hub for torchvision,
the Hugging Face hub for timm); a filled cache works offline. When weights are requested and the
network is unreachable, we say so within seconds, before the libraries retry for a minute:
``HF_HUB_OFFLINE`` must be set *before* timm / huggingface_hub are imported: the check runs first.
``weights=<file>`` (any model) starts from a local file instead; see ``weights.py``.
timm and torchvision are imported only when one of these models is built.
"""

import itertools
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torch.nn import functional as F

from ..inputs.image import IMAGENET, ImageFacts
from . import hub
from .base import Network, fixed_shape, linear_head
from .hub import HF_HOST, WeightsUnavailable, looks_offline, prepare_hf_hub
from .registry import register_model
from .weights import _adapt_input_channels


class Resize(nn.Module):
    """Resize a batch to the backbone's input size (bilinear); no parameters, nothing saved."""

    def __init__(self, size: list[int]) -> None:
        super().__init__()
        self.size = tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) == self.size:
            return x
        return F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)

    def extra_repr(self) -> str:
        return f"size={self.size}"


# ---- torchvision -------------------------------------------------------------------------------
def torchvision_data_config(
    name: str = "resnet18", pretrained: bool = False, input_size: int | None = None
) -> dict:
    """Input size and statistics of the pretrained weights (ImageNet's without them)."""
    config = dict(IMAGENET)
    if pretrained:
        from torchvision import models

        transforms = models.get_model_weights(name).DEFAULT.transforms()
        config = {
            "input_size": int(transforms.crop_size[0]),
            "mean": list(transforms.mean),
            "std": list(transforms.std),
        }
    return {**config, "input_size": input_size or config["input_size"]}


def timm_data_config(name: str = "resnet18", input_size: int | None = None) -> dict:
    """timm's own default configuration of the model (its pretrained input size and statistics)."""
    import timm

    if not timm.is_model(name):
        return {}
    cfg = timm.get_pretrained_cfg(name)
    config = (
        dict(IMAGENET)
        if cfg is None
        else {"input_size": int(cfg.input_size[-1]), "mean": list(cfg.mean), "std": list(cfg.std)}
    )
    return {**config, "input_size": input_size or config["input_size"]}


@register_model("torchvision", data_config=torchvision_data_config)
def torchvision_model(
    num_outputs: int,
    facts: ImageFacts,
    name: str = "resnet18",
    pretrained: bool = False,
    input_size: int | None = None,
    groups: int = 3,
    head_hidden: int = 0,
    head_bn: bool = False,
    dropout: float = 0.0,
) -> Network:
    """Any classification model of ``torchvision.models.list_models()``."""
    from torchvision import models

    if name not in models.list_models(module=models):
        raise ValueError(
            f"unknown torchvision model '{name}'. See "
            f"`python -m {__package__} list --search {name[:4]}`"
        )
    weights = models.get_model_weights(name).DEFAULT if pretrained else None
    if weights is not None:
        _check_torch_hub_file(name, weights.url)
    net = models.get_model(name, weights=weights)
    features = _drop_torchvision_classifier(net, name)
    _adapt_first_conv(net, fixed_shape(facts, name, dims=3)[0])
    if weights is not None:
        transforms = weights.transforms()
        config = {
            "input_size": int(transforms.crop_size[0]),
            "mean": list(transforms.mean),
            "std": list(transforms.std),
        }
    else:
        config = dict(IMAGENET)
    return _network(
        net,
        features,
        num_outputs,
        input_size or config["input_size"],
        config,
        groups,
        head_hidden,
        head_bn,
        dropout,
    )


@register_model(
    "resnet18",
    data_config=lambda pretrained=False, input_size=None: torchvision_data_config(
        "resnet18", pretrained, input_size
    ),
)
def resnet18(
    num_outputs: int,
    facts: ImageFacts,
    pretrained: bool = False,
    input_size: int | None = None,
    groups: int = 3,
    head_hidden: int = 0,
    head_bn: bool = False,
    dropout: float = 0.0,
) -> Network:
    """torchvision's ResNet-18: the usual first pretrained model to try."""
    return torchvision_model(
        num_outputs,
        facts,
        name="resnet18",
        pretrained=pretrained,
        input_size=input_size,
        groups=groups,
        head_hidden=head_hidden,
        head_bn=head_bn,
        dropout=dropout,
    )


def _drop_torchvision_classifier(net: nn.Module, name: str) -> int:
    """Replace the classifier (``fc``, ``classifier``, ``head`` or ``heads``) by an identity;
    returns the number of features it received."""
    for attr in ("fc", "classifier", "heads", "head"):
        old = getattr(net, attr, None)
        linears = [m for m in old.modules() if isinstance(m, nn.Linear)] if old else []
        if linears:
            setattr(net, attr, nn.Identity())
            return linears[0].in_features
    raise ValueError(
        f"torchvision model '{name}' has no linear classifier to replace; use model=timm for it"
    )


def _check_torch_hub_file(name: str, url: str) -> None:
    """torchvision loads ``$TORCH_HOME/hub/checkpoints/<file>`` when it is there (offline too)."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name
    host = urlparse(url).hostname or ""
    if path.is_file() or hub.reachable(host):
        return
    raise WeightsUnavailable(
        f"model.pretrained=true: the weights of torchvision '{name}' are not in {path} and "
        f"{host} cannot be reached (offline?). Either download {url} elsewhere and copy it to "
        f"{path} (set TORCH_HOME to use another cache folder), or start from a local file: "
        "model.pretrained=false model.weights=/path/to/file.pth, or train from scratch: "
        "model.pretrained=false"
    )


# ---- timm --------------------------------------------------------------------------------------
@register_model("timm", data_config=timm_data_config)
def timm_model(
    num_outputs: int,
    facts: ImageFacts,
    name: str = "resnet18",
    pretrained: bool = False,
    input_size: int | None = None,
    groups: int = 3,
    pool: str = "avg",
    head_hidden: int = 0,
    head_bn: bool = False,
    dropout: float = 0.0,
) -> Network:
    """Any model of ``timm.list_models()``; ``pool``: avg, max, avgmax or catavgmax (fastai's
    concat pooling)."""
    channels = fixed_shape(facts, name, dims=3)[0]
    if pretrained:
        prepare_hf_hub()
    import timm

    if not timm.is_model(name):
        raise ValueError(
            f"unknown timm model '{name}'. See "
            f"`python -m {__package__} list --search '*{name[:4]}*'`"
        )
    try:
        net = timm.create_model(
            name, pretrained=pretrained, num_classes=0, global_pool=pool, in_chans=channels
        )
    except Exception as error:  # the hub's errors differ across versions: name the way out
        if not pretrained or not looks_offline(error):
            raise
        raise WeightsUnavailable(_timm_offline_message(name)) from error
    data = timm.data.resolve_data_config({}, model=net)
    config = {
        "input_size": int(data["input_size"][-1]),
        "mean": list(data["mean"]),
        "std": list(data["std"]),
    }
    features = getattr(net, "head_hidden_size", None)  # the pooled width (timm >= 1.0)
    if not features:
        pool_module = getattr(net, "global_pool", None)
        multiplier = pool_module.feat_mult() if hasattr(pool_module, "feat_mult") else 1
        features = net.num_features * multiplier
    return _network(
        net,
        features,
        num_outputs,
        input_size or config["input_size"],
        config,
        groups,
        head_hidden,
        head_bn,
        dropout,
    )


def _timm_offline_message(name: str) -> str:
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"
    return (
        f"model.pretrained=true: the weights of timm '{name}' are not in the Hugging Face "
        f"cache ({cache}) and {HF_HOST} cannot be reached (offline, HF_HUB_OFFLINE=1). "
        "Either run once with network to fill the cache (or copy a filled cache and set "
        "HF_HUB_CACHE), or start from a local file: model.pretrained=false "
        "model.weights=/path/to/model.safetensors, or train from scratch: "
        "model.pretrained=false"
    )


# ---- shared ------------------------------------------------------------------------------------
def _network(
    net: nn.Module,
    features: int,
    num_outputs: int,
    input_size: int,
    config: dict,
    groups: int,
    head_hidden: int,
    head_bn: bool,
    dropout: float,
) -> Network:
    size = [input_size, input_size]
    return Network(
        net,
        linear_head(features, num_outputs, dropout, head_hidden, head_bn),
        split_groups(net, groups),
        adapter=Resize(size),
        data_config={**config, "input_size": input_size},
    )


def split_groups(net: nn.Module, count: int) -> list[nn.Module]:
    """``count`` consecutive groups of the network's children (input -> output); containers are
    opened up while there are fewer children than groups."""
    units = [m for m in net.children() if _has_params(m)]
    while len(units) < count:
        widest = max(range(len(units)), key=lambda i: len(list(units[i].children())))
        inner = [m for m in units[widest].children() if _has_params(m)]
        if len(inner) <= 1:
            break
        units[widest : widest + 1] = inner
    count = max(1, min(count, len(units)))
    bounds = [round(i * len(units) / count) for i in range(count + 1)]
    return [nn.ModuleList(units[a:b]) for a, b in itertools.pairwise(bounds)]


def _has_params(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _adapt_first_conv(net: nn.Module, channels: int) -> None:
    """Give the first convolution ``channels`` inputs, keeping (adapted) pretrained kernels."""
    found = next(((n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)), None)
    if found is None or found[1].in_channels == channels:
        return
    path, conv = found
    new = nn.Conv2d(
        channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        conv.bias is not None,
        conv.padding_mode,
    )
    with torch.no_grad():
        new.weight.copy_(_adapt_input_channels(conv.weight, channels))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    parent_path, _, attr = path.rpartition(".")
    setattr(net.get_submodule(parent_path) if parent_path else net, attr, new)
