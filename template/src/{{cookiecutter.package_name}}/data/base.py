"""One DataModule base for every classification data set.

It owns everything the workflow needs from data, so concrete data sets stay tiny:

* a seeded, stratified train/val/test split (``split_seed``, independent of the training seed);
* ``fraction``: a fixed, seeded, stratified subset of the *training* split (val/test untouched);
* ``overfit_batches``: a fixed set of training batches served again and again (no shuffling);
* in-memory tensors served as whole batches by tensor indexing, not item by item;
* ``augment``: a policy from ``configs/augment/`` (see ``augment.py``), training split only;
  in-memory tensors are augmented as whole batches after the transfer to the device;
* ``classes``: keep only some labels (a smaller task from the same data).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from . import augment as aug

SPLITS = ("train", "val", "test")


@dataclass
class LoadedData:
    """What a concrete data set provides: all items, their integer labels and the class names.

    ``inputs`` is an ``(N, C, H, W)`` float tensor for data that fits in memory (served as tensor
    batches), or a ``Dataset`` of ``(image, label)`` pairs otherwise.
    """

    inputs: torch.Tensor | Dataset
    targets: torch.Tensor
    class_names: list[str]


class TensorBatches(Dataset):
    """Items are whole batches: ``dataset[list_of_indices] -> (x[idx], y[idx])``."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.inputs, self.targets = inputs, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices)
        return self.inputs[index], self.targets[index]


class ItemSubset(Dataset):
    """Items ``indices`` of ``dataset``; with ``transform`` applied to each image."""

    def __init__(self, dataset: Dataset, indices: Sequence[int], transform=None) -> None:
        self.dataset, self.indices, self.transform = dataset, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        image, label = self.dataset[self.indices[i]]
        return (self.transform(image) if self.transform else image), label


