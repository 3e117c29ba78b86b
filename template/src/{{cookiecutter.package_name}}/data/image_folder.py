"""Your own images: ``root/<class name>/<image file>`` (torchvision's ImageFolder layout), the
folder source (``folder.py``) with image files (``inputs.image.ImageFileInput``).

Size and normalization left at null follow a pretrained model, else the data: the training
images' median shorter side (up to 64 files, at most 224 px: 25x25 crops are not upscaled to 80
times the pixels for nothing) and ImageNet's statistics; summary.json says which and why. Every
file is decoded once before training (JPEGs at a reduced scale); the verdicts are cached by path,
size and modification time in ``$XDG_CACHE_HOME/<package>/image-checks/`` (default ``~/.cache``),
so the next run pays only for new or changed files.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..inputs.base import input_spec
from ..inputs.image import IMAGENET, ImageFileInput
from .folder import FolderDataModule

SIZE_SAMPLE = 64  # files measured for the size that follows the data
# the image settings of the image sources (flat, as users and old checkpoints name them): the
# options of their input (``ImageFileInput``)
IMAGE_SETTINGS = ("image_size", "channels", "mean", "std", "image_size_from")


class ImageFolderDataModule(FolderDataModule):
    name = "image_folder"

    def __init__(
        self,
        root: str,
        image_size: int | None = None,
        channels: int = 3,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        image_size_from: str | None = None,
        hflip_ok: bool = True,
        geometric_ok: bool = True,
        **kwargs,
    ) -> None:
        """``image_size_from``: why ``image_size`` is what it is (the workflow fills it in; a
        size without it was the user's). ``hflip_ok``, ``geometric_ok``: may augmentation
        mirror / crop, rotate, flip the images? The input they make (null ones left out), unless
        ``data.input``."""
        names = (*IMAGE_SETTINGS, "hflip_ok", "geometric_ok")
        values = (image_size, channels, mean, std, image_size_from, hflip_ok, geometric_ok)
        given = {k: v for k, v in zip(names, values, strict=True) if v is not None}
        self.default_input = input_spec(ImageFileInput, **given)
        super().__init__(root=root, **kwargs)

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        """The image settings left at null, from the model's pretrained configuration (kept in
        checkpoints and summary.json as hyperparameters)."""
        if settings.get("input"):
            return super().settings_from_model(settings, model_config)
        given = {key: settings.get(key) for key in IMAGE_SETTINGS}
        return ImageFileInput.settings_from_model(given, model_config)


def size_from_files(paths: list[str]) -> tuple[int, str]:
    """(size, why): the median shorter side of up to ``SIZE_SAMPLE`` files spread over
    ``paths`` (their headers only), at most the pretrained default (224 px)."""
    from PIL import Image

    sides = []
    for path in paths[:: max(1, len(paths) // SIZE_SAMPLE)][:SIZE_SAMPLE]:
        with Image.open(path) as image:
            sides.append(min(image.size))
    median = int(statistics.median(sides))
    why = f"the images' median shorter side, {median} px over {len(sides)} files"
    if median > IMAGENET["input_size"]:
        return IMAGENET["input_size"], f"{why}, capped at {IMAGENET['input_size']}"
    return median, why


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
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        # (decoding releases the GIL)
        verdicts.update(zip(todo, pool.map(is_readable_image, todo), strict=True))
    if todo and cache_file is not None:
        for path in todo:
            if (stamp := _stamp(path)) is not None:
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
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else {}
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, cache: dict) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")  # DDP ranks write too
    try:
        partial.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(partial, path)
    except OSError:  # not writable after all: the next run verifies again
        partial.unlink(missing_ok=True)
