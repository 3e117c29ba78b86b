"""Your own images: ``root/<class name>/<image file>`` (torchvision's ImageFolder layout).

Images are read from disk item by item (they rarely fit in memory), resized to ``image_size``
and normalized with ``mean``/``std``. Left at null, these follow the chosen model: a zoo backbone's
pretrained configuration (its input size and statistics), else 224 pixels and ImageNet's statistics.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .base import DataModule, LoadedData

# what pretrained torchvision/timm models mostly expect (and the default without a zoo model)
IMAGENET = {"input_size": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


class ImageFolderDataModule(DataModule):
    name = "image_folder"
    hflip_ok = True

    def __init__(self, root: str, image_size: int | None = None, channels: int = 3,
                 mean: list[float] | None = None, std: list[float] | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = Path(root).expanduser()

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        """The settings left at null, from the model's pretrained configuration (or ImageNet's);
        they are hyperparameters, so checkpoints and summary.json keep what was used."""
        return {key: model_config.get(source) or IMAGENET[source]
                for key, source in (("image_size", "input_size"), ("mean", "mean"), ("std", "std"))
                if settings.get(key) is None}

    def load(self) -> LoadedData:
        from torchvision.datasets import ImageFolder  # heavy: only when this data set is used

        if not self.root.is_dir():
            raise FileNotFoundError(
                f"data.root={self.root} is not a folder. Expected one sub-folder per class, "
                "e.g. data.root=~/pets with ~/pets/cat/001.jpg, ~/pets/dog/002.jpg, ...")
        folder = ImageFolder(str(self.root))
        if len(folder) == 0:
            raise FileNotFoundError(f"no images found under {self.root}")
        self.paths = [path for path, _ in folder.samples]
        return LoadedData(folder, torch.tensor(folder.targets, dtype=torch.long), folder.classes)

    def item_transform(self, train: bool):
        from torchvision.transforms import v2

        from .augment import is_active, item_transforms

        size, channels, mean, std = self._normalization()
        colour = v2.Grayscale(channels) if channels == 1 else v2.RGB()
        steps, after = [colour, v2.Resize(size), v2.CenterCrop(size)], []
        if train and is_active(self.augment_policy):
            before, after = item_transforms(self.augment_policy, size)
            steps = [colour, *before]
        return v2.Compose([*steps, v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                           v2.Normalize(mean, std),
                           *after])

    def _normalization(self) -> tuple[int, int, list[float], list[float]]:
        size, channels = self.hparams.image_size or IMAGENET["input_size"], self.hparams.channels
        return (size, channels, (self.hparams.mean or IMAGENET["mean"])[:channels],
                (self.hparams.std or IMAGENET["std"])[:channels])

    def preprocessing(self) -> dict:
        size, channels, mean, std = self._normalization()
        return {"input_shape": [channels, size, size], "channels": channels,
                "resize": f"shorter side to {size}, then center crop {size}x{size}",
                "scale": "pixel / 255", "mean": list(mean), "std": list(std)}

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        return batch  # augmentation happens per item, in item_transform
