"""Images: in-memory tensors (``ImageInput``) or files read item by item (``ImageFileInput``)."""

import logging
from pathlib import Path
from typing import ClassVar

import torch

from ..data import augment as aug
from .base import Input, InputError, InputFacts

log = logging.getLogger(__name__)
ImageFacts = InputFacts  # images need no facts beyond kind and shape

AUGMENT_ADVICE = "add data augmentation (augment=light, or augment=strong if it already has some)"
# what pretrained torchvision/timm models mostly expect (the statistics also serve other models)
IMAGENET = {"input_size": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
# the files a folder source takes as images (torchvision's ImageFolder list)
IMAGE_FILES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


class ImageInput(Input):
    """Images in memory as one ``(N, C, H, W)`` tensor in [0, 1]: standardized per channel with
    the training split's statistics, augmented as whole batches on the device."""

    kind = "image"
    suffixes: ClassVar[tuple[str, ...]] = IMAGE_FILES  # what read_file takes
    item_name = "image"
    size_settings = "the data's image size (data.image_size or data.size), data.channels"
    variance_advice = (AUGMENT_ADVICE,)
{%- if "deploy" in cookiecutter.__features.split(",") %}
    resize_text = "to {height}x{width} (height x width)"  # (preprocessing)
{%- endif %}

    # what augmentation may do: hflip_ok (not digits), geometric_ok (not for angles or positions)
    def __init__(self, hflip_ok=False, geometric_ok=True{{ ", masks=False, ignore_index=255" if "segmentation" in cookiecutter.__tasks.split(",") }}) -> None:
        self.hflip_ok, self.geometric_ok = hflip_ok, geometric_ok
{%- if "segmentation" in cookiecutter.__tasks.split(",") %}
        self.masks, self.ignore_index = masks, ignore_index
{%- endif %}
        self.mean = self.std = None  # (C, 1, 1) tensors, learnt on the training split

    def fit(self, train_inputs: torch.Tensor) -> None:
        super().fit(train_inputs)  # (the shape)
        if self.mean is None:
            train = train_inputs.float()
            dims = [0, *range(2, train.dim())]
            self.mean = train.mean(dim=dims, keepdim=True)[0]
            self.std = train.std(dim=dims, keepdim=True)[0].clamp_min(1e-6)

    def state_dict(self) -> dict:
        return {} if self.mean is None else {"mean": self.mean, "std": self.std}

    def load_state_dict(self, state: dict) -> None:
        if state.get("mean") is not None:
            self.mean, self.std = state["mean"], state["std"]

    def prepare(self, inputs: torch.Tensor) -> torch.Tensor:
        return (inputs.float() - self.mean) / self.std

    def image_shape(self) -> list[int]:
        """``[C, H, W]``; ``InputError`` for items that cannot be read from image files."""
        shape = list(self.shape or ())
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise InputError(f"inputs of shape {shape} are not images (1 or 3 channels, H, W)")
        return shape
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def read_file(self, source) -> torch.Tensor:
        """Grey or RGB to the data's channels and size, in [0, 1], standardized."""
        from PIL import Image

        channels, height, width = self.image_shape()
        with Image.open(source) as image:
            image.load()  # decode now: a truncated file fails here, not in the batch
            image = image.convert("L" if channels == 1 else "RGB")
            image = image.resize((width, height), Image.Resampling.BILINEAR)
            x = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).float() / 255.0
        return self.prepare(x.view(height, width, channels).permute(2, 0, 1))

    def preprocessing(self) -> dict:
        channels, height, width = self.image_shape()
        return {
            "input": self.kind,
            "input_shape": [channels, height, width],
            "channels": channels,
            "resize": self.resize_text.format(height=height, width=width),
            "scale": "pixel / 255",
            "mean": self.mean.flatten().tolist(),
            "std": self.std.flatten().tolist(),
        }
{%- endif %}

    def augment_batch(self, inputs, targets, policy: dict):
{%- if "segmentation" in cookiecutter.__tasks.split(",") %}
        if self.masks:  # what moves an image moves its mask
            return aug.joint_augment(inputs, targets, policy, self.hflip_ok, self.ignore_index)
{%- endif %}
        return aug.batch_augment(inputs, policy, self.hflip_ok, self.geometric_ok), targets

    def show_batch(self, inputs: torch.Tensor, titles: list[str], path: Path, title: str = ""):
        from ..analysis.plots import image_grid

        return image_grid(inputs, titles, path, title=title)

    def can_show(self) -> bool:
        return True


