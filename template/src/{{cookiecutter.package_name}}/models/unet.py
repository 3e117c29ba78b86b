"""U-Nets: one output vector per pixel (``head="dense"``), for segmentation.

    model=unet_small                       a small U-Net from scratch: the first rung
    model=unet model.encoder=resnet10t     a U-Net over any timm encoder (features_only)

Both are the project's ``Network``: ``backbone`` = the encoder, which returns its feature maps
from fine to coarse; ``head`` = the decoder *and* the 1x1 segmentation conv. Keeping the decoder
in the head's layer group is deliberate: a fine-tune schedule's first stage trains only the last
group, and for a U-Net "encoder frozen" means the (new) decoder must train with the head. The
layer groups are therefore [encoder groups..., decoder + segmentation head]; discriminative
learning rates spread over the encoder groups and give the decoder the head's rate.

Why not segmentation_models_pytorch: its ``freeze_encoder`` also puts BatchNorm in eval mode,
the opposite of fastai's ``train_bn`` that our ``FineTune`` callback applies (normalization
layers keep training while frozen); its encoders also download weights through their own path.
A U-Net over timm's ``features_only`` is a few lines, uses the same offline-aware pretrained
weights as ``model=timm`` (zoo.py) and the same layer-group splitting.
"""

import torch
from torch import nn
from torch.nn import functional as F

from ..inputs.image import ImageFacts
from .base import Network, fixed_shape
from .ladder import conv_block
from .registry import register_model


class Decoder(nn.Module):
    """From the coarsest feature map up: upsample to the next finer map's size, concatenate,
    two 3x3 conv blocks; then dropout and a 1x1 conv to ``num_outputs`` per pixel. The finest
    map is at the input's resolution, so the output has the input's height and width."""

    def __init__(
        self, channels: list[int], num_outputs: int, widths: list[int], dropout: float = 0.0
    ) -> None:
        super().__init__()
        blocks, below = [], channels[-1]
        for skip, width in zip(reversed(channels[:-1]), widths, strict=True):
            blocks.append(nn.Sequential(conv_block(below + skip, width), conv_block(width, width)))
            below = width
        self.blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(below, num_outputs, kernel_size=1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]
        for block, skip in zip(self.blocks, reversed(features[:-1]), strict=True):
            # (interpolating to the exact size copes with odd sizes at any depth)
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.classifier(self.dropout(x))


class SmallEncoder(nn.Module):
    """``depth + 1`` stages of two 3x3 conv blocks; every stage after the first halves the
    resolution (max-pool) and doubles the width."""

    def __init__(self, channels: int, width: int, depth: int) -> None:
        super().__init__()
        stages = []
        for level in range(depth + 1):
            out = width * 2**level
            pool = [nn.MaxPool2d(2)] if level else []
            stages.append(nn.Sequential(*pool, conv_block(channels, out), conv_block(out, out)))
            channels = out
        self.stages = nn.ModuleList(stages)
        self.channels = [width * 2**level for level in range(depth + 1)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


@register_model("unet_small", head="dense")
def unet_small(
    num_outputs: int, facts: ImageFacts, width: int = 16, depth: int = 3, dropout: float = 0.0
) -> Network:
    """A U-Net from scratch: ``depth`` down/up steps, widths ``width * 2**level``."""
    input_shape = fixed_shape(facts, "unet_small", dims=3)
    if depth < 1 or min(input_shape[1:]) < 2**depth:
        raise ValueError(
            f"model.depth={depth}: needs images of at least {2**depth} pixels a side "
            f"(got {list(input_shape[1:])}) and depth >= 1"
        )
    encoder = SmallEncoder(input_shape[0], width, depth)
    decoder = Decoder(encoder.channels, num_outputs, list(reversed(encoder.channels[:-1])), dropout)
    return Network(encoder, decoder, list(encoder.stages))


class TimmEncoder(nn.Module):
    """A timm model with ``features_only=True``; the input image itself is prepended as the
    finest "feature" (as fastai's U-Net does at its last cross connection), so the decoder ends at
    full resolution whatever the encoder's first stride is."""

    def __init__(self, net: nn.Module, channels: int) -> None:
        super().__init__()
        self.net = net
        self.channels = [channels, *net.feature_info.channels()]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x, *self.net(x)]


def unet_data_config(encoder: str = "resnet18") -> dict:
    """The encoder's normalization (for image folders); no input size: masks keep their own."""
    from .zoo import timm_data_config

    config = timm_data_config(encoder)
    return {k: v for k, v in config.items() if k != "input_size"}


@register_model("unet", head="dense", data_config=unet_data_config)
def unet(
    num_outputs: int,
    facts: ImageFacts,
    encoder: str = "resnet18",
    pretrained: bool = False,
    groups: int = 3,
    decoder_width: int = 16,
    dropout: float = 0.0,
) -> Network:
    """A U-Net over any timm encoder; ``groups`` layer groups of the encoder (input -> output)
    for fine-tuning, plus the decoder+head group. Decoder widths halve from the coarsest level
    (``decoder_width * 2**k``)."""
    from .hub import looks_offline, prepare_hf_hub
    from .zoo import _timm_offline_message, split_groups

    channels = fixed_shape(facts, "unet", dims=3)[0]
    if pretrained:
        prepare_hf_hub()  # before timm imports the hub: offline fails in seconds, not a minute
    import timm

    if not timm.is_model(encoder):
        raise ValueError(
            f"unknown timm encoder '{encoder}'. See "
            f"`python -m {__package__} list --search '*{encoder[:4]}*'`"
        )
    try:
        net = timm.create_model(
            encoder, pretrained=pretrained, features_only=True, in_chans=channels
        )
    except Exception as error:
        if not pretrained or not looks_offline(error):
            raise
        raise RuntimeError(_timm_offline_message(encoder)) from error
    body = TimmEncoder(net, channels)
    levels = len(body.channels) - 1
    widths = [decoder_width * 2**k for k in reversed(range(levels))]
    decoder = Decoder(body.channels, num_outputs, widths, dropout)
    return Network(body, decoder, split_groups(net, groups))
