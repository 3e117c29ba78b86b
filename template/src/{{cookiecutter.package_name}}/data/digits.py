"""scikit-learn's handwritten digits: 1797 grey 8x8 images, 10 classes, shipped inside the package
(no download), small enough to live in memory as one tensor."""

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch

from .base import DataModule, LoadedData


def load_digit_images() -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (N, 1, 8, 8) in [0, 1], labels (N,))``.

    Read straight from the CSV file scikit-learn ships, without importing ``sklearn.datasets``:
    that import pulls in SciPy and pandas, about two seconds at every start, which is most of
    what ``mode=overfit`` would otherwise spend before its verdict. Falls back to
    ``load_digits`` should a scikit-learn release move the file."""
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
    images = torch.from_numpy(pixels).reshape(-1, 1, 8, 8) / 16.0
    return images, torch.from_numpy(labels)


class DigitsDataModule(DataModule):
    name = "digits"

    def load(self) -> LoadedData:
        images, labels = load_digit_images()
        return LoadedData(images, labels, [str(d) for d in range(10)])