class ImageFileInput(ImageInput):
    """Image files read in the loader workers: resized to ``image_size`` (shorter side, then a
    centre crop), normalized with ``mean``/``std``, augmented per item (torchvision v2)."""

    size_settings = "data.image_size, data.channels"
{%- if "deploy" in cookiecutter.__features.split(",") %}
    resize_text = "shorter side to {height}, then center crop {height}x{width}"
{%- endif %}

    def __init__(
        self,
        image_size: int | None = None,
        channels: int = 3,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        image_size_from: str | None = None,
        hflip_ok: bool = True,
        geometric_ok: bool = True,
    ) -> None:
        super().__init__(hflip_ok=hflip_ok, geometric_ok=geometric_ok)
        self.channels = channels
        self._set_size(image_size, image_size_from or "data.image_size")  # else the user's
        self.mean = torch.tensor((mean or IMAGENET["mean"])[:channels]).view(-1, 1, 1)
        self.std = torch.tensor((std or IMAGENET["std"])[:channels]).view(-1, 1, 1)

    @classmethod
    def settings_from_model(cls, options: dict, model_config: dict) -> dict:
        """Statistics: else ImageNet's; a model with no preference leaves the size to the images."""
        unset = [key for key in ("mean", "std") if options.get(key) is None]
        chosen = {key: model_config.get(key) or IMAGENET[key] for key in unset}
        if options.get("image_size") is None and model_config.get("input_size"):
            chosen["image_size"] = int(model_config["input_size"])
            chosen["image_size_from"] = "the model's pretrained input size"
        return chosen

    def fit(self, train_inputs) -> None:  # the size, when nobody chose one, is the images'
        if self.size is None:
            from ..data.image_folder import size_from_files

            self._set_size(*size_from_files(train_inputs.paths))
            why = self.size_from
            log.info("images resized to %d px (%s; set data.image_size to choose)", self.size, why)

    def state_dict(self) -> dict:
        return {"image_size": self.size, "image_size_from": self.size_from}

    def load_state_dict(self, state: dict) -> None:
        if state.get("image_size"):
            self._set_size(state["image_size"], state["image_size_from"])

    def _set_size(self, size: int | None, why: str) -> None:
        self.size, self.size_from = size, why if size else None
        self.shape = (self.channels, size, size) if size else None

    def prepare(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs  # (files are prepared item by item, in item_transform)

    def load_item(self, path: str):
        from PIL import Image

        with Image.open(path) as image:
            return image.convert("RGB")

    def check_files(self, paths: list[str]) -> dict[str, bool]:
        from ..data.image_folder import verify_images

        return verify_images(paths)  # (decoded once, verdicts cached)
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def read_file(self, source) -> torch.Tensor:
        from PIL import Image

        with Image.open(source) as image:
            image.load()  # decode now: a truncated file fails here, not in the batch
            return self.item_transform(train=False, policy={})(image.convert("RGB"))
{%- endif %}

    def item_transform(self, train: bool, policy: dict):
        from torchvision.transforms import v2

        size, channels = self.image_shape()[1], self.channels
        colour = v2.Grayscale(channels) if channels == 1 else v2.RGB()
        steps, after = [colour, v2.Resize(size), v2.CenterCrop(size)], []
        # the per-item policy crops, rotates and flips: none of it may move targets' content
        if train and aug.is_active(policy) and self.geometric_ok:
            flip = policy["flip"] and self.hflip_ok
            before, after = aug.item_transforms({**policy, "flip": flip}, size)
            steps = [colour, *before]
        mean, std = self.mean.flatten().tolist(), self.std.flatten().tolist()
        scaled = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
        return v2.Compose([*steps, *scaled, *after])

    def augment_batch(self, inputs, targets, policy: dict):
        return inputs, targets  # augmented per item, in item_transform

    def describe(self) -> dict:
        return {"image_size": self.size, "image_size_from": self.size_from}

    def notes(self) -> list[str]:
        return [f"images at {self.size}x{self.size} px ({self.size_from})"]
