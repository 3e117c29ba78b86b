"""Embedded segmentation data: scikit-learn's digits, upscaled and placed on a noisy 16x16
background; the mask labels each ink pixel with its digit's class (classes 1..10 = digits 0..9)
and every other pixel as background (0). Seeded: identical in every run, no download."""

import torch
from torch.nn import functional as F

from .base import LoadedData
from .digits import load_digit_images
from .masks import MaskDataModule

# image side, digit side (the digit sits at a random place inside); small on purpose: a U-Net's
# step costs pixels, and 16x16 keeps mode=overfit at seconds on a laptop CPU
SIZE, DIGIT = 16, 12


class DigitsSegmentationDataModule(MaskDataModule):
    name = "digits_segmentation"
    hflip_ok = False  # mirrored digits are other shapes

    def __init__(self, *args, noise: float = 0.3, data_seed: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.noise, self.data_seed = noise, data_seed

    def load(self) -> LoadedData:
        small, labels = load_digit_images()
        big = F.interpolate(small, size=(DIGIT, DIGIT), mode="bilinear", align_corners=False)
        n = len(big)
        generator = torch.Generator().manual_seed(self.data_seed)
        images = torch.rand(n, 1, SIZE, SIZE, generator=generator) * self.noise
        masks = torch.zeros(n, SIZE, SIZE, dtype=torch.long)
        offsets = torch.randint(0, SIZE - DIGIT + 1, (n, 2), generator=generator).tolist()
        classes = labels + 1
        for i, (top, left) in enumerate(offsets):
            ink = big[i, 0] > 0.4
            window = (slice(top, top + DIGIT), slice(left, left + DIGIT))
            images[i, 0][window] = torch.maximum(images[i, 0][window], big[i, 0])
            masks[i][window][ink] = classes[i]
        return LoadedData(images, masks, ["background", *(str(d) for d in range(10))])
