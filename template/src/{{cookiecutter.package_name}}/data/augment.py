{%- set tasks = cookiecutter.__tasks.split(",") -%}
{%- set images = "image" in cookiecutter.__inputs.split(",") -%}
"""Augmentation policies (``configs/augment/*.yaml``), applied by each input kind as its data
needs; a policy is a plain dict (it travels in checkpoints), ``True``/``False`` (old configs) mean
``light``/``none``.
{%- if images %} Image tensors: whole batches on the device (``batch_augment``: per-item
transforms would undo the tensor-batch speed-up); image files: per item with torchvision v2 in the
loader workers (``item_transforms``).
{%- endif %}
"""

{%- if images %}

import math

import torch
from torch.nn import functional as F
{%- endif %}

from ..training.validate import ConfigError

DEFAULTS = {"name": "none", "shift": 0.0, "rotate": 0.0, "scale": [1.0, 1.0]}
DEFAULTS |= {"crop_scale": [1.0, 1.0], "flip": False, "color": 0.0, "erase": 0.0}
LIGHT = {**DEFAULTS, "name": "light", "shift": 0.125, "crop_scale": [0.5, 1.0], "flip": True}


def policy(augment: dict | bool | str | None) -> dict:
    if augment is True or augment == "light":
        return dict(LIGHT)
    if not augment or augment == "none":
        return dict(DEFAULTS)
    if isinstance(augment, str):
        raise ConfigError(f"unknown augmentation '{augment}': use augment=none|light|strong")
    if unknown := set(augment) - set(DEFAULTS) - {"show_batch"}:
        raise ConfigError(
            f"unknown augmentation option(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    return {**DEFAULTS, **augment}


def is_active(p: dict) -> bool:
    return p["name"] != "none"
{%- if images %}


def batch_augment(images: torch.Tensor, p: dict, flip_ok=False, geometric_ok=True) -> torch.Tensor:
    """Random shift/rotation/zoom (one ``grid_sample``), flips and erasing, per image;
    ``geometric_ok=False`` (targets that are positions or angles) keeps only erasing."""
    n, _, h, w = images.shape
    if geometric_ok:
        if p["rotate"] or tuple(p["scale"]) != (1.0, 1.0):
            theta = _theta(p, n, images.device)
            grid = F.affine_grid(theta, list(images.shape), align_corners=False)
            images = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
        elif p["shift"]:
            images = random_shift(images, max_shift=max(1, round(p["shift"] * min(h, w))))
        if p["flip"] and flip_ok:
            flip = torch.rand(n, device=images.device) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    if p["erase"]:
        images = _erase(images, p["erase"])
    return images


def _theta(p: dict, n: int, device) -> torch.Tensor:
    """``(n, 2, 3)`` random rotations, zooms and shifts (output to input grid coordinates)."""
    angle = (torch.rand(n, device=device) * 2 - 1) * math.radians(p["rotate"])
    low, high = p["scale"]
    zoom = low + torch.rand(n, device=device) * (high - low)
    shift = (torch.rand(n, 2, device=device) * 2 - 1) * 2 * p["shift"]  # grid units span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    rows = [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)]
    return torch.stack(rows, 1)


def _erase(images: torch.Tensor, probability: float) -> torch.Tensor:
    """Set a random rectangle (up to half of each side) to 0, i.e. the mean after standardizing."""
    (n, _, h, w), device = images.shape, images.device
    eh = (torch.rand(n, device=device) * h / 2).long() + 1
    ew = (torch.rand(n, device=device) * w / 2).long() + 1
    top = (torch.rand(n, device=device) * (h - eh + 1)).long()
    left = (torch.rand(n, device=device) * (w - ew + 1)).long()
    rows = torch.arange(h, device=device)[None, :] - top[:, None]  # (n, h): from the top edge
    cols = torch.arange(w, device=device)[None, :] - left[:, None]
    in_rows, in_cols = (rows >= 0) & (rows < eh[:, None]), (cols >= 0) & (cols < ew[:, None])
    chosen = torch.rand(n, device=device) < probability
    mask = (in_rows[:, :, None] & in_cols[:, None, :] & chosen[:, None, None])[:, None]
    return images.masked_fill(mask, 0.0)


def random_shift(images: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (edge padding), all in one gather."""
    (n, c, h, w), device = images.shape, images.device
    padded = F.pad(images, [max_shift] * 4, mode="replicate")
    dy = torch.randint(0, 2 * max_shift + 1, (n,), device=device)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), device=device)
    rows = (dy[:, None] + torch.arange(h, device=device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=device))[:, None, None, :]
    batch = torch.arange(n, device=device)[:, None, None, None]
    return padded[batch, torch.arange(c, device=device)[None, :, None, None], rows, cols]
{%- if "segmentation" in tasks %}


def joint_augment(
    images: torch.Tensor, masks: torch.Tensor, p: dict, flip_ok: bool, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random affine transform and flip for each image ``(N, C, H, W)`` and its mask
    ``(N, H, W)``: the mask nearest-neighbour (classes never blend), pixels from outside the image
    ``ignore_index``. No erasing: it would hide pixels the mask still labels."""
    n, device = images.shape[0], images.device
    theta = _theta(p, n, device)
    if p["flip"] and flip_ok:  # flipping = mirroring the sampling grid's x
        flip = torch.rand(n, device=device) < 0.5
        theta[:, :, 0] *= torch.where(flip, -1.0, 1.0)[:, None]
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # classes + 1 so that 0 marks "from outside the image" after zero padding
    labels = F.grid_sample((masks + 1).float()[:, None], grid, mode="nearest", align_corners=False)
    labels = labels[:, 0].round().long() - 1
    return moved, torch.where(labels < 0, ignore_index, labels)
{%- endif %}


def item_transforms(p: dict, size: int) -> tuple[list, list]:
    """(transforms on the PIL image replacing resize+crop, transforms on the normalized tensor)."""
    from torchvision.transforms import v2

    before = [v2.RandomResizedCrop(size, scale=tuple(p["crop_scale"]), antialias=True)]
    if p["flip"]:
        before.append(v2.RandomHorizontalFlip())
    if p["rotate"]:
        before.append(v2.RandomRotation(p["rotate"]))
    if p["color"]:
        before.append(v2.ColorJitter(p["color"], p["color"], p["color"]))
    after = [v2.RandomErasing(p=p["erase"])] if p["erase"] else []
    return before, after
{%- endif %}
