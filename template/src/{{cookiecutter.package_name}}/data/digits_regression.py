"""A regression from the embedded digits: by how many degrees was each digit rotated?

Each 8x8 digit is upscaled to ``size`` pixels and rotated by a seeded random angle in
``[-max_angle, max_angle]``; the target is that angle (one column, ``angle``, in degrees). The
answer is in the image only (the mean predictor scores R² 0), so a model that beats it has
learned to read the digit's orientation. Shifting, rotating or mirroring the image would make the
target lie, so this data set allows no geometric augmentation. The same images on every run.
"""

import math

import torch
from torch.nn import functional as F

from ..training.validate import ConfigError
from .base import DataModule, LoadedData
from .digits import load_digit_images


class DigitsRegressionDataModule(DataModule):
    name = "digits_regression"
    target_kind = "continuous"
    geometric_ok = False  # a rotated or shifted image would no longer match its angle

    def __init__(
        self, max_angle: float = 45.0, size: int = 16, data_seed: int = 0, **kwargs
    ) -> None:
        kwargs.setdefault("stratify", "quantiles")
        super().__init__(**kwargs)
        if not 0 < max_angle < 180 or size < 8:
            raise ConfigError(
                f"data.max_angle must be in (0, 180) and data.size >= 8, got {max_angle} and {size}"
            )

    def load(self) -> LoadedData:
        images, _ = load_digit_images()
        images = F.interpolate(images, size=self.hparams.size, mode="bilinear", align_corners=False)
        # (its own seed: the images stay the same whatever the split or the training seed)
        generator = torch.Generator().manual_seed(self.hparams.data_seed)
        degrees = (torch.rand(len(images), generator=generator) * 2 - 1) * self.hparams.max_angle
        return LoadedData(rotate(images, degrees), degrees[:, None], ["angle"])


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Each image of ``(N, C, H, W)`` rotated about its centre by its own angle
    (counter-clockwise as displayed), bilinear, zeros outside."""
    radians = degrees * math.pi / 180.0
    cos, sin, zero = torch.cos(radians), torch.sin(radians), torch.zeros_like(radians)
    # affine_grid maps output to input coordinates: the inverse rotation
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)
