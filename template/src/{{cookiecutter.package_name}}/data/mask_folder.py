"""Your own segmentation data in fastai's CamVid layout::

    root/images/0001TP_006690.png      the images (any format PIL reads)
    root/labels/0001TP_006690_P.png    one mask per image: pixel value = class code
    root/codes.txt                     the class names, one per line, in code order
    root/valid.txt                     optional: image file names that form the val split

The mask of an image is found with ``mask_name`` (``{stem}_P.png`` for CamVid; ``{name}`` is the
image's file name, ``{stem}`` without its extension). The class named ``void`` in codes.txt
(CamVid's ``Void``) becomes ``ignore_index``: no loss, no metric.

Every pair is checked before training: an image without a mask, a mask whose size differs from
its image, a mask with values outside the codes, an unreadable file. Such pairs are skipped and
listed by file name (``skipped_files`` in summary.json; ``data.on_bad=fail`` stops instead).
The pairs are resized to ``image_size`` and held in memory as tensors (about
``N x 3 x size² x 4`` bytes: 700 images at 128 px take 140 MB), so they are served as whole
batches and augmented on the device like the embedded data: by an image input whose masks move
with their images (``inputs.image.ImageInput``, ``masks: true``; mirroring allowed: a mirrored
street is a street).
"""

import logging
from pathlib import Path

import numpy as np
import torch

