"""scikit-learn's handwritten digits: 1797 grey 8x8 images, 10 classes, shipped inside the package
(no download), small enough to live in memory as one tensor."""

import torch
from sklearn.datasets import load_digits

from .base import DataModule, LoadedData


class DigitsDataModule(DataModule):
    name = "digits"

    def load(self) -> LoadedData:
        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
        return LoadedData(images, torch.tensor(digits.target, dtype=torch.long),
                          [str(d) for d in range(10)])
