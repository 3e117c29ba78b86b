"""The embedded digits with a *set* of labels per image, derived from the digit: "even",
"greater_than_4", "closed_loop" (0, 4, 6, 8, 9) and "prime" (2, 3, 5, 7). Most images carry
several labels (8: even, greater_than_4, closed_loop) and the digit 1 carries none; the labels can
only be read from the image, so a CNN clearly beats the per-label majority."""

import torch

from .base import LoadedData
from .digits import DigitsDataModule

LABELS = {
    "even": {0, 2, 4, 6, 8},
    "greater_than_4": {5, 6, 7, 8, 9},
    "closed_loop": {0, 4, 6, 8, 9},
    "prime": {2, 3, 5, 7},
}


class DigitsMultiLabelDataModule(DigitsDataModule):
    name = "digits_multilabel"
    target_kind = "multilabel"

    def load(self) -> LoadedData:
        digits = super().load()
        table = torch.tensor(
            [[float(d in members) for members in LABELS.values()] for d in range(10)]
        )  # (10 digits, 4 labels)
        return LoadedData(digits.inputs, table[digits.targets], list(LABELS))
