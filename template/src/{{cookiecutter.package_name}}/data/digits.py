"""scikit-learn's handwritten digits: 1797 grey 8x8 images shipped inside the package (no
download), held in memory as one tensor; one source for four kinds of targets (``target_kind``,
one data config each), generated images seeded by ``data_seed`` (the same in every run):

* ``class`` (``data=digits``): the digit, 10 classes;
* ``multilabel`` (``data=digits_multilabel``): labels derived from the digit (``LABELS``; the
  digit 1 has none), readable only from the image, so a CNN clearly beats the majority;
* ``continuous`` (``data=digits_regression``): the angle each upscaled digit was rotated by, in
  ``[-max_angle, max_angle]``; moving the image would make it lie (``geometric_ok: false``);
* ``mask`` (``data=digits_segmentation``): digits on a noisy background, each ink pixel labelled
  with its digit's class (1..10), the rest background (0); masks move with their images.
"""

import gzip
import importlib.util
import math
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..inputs.base import input_spec
from ..inputs.image import ImageInput
from ..training.validate import ConfigError
from .base import DataModule, LoadedData

# the data set's name (summary.json, messages) for each kind of targets it gives
NAMES = {
    "class": "digits",
    "multilabel": "digits_multilabel",
    "continuous": "digits_regression",
    "mask": "digits_segmentation",
}
LABELS = {
    "even": {0, 2, 4, 6, 8},
    "greater_than_4": {5, 6, 7, 8, 9},
    "closed_loop": {0, 4, 6, 8, 9},
    "prime": {2, 3, 5, 7},
}
# segmentation: image side, digit side (placed at random inside); small because a U-Net's step
# costs pixels, and 16x16 keeps mode=overfit at seconds on a laptop CPU
SIZE, DIGIT = 16, 12


def load_digit_images() -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (N, 1, 8, 8) in [0, 1], labels (N,))``, read straight from the CSV file
    scikit-learn ships: importing ``sklearn.datasets`` pulls in SciPy and pandas, about two
    seconds at every start. ``load_digits`` if a release moves the file."""
    spec = importlib.util.find_spec("sklearn")
    roots = spec.submodule_search_locations if spec else None
    path = Path(roots[0], "datasets", "data", "digits.csv.gz") if roots else None
    if path is not None and path.is_file():
        with gzip.open(path, "rt") as file:
            table = np.loadtxt(file, delimiter=",", dtype=np.float32)
        pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        from sklearn.datasets import load_digits

        digits = load_digits()
        pixels, labels = digits.data.astype(np.float32), digits.target.astype(np.int64)
    return torch.from_numpy(pixels).reshape(-1, 1, 8, 8) / 16.0, torch.from_numpy(labels)


class DigitsDataModule(DataModule):
    name = "digits"

    def __init__(
        self,
        target_kind: str = "class",
        max_angle: float = 45.0,
        size: int = 16,
        noise: float = 0.3,
        data_seed: int = 0,
        ignore_index: int = 255,
        **kwargs,
    ) -> None:
        """``max_angle``, ``size``: the rotated digits; ``noise``: the segmentation background;
        ``ignore_index``: void mask pixels (augmentation marks those moved in from outside)."""
        if target_kind not in NAMES:
            raise ConfigError(f"data.target_kind={target_kind}: use one of {', '.join(NAMES)}")
        self.name, self.target_kind = NAMES[target_kind], target_kind
        # built directly, without a task to say how to stratify
        strata = {"continuous": "quantiles", "mask": "none"}
        kwargs.setdefault("stratify", strata.get(target_kind, "labels"))
        if target_kind == "continuous" and (not 0 < max_angle < 180 or size < 8):
            raise ConfigError(
                f"data.max_angle must be in (0, 180) and data.size >= 8, got {max_angle} and {size}"
            )
        options = {
            "continuous": {"geometric_ok": False},
            "mask": {"masks": True, "ignore_index": ignore_index},
        }
        self.default_input = input_spec(ImageInput, **options.get(target_kind, {}))
        super().__init__(**kwargs)

    def load(self) -> LoadedData:
        images, labels = load_digit_images()
        h = self.hparams
        if self.target_kind == "multilabel":
            table = torch.tensor([[float(d in ds) for ds in LABELS.values()] for d in range(10)])
            return LoadedData(images, table[labels], list(LABELS))
        if self.target_kind == "continuous":
            images = F.interpolate(images, size=h.size, mode="bilinear", align_corners=False)
            generator = torch.Generator().manual_seed(h.data_seed)
            degrees = (torch.rand(len(images), generator=generator) * 2 - 1) * h.max_angle
            return LoadedData(rotate(images, degrees), degrees[:, None], ["angle"])
        if self.target_kind == "mask":
            return self._segmentation(images, labels)
        return LoadedData(images, labels, [str(d) for d in range(10)])

    def _segmentation(self, small: torch.Tensor, labels: torch.Tensor) -> LoadedData:
        big = F.interpolate(small, size=(DIGIT, DIGIT), mode="bilinear", align_corners=False)
        n = len(big)
        generator = torch.Generator().manual_seed(self.hparams.data_seed)
        images = torch.rand(n, 1, SIZE, SIZE, generator=generator) * self.hparams.noise
        masks = torch.zeros(n, SIZE, SIZE, dtype=torch.long)
        offsets = torch.randint(0, SIZE - DIGIT + 1, (n, 2), generator=generator).tolist()
        for i, (top, left) in enumerate(offsets):
            window = (slice(top, top + DIGIT), slice(left, left + DIGIT))
            images[i, 0][window] = torch.maximum(images[i, 0][window], big[i, 0])
            masks[i][window][big[i, 0] > 0.4] = labels[i] + 1
        return LoadedData(images, masks, ["background", *(str(d) for d in range(10))])


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Each image of ``(N, C, H, W)`` rotated about its centre by its own angle
    (counter-clockwise as displayed), bilinear, zeros outside."""
    radians = degrees * math.pi / 180.0
    cos, sin, zero = torch.cos(radians), torch.sin(radians), torch.zeros_like(radians)
    # affine_grid maps output to input coordinates: the inverse rotation
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)
