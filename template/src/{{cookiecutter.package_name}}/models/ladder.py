"""Start simple and grow: linear -> MLP -> small CNN. Pretrained zoo backbones come after these."""

import math

from torch import nn

from ..inputs.base import InputFacts
from ..inputs.image import ImageFacts
from .base import Network, fixed_shape, linear_head
from .registry import register_model


@register_model("linear")
def linear(num_outputs: int, facts: InputFacts, dropout: float = 0.0) -> Network:
    """Logistic regression on raw pixels: the baseline every other model must beat."""
    features = math.prod(fixed_shape(facts, "linear"))
    return Network(nn.Flatten(), linear_head(features, num_outputs, dropout), [])


@register_model("mlp")
def mlp(num_outputs: int, facts: InputFacts, width: int = 256, depth: int = 2, dropout=0.0):
    blocks, features = [], math.prod(fixed_shape(facts, "mlp"))
    for _ in range(depth):
        linear = nn.Linear(features, width, bias=False)
        blocks.append(nn.Sequential(linear, nn.BatchNorm1d(width), nn.ReLU(inplace=True)))
        features = width
    backbone = nn.Sequential(nn.Flatten(), *blocks)
    return Network(backbone, linear_head(features, num_outputs, dropout), blocks)


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


@register_model("cnn")
def cnn(num_outputs: int, facts: ImageFacts, width: int = 32, depth: int = 3, dropout=0.0):
    """Stages of two 3x3 conv blocks, width doubling, resolution halving (while over 2x2)."""
    shape = fixed_shape(facts, "cnn", dims=3)
    channels, size = shape[0], min(shape[1:])
    stages = []
    for stage in range(depth):
        out = width * 2**stage
        layers = [conv_block(channels, out), conv_block(out, out)]
        if size >= 4 and stage < depth - 1:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        stages.append(nn.Sequential(*layers))
        channels = out
    backbone = nn.Sequential(*stages, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return Network(backbone, linear_head(channels, num_outputs, dropout), stages)