from ..inputs.base import input_spec
from ..inputs.image import ImageInput
from ..training.validate import ConfigError
from .base import DataModule, LoadedData, first_problems

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class MaskFolderDataModule(DataModule):
    name = "mask_folder"
    target_kind = "mask"

    def __init__(
        self,
        root: str,
        image_size: int | list[int] = 128,
        channels: int = 3,
        images: str = "images",
        labels: str = "labels",
        mask_name: str = "{stem}_P.png",
        codes: str = "codes.txt",
        valid: str | None = "valid.txt",
        void: str | None = "Void",
        on_bad: str = "skip",
        ignore_index: int = 255,
        **kwargs,
    ) -> None:
        kwargs.setdefault("stratify", "none")
        self.default_input = input_spec(
            ImageInput, hflip_ok=True, masks=True, ignore_index=ignore_index
        )
        self.ignore_index = ignore_index  # (the void code's pixels)
        super().__init__(**kwargs)
        if on_bad not in ("skip", "fail"):
            raise ConfigError(f"data.on_bad={on_bad}: use skip or fail")
        self.root = Path(root).expanduser()
        size = [image_size, image_size] if isinstance(image_size, int) else list(image_size)
        self.size = (int(size[0]), int(size[1]))  # (height, width)
        self.skipped_files: list[str] = []
        # per item, as the file sources have them: review rows name their files (clean.py
        # quarantines an image with its mask)
        self.paths: list[str] = []
        self.mask_paths: list[str] = []

    def load(self) -> LoadedData:
        h = self.hparams
        names, lookup = self._codes()
        image_dir, label_dir = self.root / h.images, self.root / h.labels
        if not image_dir.is_dir() or not label_dir.is_dir():
            example = h.mask_name.format(stem="a", name="a.png")
            raise FileNotFoundError(
                f"data.root={self.root} needs an '{h.images}/' and a '{h.labels}/' folder "
                f"(CamVid layout: {h.images}/a.png with its mask {h.labels}/{example})"
            )
        files = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        images, masks, keys, problems, paths, mask_paths = [], [], [], [], [], []
        for file in files:
            mask_file = label_dir / h.mask_name.format(stem=file.stem, name=file.name)
            pair, why = self._read_pair(file, mask_file, lookup)
            if why:
                problems.append(f"{file.name}: {why}")
            else:
                images.append(pair[0])
                masks.append(pair[1])
                keys.append(file.name)
                paths.append(str(file))
                mask_paths.append(str(mask_file))
        self._report(problems, len(files))
        if not images:
            raise FileNotFoundError(
                f"no usable image/mask pairs under {self.root} "
                f"({len(files)} images, {len(problems)} skipped)"
            )
        self.paths, self.mask_paths = paths, mask_paths
        position = {key: i for i, key in enumerate(keys)}
        val = self._valid_names()
        val_indices = None if val is None else [position[n] for n in val if n in position]
        return LoadedData(
            torch.stack(images), torch.stack(masks), names, val_indices=val_indices, item_keys=keys
        )

    # ---- reading and checking ------------------------------------------------------------------
    def _codes(self) -> tuple[list[str], torch.Tensor]:
        """The class names and a code -> class lookup (the void code -> ignore_index)."""
        path = self.root / self.hparams.codes
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: it lists the class names, one per line, "
                "in the order of the mask values (0, 1, 2, ...)"
            )
        codes = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        self._code_count = len(codes)
        void = (self.hparams.void or "").lower()
        names = [c for c in codes if c.lower() != void]
        lookup = torch.full((256,), -1, dtype=torch.long)  # -1: not a code (a bad mask)
        index = 0
        for code, name in enumerate(codes):
            if name.lower() == void and void:
                lookup[code] = self.ignore_index
            else:
                lookup[code] = index
                index += 1
        lookup[self.ignore_index] = self.ignore_index  # already void in the file
        return names, lookup

    def _read_pair(self, file: Path, mask_file: Path, lookup: torch.Tensor):
        from PIL import Image

        if not mask_file.is_file():
            return None, f"no mask ({mask_file.relative_to(self.root)} not found)"
        try:
            with Image.open(file) as image, Image.open(mask_file) as mask:
                if image.size != mask.size:
                    return None, (
                        f"mask {mask_file.name} is {mask.size[0]}x{mask.size[1]}, "
                        f"the image {image.size[0]}x{image.size[1]}"
                    )
                mode = "L" if self.hparams.channels == 1 else "RGB"
                height, width = self.size
                image = image.convert(mode).resize((width, height), Image.Resampling.BILINEAR)
                values = np.asarray(mask)
                if values.ndim != 2:
                    return (
                        None,
                        f"mask {mask_file.name} has colour channels: expected one "
                        "class code per pixel (a palette or greyscale PNG)",
                    )
                mask = Image.fromarray(values.astype(np.uint8) if values.max() < 256 else values)
                mask = mask.resize((width, height), Image.Resampling.NEAREST)
                pixels = np.asarray(image, dtype=np.float32) / 255.0
                codes = torch.as_tensor(np.asarray(values, dtype=np.int64))
                small = torch.as_tensor(np.asarray(mask, dtype=np.int64))
        except OSError as error:
            return None, f"unreadable ({error})"
        if codes.min() < 0 or codes.max() > 255 or (lookup[codes] < 0).any():
            bad = sorted({int(v) for v in codes.unique() if v < 0 or v > 255 or lookup[v] < 0})
            return None, (
                f"mask values {', '.join(map(str, bad[:5]))} are not codes of "
                f"{self.hparams.codes} (0..{self._code_count - 1})"
            )
        x = torch.from_numpy(pixels).reshape(self.size[0], self.size[1], -1).permute(2, 0, 1)
        return (x, lookup[small]), ""

    def _report(self, problems: list[str], total: int) -> None:
        self.skipped_files = problems
        if not problems:
            return
        listed = "\n  ".join(problems[:20]) + (
            f"\n  ... {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        if self.hparams.on_bad == "fail":
            raise ConfigError(
                f"{self.root}: {len(problems)} of {total} image/mask pairs are unusable "
                f"(data.on_bad=fail; skip them with data.on_bad=skip): {first_problems(problems)}"
            )
        log.warning(
            "%s: skipped %d of %d image/mask pairs:\n  %s", self.root, len(problems), total, listed
        )

    def val_source(self) -> str:
        return f"the list {self.hparams.valid}"

    def _valid_names(self) -> list[str] | None:
        if not self.hparams.valid:
            return None
        path = self.root / self.hparams.valid
        if not path.is_file():
            return None
        return [Path(line.strip()).name for line in path.read_text().splitlines() if line.strip()]
