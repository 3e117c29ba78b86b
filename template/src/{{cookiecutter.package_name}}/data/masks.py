"""Data whose targets are masks (one class per pixel): what moves an image must move its mask.

The shared batch augmentation (``augment.batch_augment``) moves images only. Here one random
affine transform (shift, rotation, zoom of the policy) and one flip decision per item are applied
to the image (bilinear) and to its mask (nearest neighbour, so classes never blend); mask pixels
that come from outside the image become ``ignore_index`` (void: they count in no loss or metric).
Colour-free erasing is left out: it would hide pixels the mask still labels.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from . import augment as aug
from .base import DataModule


class MaskDataModule(DataModule):
    target_kind = "mask"

    def __init__(self, *args, ignore_index: int = 255, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ignore_index = ignore_index

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        if (
            aug.is_active(self.augment_policy)
            and self.trainer is not None
            and self.trainer.training
            and isinstance(batch, (tuple, list))
        ):
            images, masks = batch
            batch = joint_augment(
                images, masks, self.augment_policy, self.hflip_ok, self.ignore_index
            )
        return batch


def joint_augment(
    images: torch.Tensor, masks: torch.Tensor, p: dict, flip_ok: bool, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random affine transform and flip for each image ``(N, C, H, W)`` and its mask
    ``(N, H, W)``."""
    n, device = images.shape[0], images.device
    angle = (torch.rand(n, device=device) * 2 - 1) * math.radians(p["rotate"])
    low, high = p["scale"]
    zoom = low + torch.rand(n, device=device) * (high - low)
    shift = (torch.rand(n, 2, device=device) * 2 - 1) * 2 * p["shift"]  # grid units span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    flip = (
        (torch.rand(n, device=device) < 0.5)
        if (p["flip"] and flip_ok)
        else torch.zeros(n, dtype=torch.bool, device=device)
    )
    mirror = torch.where(flip, -1.0, 1.0)  # flipping = mirroring the sampling grid's x
    theta = torch.stack(
        [
            torch.stack([cos * mirror, -sin, shift[:, 0]], 1),
            torch.stack([sin * mirror, cos, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # classes + 1 so that 0 marks "from outside the image" after zero padding
    labels = (
        F.grid_sample(
            (masks + 1).float()[:, None],
            grid,
            mode="nearest",
            padding_mode="zeros",
            align_corners=False,
        )[:, 0]
        .round()
        .long()
        - 1
    )
    return moved, torch.where(labels < 0, ignore_index, labels)
