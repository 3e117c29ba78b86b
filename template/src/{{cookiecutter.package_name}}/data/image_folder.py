"""Your own images: ``root/<class name>/<image file>`` (torchvision's ImageFolder layout).

A validation split of your own, either way (test is then split from the rest only when
``test_fraction`` asks for it)::

    root/valid.txt                 a list file: one image per line, its path under root
                                   (cat/12.jpg); ``valid`` names another file
    root/train/<class>/<file>      or a train/ + valid/ layout (fastai's grandparent splitter):
    root/valid/<class>/<file>      valid/ holds the validation images (``train_folder``,
                                   ``valid_folder`` name other folders; other folders are not read)

Images are read from disk item by item (they rarely fit in memory), resized to ``image_size``
and normalized with ``mean``/``std``. Left at null, these follow the chosen model when it was
pretrained (a zoo backbone's input size and statistics), else the data: the images' median shorter
side (measured on up to 64 files spread over the set; at most 224 px), and ImageNet's statistics.
25x25 crops train at 25 px, not upscaled to 224 (80 times the pixels, for nothing). Which size
was used and why is in summary.json (``data.image_size``, ``data.image_size_from``).

Every file is decoded once before training (JPEGs at a reduced scale: fast): an unreadable one
(corrupt, cut short, empty) is skipped and listed in ``skipped_files`` instead of killing a
DataLoader worker mid-epoch. The verdicts are cached by path, size and modification time in
``$XDG_CACHE_HOME/<package>/image-checks/`` (default ``~/.cache``), so the next run pays only for
new or changed files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from ..training.validate import ConfigError
from .base import DataModule, LoadedData, require_classes

log = logging.getLogger(__name__)

# what pretrained torchvision/timm models mostly expect (the statistics also serve other models)
IMAGENET = {"input_size": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
SIZE_SAMPLE = 64  # files measured for the size that follows the data


class ImageFolderDataModule(DataModule):
    name = "image_folder"
    hflip_ok = True

    def __init__(
        self,
        root: str,
        image_size: int | None = None,
        channels: int = 3,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        image_size_from: str | None = None,
        valid: str | None = "valid.txt",
        train_folder: str = "train",
        valid_folder: str | None = "valid",
        **kwargs,
    ) -> None:
        """``image_size_from``: why ``image_size`` is what it is, filled in by the workflow (the
        model's pretrained size, or the images' own); a size given without it was the user's."""
        if image_size is not None and image_size_from is None:
            image_size_from = "data.image_size"  # (saved with the hyperparameters below)
        super().__init__(**kwargs)
        self.root = Path(root).expanduser()
        self.skipped_files: list[str] = []  # unreadable images left out (see load())

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        """The settings left at null, from the model's pretrained configuration (statistics:
        else ImageNet's); they are hyperparameters, so checkpoints and summary.json keep what was
        used. A model without a preference leaves the size to the images (``_normalization``)."""
        chosen = {
            key: model_config.get(key) or IMAGENET[key]
            for key in ("mean", "std")
            if settings.get(key) is None
        }
        if settings.get("image_size") is None and model_config.get("input_size"):
            chosen["image_size"] = int(model_config["input_size"])
            chosen["image_size_from"] = "the model's pretrained input size"
        return chosen

    def load(self) -> LoadedData:
        from torchvision.datasets import ImageFolder  # heavy: only when this data set is used

        if not self.root.is_dir():
            raise FileNotFoundError(
                f"data.root={self.root} is not a folder. Expected one sub-folder per class, "
                "e.g. data.root=$HOME/pets with $HOME/pets/cat/1.jpg, $HOME/pets/dog/2.jpg, ..."
            )
        layout = self._train_valid_layout()
        base = layout[0] if layout else self.root
        reject_empty_classes(base)
        folder = ImageFolder(str(base))
        if layout:  # the valid/ images join the samples, by class name
            folder.samples = folder.samples + self._valid_samples(layout[1], folder.class_to_idx)
            folder.imgs, folder.targets = folder.samples, [label for _, label in folder.samples]
        if len(folder) == 0:
            raise FileNotFoundError(f"no images found under {self.root}")
        readable = verify_images([path for path, _ in folder.samples])
        self.skipped_files = [path for path, _ in folder.samples if not readable[path]]
        if self.skipped_files:
            kept = [(path, label) for path, label in folder.samples if readable[path]]
            folder.samples = folder.imgs = kept
            folder.targets = [label for _, label in kept]
            log.warning(
                "%d unreadable image file(s) skipped (corrupt, cut short or empty): %s",
                len(self.skipped_files),
                ", ".join(self.skipped_files[:5])
                + (", ..." if len(self.skipped_files) > 5 else ""),
            )
            reject_empty_classes(self.root, kept, folder.classes)
        require_classes(folder.classes, f"data.root={self.root}")
        self.paths = [path for path, _ in folder.samples]
        keys = [Path(os.path.relpath(path, self.root)).as_posix() for path in self.paths]
        if layout:
            inside = f"{Path(os.path.relpath(layout[1], self.root)).as_posix()}/"
            val = [i for i, key in enumerate(keys) if key.startswith(inside)]
        else:
            val = self._listed_valid(keys)
        return LoadedData(
            folder,
            torch.tensor(folder.targets, dtype=torch.long),
            folder.classes,
            val_indices=val,
            item_keys=keys,
        )

    # ---- a given validation split --------------------------------------------------------------
    def _train_valid_layout(self) -> tuple[Path, Path] | None:
        """(train folder, valid folder) when root holds both, else None (classes under root)."""
        h = self.hparams
        train = self.root / h.train_folder
        valid = self.root / h.valid_folder if h.valid_folder else None
        return (train, valid) if train.is_dir() and valid is not None and valid.is_dir() else None

    def _valid_samples(self, valid: Path, class_to_idx: dict[str, int]) -> list[tuple[str, int]]:
        from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

        unknown = sorted(
            d.name for d in valid.iterdir() if d.is_dir() and d.name not in class_to_idx
        )
        if unknown:
            train = self.root / self.hparams.train_folder
            raise ConfigError(
                f"{valid}: class folder(s) {unknown} are not in {train} (its classes: "
                f"{sorted(class_to_idx)}): a validation class must also be trained on"
            )
        return make_dataset(str(valid), class_to_idx, IMG_EXTENSIONS, allow_empty=True)

    def _listed_valid(self, keys: list[str]) -> list[int] | None:
        """The items a list file (``valid``, one path under root per line) names; None when
        there is no such file."""
        if not self.hparams.valid:
            return None
        listing = Path(self.hparams.valid).expanduser()
        listing = listing if listing.is_absolute() else self.root / listing
        if not listing.is_file():
            return None
        position = {key: i for i, key in enumerate(keys)}
        lines = listing.read_text(encoding="utf-8-sig").splitlines()
        names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        wanted = [_under(name, self.root) for name in names]
        missing = [name for name, key in zip(names, wanted, strict=True) if key not in position]
        if missing and len(missing) == len(names):
            raise ConfigError(
                f"{listing} names {len(names)} validation image(s), none of them under "
                f"data.root={self.root} (first: {names[0]}): one path per line, relative to "
                "data.root (cat/12.jpg)"
            )
        if missing:
            log.warning(
                "%s: %d listed validation image(s) not found or unreadable, left out: %s",
                listing,
                len(missing),
                ", ".join(missing[:5]),
            )
        return sorted({position[key] for key in wanted if key in position})

    def val_source(self) -> str:
        layout = self._train_valid_layout()
        if layout:
            return f"the {layout[1].name}/ folder next to {layout[0].name}/"
        return f"the list {self.hparams.valid}"

    def item_transform(self, train: bool):
        from torchvision.transforms import v2

        from .augment import is_active, item_transforms

        size, channels, mean, std = self._normalization()
        colour = v2.Grayscale(channels) if channels == 1 else v2.RGB()
        steps, after = [colour, v2.Resize(size), v2.CenterCrop(size)], []
        if train and is_active(self.augment_policy):
            before, after = item_transforms(self.augment_policy, size)
            steps = [colour, *before]
        return v2.Compose(
            [
                *steps,
                v2.ToImage(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(mean, std),
                *after,
            ]
        )

    def _normalization(self) -> tuple[int, int, list[float], list[float]]:
        if self.hparams.image_size is None:  # no preference from the user or the model
            self.loaded  # noqa: B018 (the files are known once loaded)
            self.hparams.image_size, self.hparams.image_size_from = size_from_files(self.paths)
            log.info(
                "%s: images resized to %d px (%s; set data.image_size to choose)",
                self.name,
                self.hparams.image_size,
                self.hparams.image_size_from,
            )
        size, channels = self.hparams.image_size, self.hparams.channels
        return (
            size,
            channels,
            (self.hparams.mean or IMAGENET["mean"])[:channels],
            (self.hparams.std or IMAGENET["std"])[:channels],
        )

    def preprocessing(self) -> dict:
        size, channels, mean, std = self._normalization()
        return {
            "input_shape": [channels, size, size],
            "channels": channels,
            "resize": f"shorter side to {size}, then center crop {size}x{size}",
            "scale": "pixel / 255",
            "mean": list(mean),
            "std": list(std),
        }

    def describe(self) -> dict:
        size = self._normalization()[0]
        why = self.hparams.image_size_from
        return {**super().describe(), "image_size": size, "image_size_from": why}

    def notes(self) -> list[str]:
        size = self._normalization()[0]
        return [*super().notes(), f"images at {size}x{size} px ({self.hparams.image_size_from})"]

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        return batch  # augmentation happens per item, in item_transform


def size_from_files(paths: list[str]) -> tuple[int, str]:
    """(size, why): the median shorter side of up to ``SIZE_SAMPLE`` files spread over
    ``paths`` (their headers only), at most the pretrained default (224 px)."""
    from PIL import Image

    step = max(1, len(paths) // SIZE_SAMPLE)
    sides = []
    for path in paths[::step][:SIZE_SAMPLE]:
        with Image.open(path) as image:
            sides.append(min(image.size))
    median = int(statistics.median(sides))
    why = f"the images' median shorter side, {median} px over {len(sides)} files"
    if median > IMAGENET["input_size"]:
        return IMAGENET["input_size"], f"{why}, capped at {IMAGENET['input_size']}"
    return median, why


def _under(name: str, root: Path) -> str:
    """A listed path as an item key: relative to ``root`` (absolute paths under it too)."""
    path = Path(name).expanduser()
    return Path(os.path.relpath(path, root) if path.is_absolute() else path).as_posix()


def reject_empty_classes(
    root: Path, samples: list[tuple[str, int]] | None = None, classes: list[str] | None = None
) -> None:
    """A class folder without (readable) images: say which, and what to do."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    if samples is None:
        classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        counts = {
            name: sum(
                1
                for f in (root / name).rglob("*")
                if f.is_file() and f.suffix.lower() in IMG_EXTENSIONS
            )
            for name in classes
        }
    else:
        counts = dict.fromkeys(classes or [], 0)
        for _, label in samples:
            counts[classes[label]] += 1
    empty = [name for name, count in counts.items() if count == 0]
    if empty:
        folders = ", ".join(str(root / name) for name in empty)
        raise FileNotFoundError(
            f"class folder(s) without readable images: {folders}. Remove the folder(s) or add "
            f"images ({', '.join(sorted(IMG_EXTENSIONS))})"
        )


def verify_images(paths: list[str], cache_dir: Path | None = None) -> dict[str, bool]:
    """``{path: readable}`` for each image file; known files answered from the cache."""
    cache_file = _cache_file(paths, cache_dir)
    cache = _read_cache(cache_file)
    verdicts, todo = {}, []
    for path in paths:
        stamp, entry = _stamp(path), cache.get(path)
        if stamp is not None and isinstance(entry, list) and entry[:2] == stamp:
            verdicts[path] = bool(entry[2])  # same size and modification time: same verdict
        else:
            todo.append(path)
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:  # decoding releases the GIL
        for path, readable in zip(todo, pool.map(is_readable_image, todo), strict=True):
            verdicts[path] = readable
    if todo and cache_file is not None:
        for path in todo:
            stamp = _stamp(path)
            if stamp is not None:
                cache[path] = [*stamp, verdicts[path]]
        _write_cache(cache_file, {p: cache[p] for p in paths if p in cache})
    return verdicts


def is_readable_image(path: str) -> bool:
    """Can PIL decode the whole file? (JPEGs at 1/8 scale: the same checks, far faster)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft("RGB", (64, 64))  # JPEG only; other formats ignore it
            image.load()
    except Exception:  # PIL raises many kinds (OSError, SyntaxError, ValueError, ...)
        return False
    return True


def _stamp(path: str) -> list[int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _cache_file(paths: list[str], cache_dir: Path | None) -> Path | None:
    if cache_dir is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        cache_dir = Path(base) / __package__.split(".")[0] / "image-checks"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: verify every time
        return None
    root = os.path.commonpath(paths) if paths else ""
    return cache_dir / f"{hashlib.sha1(root.encode()).hexdigest()[:16]}.json"


def _read_cache(path: Path | None) -> dict:
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, cache: dict) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")  # DDP ranks write too
    try:
        partial.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(partial, path)
    except OSError:  # not writable after all: the next run verifies again
        partial.unlink(missing_ok=True)
