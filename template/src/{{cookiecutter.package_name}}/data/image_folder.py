"""Your own images: ``root/<class name>/<image file>``, the folder source (``folder.py``) with
image files (``inputs.image.ImageFileInput``). Size and normalization left at null follow a
pretrained model, else the data: the training images' median shorter side (at most 224 px: 25x25
crops are not upscaled to 80 times the pixels for nothing) and ImageNet's statistics. Every file
is decoded once before training; the verdicts are cached by path, size and modification time in
``$XDG_CACHE_HOME/<package>/image-checks/``, so the next run pays only for new or changed files.
"""

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
# the image sources' settings, flat as users and old checkpoints name them (ImageFileInput's)
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
        """``image_size_from``: why ``image_size`` is what it is (filled in by the workflow; a size
        without it was the user's). ``hflip_ok``, ``geometric_ok``: may augmentation mirror /
        crop, rotate, flip the images?"""
        names = (*IMAGE_SETTINGS, "hflip_ok", "geometric_ok")
        values = (image_size, channels, mean, std, image_size_from, hflip_ok, geometric_ok)
        given = {k: v for k, v in zip(names, values, strict=True) if v is not None}
        self.default_input = input_spec(ImageFileInput, **given)
        super().__init__(root=root, **kwargs)

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        if settings.get("input"):
            return super().settings_from_model(settings, model_config)
        given = {key: settings.get(key) for key in IMAGE_SETTINGS}
        return ImageFileInput.settings_from_model(given, model_config)


def size_from_files(paths: list[str]) -> tuple[int, str]:
    """(size, why): the median shorter side of files spread over ``paths`` (headers only)."""
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


def verify_images(paths: list[str]) -> dict[str, bool]:
    """``{path: readable}`` for each image file; known files answered from the cache."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    cache_dir = Path(base) / __package__.split(".")[0] / "image-checks"
    root = os.path.commonpath(paths) if paths else ""
    cache_file = cache_dir / f"{hashlib.sha1(root.encode()).hexdigest()[:16]}.json"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache = json.loads(cache_file.read_text(encoding="utf-8")) if cache_file.is_file() else {}
    except (OSError, ValueError):  # a read-only home (verify every time), a broken cache file
        cache = {}
    verdicts, todo = {}, []
    for path in paths:
        stamp, entry = _stamp(path), cache.get(path)
        if stamp is not None and isinstance(entry, list) and entry[:2] == stamp:
            verdicts[path] = bool(entry[2])  # same size and modification time: same verdict
        else:
            todo.append(path)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL frees the GIL
        verdicts.update(zip(todo, pool.map(is_readable_image, todo), strict=True))
    if todo and cache_dir.is_dir():
        for path in todo:
            if (stamp := _stamp(path)) is not None:
                cache[path] = [*stamp, verdicts[path]]
        partial = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.partial")  # DDP ranks too
        try:
            partial.write_text(json.dumps({p: cache[p] for p in paths if p in cache}), "utf-8")
            os.replace(partial, cache_file)
        except OSError:  # not writable after all: the next run verifies again
            partial.unlink(missing_ok=True)
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