class ClassificationDataModule(L.LightningDataModule):
    """Subclasses implement ``load()`` (and, for image files, ``item_transform``)."""

    name = "data"
    hflip_ok = False  # may images be mirrored? (not digits or text; photos usually yes)

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        fraction: float = 1.0,
        overfit_batches: int = 0,
        overfit_repeats: int = 50,
        augment: dict | bool | None = None,
        split_seed: int = 42,
        num_workers: int = 0,
        classes: list[int] | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"data.fraction must be in (0, 1], got {fraction}")
        if not (0.0 < val_fraction < 1.0 and 0.0 <= test_fraction < 1.0
                and val_fraction + test_fraction < 1.0):
            raise ValueError("data.val_fraction and data.test_fraction must be in (0, 1) "
                             f"and sum to < 1, got {val_fraction} and {test_fraction}")
        if batch_size < 1 or overfit_batches < 0:
            raise ValueError("data.batch_size must be >= 1 and data.overfit_batches >= 0")
        self.save_hyperparameters()  # plain values: the checkpoint can rebuild the same split
        self.batch_size = batch_size
        self.augment_policy = aug.policy(augment)
        self.indices: dict[str, list[int]] = {}
        self._loaded: LoadedData | None = None

    def config(self) -> dict:
        """Plain values that rebuild this data module (stored in checkpoints)."""
        cls = type(self)
        return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **dict(self.hparams)}

    # ---- what a concrete data set provides -------------------------------------------------
    def load(self) -> LoadedData:
        raise NotImplementedError

    def adopt_model_config(self, config: dict) -> None:
        """Take input size / normalization from the model (a zoo backbone's pretrained config).
        In-memory tensors keep their own per-channel standardization: grey digits have no
        ImageNet statistics, and the model resizes its input itself."""

    def item_transform(self, train: bool):
        """Per-item transform for ``Dataset`` inputs (image files); unused for tensors."""
        return None

    # ---- splitting ---------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._loaded is not None:
            return
        self._loaded = data = self.load()
        if self.hparams.classes is not None:
            self._loaded = data = keep_classes(data, list(self.hparams.classes))
        targets = data.targets
        if len(targets) != len(data.inputs):
            raise ValueError(f"{self.name}: {len(data.inputs)} inputs but {len(targets)} targets")
        self.indices = stratified_split(targets, self.hparams.val_fraction,
                                        self.hparams.test_fraction, self.hparams.split_seed)
        self.full_train_size = len(self.indices["train"])
        if isinstance(data.inputs, torch.Tensor):  # before the subset: every mode, one scale
            self._standardize(data.inputs)
        if self.hparams.fraction < 1.0:
            self.indices["train"] = stratified_subset(
                self.indices["train"], targets, self.hparams.fraction, self.hparams.split_seed)

    def _standardize(self, inputs: torch.Tensor) -> None:
        """Per-channel mean/std of the full training split (so every mode sees the same scale)."""
        train = inputs[torch.as_tensor(self.indices["train"])].float()
        dims = [0, *range(2, train.dim())]
        self.mean = train.mean(dim=dims, keepdim=True)[0]
        self.std = train.std(dim=dims, keepdim=True)[0].clamp_min(1e-6)
        self._loaded.inputs = (inputs.float() - self.mean) / self.std

    # ---- facts the model and the summary need ------------------------------------------------
    @property
    def loaded(self) -> LoadedData:
        if self._loaded is None:
            self.setup()
        return self._loaded

    @property
    def class_names(self) -> list[str]:
        return self.loaded.class_names

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> list[int]:
        first = self.loaded.inputs[0]
        image = first if isinstance(first, torch.Tensor) else self.item_transform(False)(first[0])
        return list(image.shape)

    def sizes(self) -> dict[str, int]:
        self.loaded  # noqa: B018 (make sure the split exists)
        return {split: len(self._split_indices(split)) for split in SPLITS}

    def majority_baseline(self) -> float:
        """Accuracy of always predicting the most frequent training class, on the val split."""
        targets = self.loaded.targets
        majority = torch.bincount(targets[torch.as_tensor(self.indices["train"])]).argmax()
        val = targets[torch.as_tensor(self.indices["val"])]
        return float((val == majority).float().mean())

    # ---- loaders -----------------------------------------------------------------------------
    def _split_indices(self, split: str) -> list[int]:
        """The items a split trains or evaluates on (in overfit mode: the fixed batches)."""
        if split == "train" and self.hparams.overfit_batches:
            return self._overfit_indices()
        return self.indices[split]

    def _overfit_indices(self) -> list[int]:
        """The first ``overfit_batches`` batches of a seeded shuffle of the training split."""
        generator = torch.Generator().manual_seed(self.hparams.split_seed)
        train = self.indices["train"]
        order = torch.randperm(len(train), generator=generator).tolist()
        count = min(len(train), self.hparams.overfit_batches * self.batch_size)
        return [train[i] for i in order[:count]]

    def overfit_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The fixed overfit batches, once each, as the model sees them."""
        return list(itertools.islice(self.train_dataloader(), self.hparams.overfit_batches))

    def train_dataloader(self) -> DataLoader:
        if self.hparams.overfit_batches:
            fixed = self._overfit_indices()
            batches = [fixed[i:i + self.batch_size] for i in range(0, len(fixed), self.batch_size)]
            # the same batches, in the same order, ``overfit_repeats`` times per epoch
            return self._loader(batches * self.hparams.overfit_repeats, batch_sampler=True)
        return self._loader(self.indices["train"], shuffle=True, augment=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.indices["val"])

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.indices["test"])

    def eval_dataloaders(self, splits=SPLITS) -> list[DataLoader]:
        """Loaders without shuffling or augmentation, to measure each split in eval mode."""
        return [self._loader(self._split_indices(split)) for split in splits]

    def _loader(self, indices, shuffle: bool = False, batch_sampler: bool = False,
                augment: bool = False) -> DataLoader:
        """``indices`` of items (or, with ``batch_sampler``, a list of fixed batches of them);
        ``augment``: per-item augmentation of image files (tensors: see on_after_batch_transfer)."""
        data = self.loaded
        if isinstance(data.inputs, torch.Tensor):
            if batch_sampler:  # indices is already a list of batches
                sampler = indices
            else:
                order = RandomSampler(indices) if shuffle else SequentialSampler(indices)
                sampler = _MappedBatchSampler(indices, order, self.batch_size)
            # batch_size=None: each sampled "item" is a whole batch of indices, fetched at once
            return DataLoader(TensorBatches(data.inputs, data.targets), sampler=sampler,
                              batch_size=None)
        transform = self.item_transform(train=augment)
        if batch_sampler:  # fixed batches, kept as they are (not re-chunked)
            everything = ItemSubset(data.inputs, range(len(data.targets)), transform)
            return DataLoader(everything, batch_sampler=indices,
                              num_workers=self.hparams.num_workers)
        dataset = ItemSubset(data.inputs, indices, transform)
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle,
                          num_workers=self.hparams.num_workers,
                          persistent_workers=self.hparams.num_workers > 0)

    # ---- augmentation ------------------------------------------------------------------------
    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        # (the model summary also sends its example input through here: a bare tensor)
        if (aug.is_active(self.augment_policy) and self.trainer is not None
                and self.trainer.training and isinstance(batch, (tuple, list))):
            inputs, targets = batch
            batch = (aug.batch_augment(inputs, self.augment_policy, self.hflip_ok), targets)
        return batch


class _MappedBatchSampler(BatchSampler):
    """Batches of ``indices`` in the order drawn by ``order`` (a sampler over positions)."""

    def __init__(self, indices: list[int], order, batch_size: int) -> None:
        super().__init__(order, batch_size, drop_last=False)
        self.positions = indices

    def __iter__(self):
        for batch in super().__iter__():
            yield [self.positions[i] for i in batch]


def keep_classes(data: LoadedData, classes: list[int]) -> LoadedData:
    """Only the items of ``classes`` (label numbers), relabelled 0..k-1 in the given order: a new
    task from the same data (the transfer demo pretrains on digits 0-4, fine-tunes on 5-9)."""
    unknown = [c for c in classes if not 0 <= c < len(data.class_names)]
    if unknown or not classes:
        last = len(data.class_names) - 1
        raise ValueError(f"data.classes={classes}: labels must be in 0..{last}")
    relabel = torch.full((len(data.class_names),), -1, dtype=torch.long)
    relabel[torch.as_tensor(classes)] = torch.arange(len(classes))
    keep = torch.nonzero(relabel[data.targets] >= 0).flatten()
    if not isinstance(data.inputs, torch.Tensor):
        raise ValueError("data.classes works for in-memory data sets; for image folders, point "
                         "data.root at a folder that holds only the classes you want")
    return LoadedData(data.inputs[keep], relabel[data.targets[keep]],
                      [data.class_names[c] for c in classes])


def stratified_split(targets: torch.Tensor, val_fraction: float, test_fraction: float,
                     seed: int) -> dict[str, list[int]]:
    """Seeded, stratified train/val/test indices."""
    labels = targets.numpy()
    everything = list(range(len(labels)))
    try:
        rest, test = (everything, []) if test_fraction == 0 else train_test_split(
            everything, test_size=test_fraction, stratify=labels, random_state=seed)
        train, val = train_test_split(rest, test_size=val_fraction / (1.0 - test_fraction),
                                      stratify=labels[rest], random_state=seed)
    except ValueError as error:  # sklearn's words are about its arguments, not about the data
        counts = np.bincount(labels)
        raise ValueError(
            f"{len(labels)} items in {len(counts)} classes (the smallest has {counts.min()}) "
            f"cannot be split into train/val/test with every class in each split "
            f"(data.val_fraction={val_fraction}, data.test_fraction={test_fraction}): add "
            f"images, or raise the fractions so that each split gets one item per class "
            f"({error})") from None
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}


def stratified_subset(indices: list[int], targets: torch.Tensor, fraction: float,
                      seed: int) -> list[int]:
    """A fixed, seeded subset of ``indices`` with the same class proportions (>= 1 per class)."""
    labels = targets[torch.as_tensor(indices)].numpy()
    num_classes = len(set(labels.tolist()))
    size = max(num_classes, math.ceil(fraction * len(indices)))
    if size >= len(indices):
        return list(indices)
    subset, _ = train_test_split(indices, train_size=size, stratify=labels, random_state=seed)
    return sorted(subset)
