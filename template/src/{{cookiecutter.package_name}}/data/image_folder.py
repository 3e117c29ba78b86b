"""Your own images: ``root/<class name>/<image file>`` (torchvision's ImageFolder layout).

Images are read from disk item by item (they rarely fit in memory), resized to ``image_size``
and normalized with ``mean``/``std`` (ImageNet's by default, right for pretrained backbones).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .base import ClassificationDataModule, LoadedData


class ImageFolderDataModule(ClassificationDataModule):
    name = "image_folder"
    hflip_ok = True

    def __init__(self, root: str, image_size: int = 224, channels: int = 3,
                 mean: tuple[float, ...] = (0.485, 0.456, 0.406),
                 std: tuple[float, ...] = (0.229, 0.224, 0.225), **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = Path(root).expanduser()

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

        size, channels = self.hparams.image_size, self.hparams.channels
        colour = v2.Grayscale(channels) if channels == 1 else v2.RGB()
        steps, after = [colour, v2.Resize(size), v2.CenterCrop(size)], []
        if train and is_active(self.augment_policy):
            before, after = item_transforms(self.augment_policy, size)
            steps = [colour, *before]
        return v2.Compose([*steps, v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                           v2.Normalize(self.hparams.mean[:channels], self.hparams.std[:channels]),
                           *after])

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        return batch  # augmentation happens per item, in item_transform
