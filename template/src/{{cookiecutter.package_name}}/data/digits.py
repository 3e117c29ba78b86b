{%- set tasks = cookiecutter.__tasks.split(",") -%}
{%- set multilabel, regression, segmentation = "multilabel" in tasks, "regression" in tasks, "segmentation" in tasks -%}
"""scikit-learn's handwritten digits: 1797 grey 8x8 images shipped inside the package, held in
memory as one tensor; ``target_kind`` says what the targets are (``class``: the digit).
{%- if multilabel or regression or segmentation %}
The other kinds are built by the method of their name below.
{%- endif %}"""

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch
{%- if regression or segmentation %}
from torch.nn import functional as F
{%- endif %}

from ..inputs.base import input_spec
from ..inputs.image import ImageInput
from ..training.validate import ConfigError
from .base import DataModule, LoadedData

# the data set's name (summary.json, messages) for each kind of targets it gives
NAMES = {"class": "digits"}
{%- if multilabel %}
NAMES["multilabel"] = "digits_multilabel"
{%- endif %}
{%- if regression %}
NAMES["continuous"] = "digits_regression"
{%- endif %}
{%- if segmentation %}
NAMES["mask"] = "digits_segmentation"
{%- endif %}


def load_digit_images() -> tuple[torch.Tensor, torch.Tensor]:
    """Read straight from the CSV file scikit-learn ships: importing ``sklearn.datasets`` pulls in
    SciPy and pandas, about two seconds at every start (``load_digits`` if a release moves it)."""
    roots = importlib.util.find_spec("sklearn").submodule_search_locations  # (a dependency)
    path = Path(roots[0], "datasets", "data", "digits.csv.gz")
    if path.is_file():
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
{%- if regression or segmentation %}

    def __init__(
        self,
        target_kind: str = "class",
{%- if regression %}
        max_angle: float = 45.0,
        size: int = 16,
{%- endif %}
{%- if segmentation %}
        noise: float = 0.3,
{%- endif %}
{%- if regression or segmentation %}
        data_seed: int = 0,
{%- endif %}
{%- if segmentation %}
        ignore_index: int = 255,
{%- endif %}
        **kwargs,
    ) -> None:
{%- else %}

    def __init__(self, target_kind: str = "class", **kwargs) -> None:
{%- endif %}
        if target_kind not in NAMES:
            raise ConfigError(f"data.target_kind={target_kind}: use one of {', '.join(NAMES)}")
        self.name, self.target_kind = NAMES[target_kind], target_kind
        stratify, options = "labels", {}  # the split's strata, the image input's options
{%- if regression %}
        if target_kind == "continuous" and (not 0 < max_angle < 180 or size < 8):
            raise ConfigError(
                f"data.max_angle must be in (0, 180) and data.size >= 8, got {max_angle} and {size}"
            )
        if target_kind == "continuous":  # moving the image would make its angle lie
            stratify, options = "quantiles", {"geometric_ok": False}
{%- endif %}
{%- if segmentation %}
        if target_kind == "mask":  # void mask pixels: ignore_index (moved in from outside)
            stratify, options = "none", {"masks": True, "ignore_index": ignore_index}
{%- endif %}
        kwargs.setdefault("stratify", stratify)  # built directly, without a task to say how
        self.default_input = input_spec(ImageInput, **options)
        super().__init__(**kwargs)

    def load(self) -> LoadedData:
        images, labels = load_digit_images()
{%- if multilabel or regression or segmentation %}
        if self.target_kind != "class":
            return getattr(self, f"_{self.target_kind}")(images, labels)
{%- endif %}
        return LoadedData(images, labels, [str(d) for d in range(10)])
{%- if multilabel %}

    def _multilabel(self, images: torch.Tensor, labels: torch.Tensor) -> LoadedData:
        """Labels derived from the digit (the digit 1 has none), readable only from the image: a
        CNN clearly beats the majority."""
        sets = {
            "even": {0, 2, 4, 6, 8},
            "greater_than_4": {5, 6, 7, 8, 9},
            "closed_loop": {0, 4, 6, 8, 9},
            "prime": {2, 3, 5, 7},
        }
        table = torch.tensor([[float(d in ds) for ds in sets.values()] for d in range(10)])
        return LoadedData(images, table[labels], list(sets))
{%- endif %}
{%- if regression %}

    def _continuous(self, images: torch.Tensor, labels: torch.Tensor) -> LoadedData:
        """The angle each digit, upscaled to ``size``, was rotated by (about its centre,
        counter-clockwise as displayed, bilinear, zeros outside): seeded by ``data_seed``, in
        ``[-max_angle, max_angle]``."""
        h = self.hparams
        images = F.interpolate(images, size=h.size, mode="bilinear", align_corners=False)
        generator = torch.Generator().manual_seed(h.data_seed)
        degrees = (torch.rand(len(images), generator=generator) * 2 - 1) * h.max_angle
        radians = degrees * torch.pi / 180.0
        cos, sin, zero = torch.cos(radians), torch.sin(radians), torch.zeros_like(radians)
        # affine_grid maps output to input coordinates: the inverse rotation
        theta = torch.stack(
            [torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1
        )
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        rotated = F.grid_sample(images, grid, align_corners=False)
        return LoadedData(rotated, degrees[:, None], ["angle"])
{%- endif %}
{%- if segmentation %}

    def _mask(self, small: torch.Tensor, labels: torch.Tensor) -> LoadedData:
        """Digits at a random place on a noisy background (seeded by ``data_seed``), each ink
        pixel labelled with its digit's class (1..10), the rest background (0)."""
        # image side, digit side: small because a U-Net's step costs pixels, and 16x16 keeps
        # mode=overfit at seconds on a laptop CPU
        size, side = 16, 12
        big = F.interpolate(small, size=(side, side), mode="bilinear", align_corners=False)
        n = len(big)
        generator = torch.Generator().manual_seed(self.hparams.data_seed)
        images = torch.rand(n, 1, size, size, generator=generator) * self.hparams.noise
        masks = torch.zeros(n, size, size, dtype=torch.long)
        offsets = torch.randint(0, size - side + 1, (n, 2), generator=generator).tolist()
        for i, (top, left) in enumerate(offsets):
            window = (slice(top, top + side), slice(left, left + side))
            images[i, 0][window] = torch.maximum(images[i, 0][window], big[i, 0])
            masks[i][window][big[i, 0] > 0.4] = labels[i] + 1
        return LoadedData(images, masks, ["background", *(str(d) for d in range(10))])
{%- endif %}
