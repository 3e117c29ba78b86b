"""One DataModule base for every data set, whatever the task.

It owns everything the workflow needs from data, so concrete data sets stay tiny:

* a seeded train/val/test split (``split_seed``, independent of the training seed), stratified as
  the task declares (``stratify``: labels, label sets, quantile bins or none; see ``split.py``);
* ``fraction``: a fixed, seeded subset of the *training* split (val/test untouched);
* ``overfit_batches``: a fixed set of training batches served again and again (no shuffling);
* in-memory tensors served as whole batches by tensor indexing, not item by item;
* ``augment``: a policy from ``configs/augment/`` (see ``augment.py``), training split only;
  in-memory tensors are augmented as whole batches after the transfer to the device;
* ``classes``: keep only some labels (a smaller task from the same data, class targets only);
* ``decisions`` (the clean feature): the clean-data review's ``decisions.json`` (``clean.py
  step=apply`` on data without files of its own, read by ``decisions.py``): its items are dropped
  from every split and relabelled; the decisions are kept in the checkpoint, so eval and predict
  need no file;
* a stored split for files: data read from files names each item (``item_keys``: its path
  relative to the data's root); the checkpoint keeps which items each split held, and eval,
  predict and resume reuse exactly that assignment, however the folder changed since. Items that
  appeared since are left out of every split, items that disappeared are counted; both are
  reported (``split_changes`` in summary.json) instead of silently moving val/test items into
  training.

A concrete data set is a *source*: it says what its items and targets are (``load``) and which
kind of targets it has (``target_kind``, checked against the task's). What one item is (an image,
a table row, a text, a signal) is the *input*'s business: ``self.input``, built from the data
config's ``input:`` entry (``_target_`` + options; ``inputs/``) or the source's
``default_input``. The base asks it to learn its preprocessing on the training split (kept in the
checkpoint), to augment training batches, to read new items and to describe itself to a model
(``input_facts``); it never asks which kind it is.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import lightning as L
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from ..inputs.base import Input, InputFacts, build_input
from ..training.validate import ConfigError, without_clean
from . import augment as aug
from .split import DEFAULT_TEST_FRACTION, split_indices, subset, test_share

SPLITS = ("train", "val", "test")
log = logging.getLogger(__name__)


@dataclass
class LoadedData:
    """What a concrete data set provides: all items, their targets and the targets' names.

    ``inputs`` is an ``(N, ...)`` tensor for data that fits in memory (served as tensor batches),
    or a ``Dataset`` of ``(input, target)`` pairs otherwise. ``targets``: ``(N,)`` class indices,
    ``(N, L)`` multi-hot label sets, ``(N, K)`` numbers, ``(N, H, W)`` masks, ... as the task
    expects. ``target_names``: the class / label / target-column names. ``val_indices``: the
    data set's own validation items (e.g. a CSV's ``is_valid`` column), used as the val split;
    train and test are then split, seeded, from the other items. ``item_keys``: a stable name per
    item (a file's path relative to the data's root) for data that can change between runs:
    checkpoints keep the split by these names.
    """

    inputs: torch.Tensor | Dataset
    targets: torch.Tensor
    target_names: list[str]
    val_indices: list[int] | None = None
    item_keys: list[str] | None = None

    @property
    def class_names(self) -> list[str]:
        return self.target_names


class TensorBatches(Dataset):
    """Items are whole batches: ``dataset[list_of_indices] -> (x[idx], y[idx])``."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.inputs, self.targets = inputs, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices)
        return self.inputs[index], self.targets[index]


class FileItems(Dataset):
    """``(item as stored, target)`` pairs read from ``paths`` when asked for; ``load`` reads one
    file (the input's ``load_item``)."""

    def __init__(self, paths: list[str], targets: torch.Tensor, load) -> None:
        self.paths, self.targets, self.load = paths, targets, load

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        return self.load(self.paths[i]), self.targets[i]

    def subset(self, indices: Sequence[int]) -> FileItems:
        return FileItems([self.paths[i] for i in indices], self.targets[list(indices)], self.load)


class ItemSubset(Dataset):
    """Items ``indices`` of ``dataset``; with ``transform`` applied to each input."""

    def __init__(self, dataset: Dataset, indices: Sequence[int], transform=None) -> None:
        self.dataset, self.indices, self.transform = dataset, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        item, target = self.dataset[self.indices[i]]
        return (self.transform(item) if self.transform else item), target


class DataModule(L.LightningDataModule):
    """Subclasses implement ``load()`` and name their input kind (``default_input``, or the
    config's ``input:``)."""

    name = "data"
    target_kind = "class"  # what the targets are; the task says which kind it needs
    # the ``input:`` entry used when the config gives none (``inputs.base.input_spec``)
    default_input: ClassVar[dict | None] = None

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.15,
        test_fraction: float | None = None,
        fraction: float = 1.0,
        overfit_batches: int = 0,
        overfit_repeats: int = 50,
        augment: dict | bool | None = None,
        split_seed: int = 42,
        num_workers: int = 0,
        classes: list[int] | None = None,
        stratify: str = "labels",
        decisions: str | dict | None = None,
        folds: int = 0,
        fold: int | None = None,
        fold_seed: int = 0,
        group_by: str | None = None,
        input: dict | Input | None = None,
    ) -> None:
        super().__init__()
        self.decisions_source = decisions if isinstance(decisions, str) else "the checkpoint"
        if decisions:  # (the clean feature's; a checkpoint's too, validate_config sees no file)
            if problem := without_clean():
                raise ConfigError(problem)
            from .decisions import read_decisions

            decisions = read_decisions(decisions) if isinstance(decisions, str) else decisions
        if not 0.0 < fraction <= 1.0:
            raise ConfigError(f"data.fraction must be in (0, 1], got {fraction}")
        test = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
        if not (0.0 < val_fraction < 1.0 and 0.0 <= test < 1.0 and val_fraction + test < 1.0):
            raise ConfigError(
                "data.val_fraction and data.test_fraction must be in (0, 1) "
                f"and sum to < 1, got {val_fraction} and {test_fraction}"
            )
        if batch_size < 1 or overfit_batches < 0:
            raise ConfigError("data.batch_size must be >= 1 and data.overfit_batches >= 0")
        # plain values: the checkpoint can rebuild the same split (not logged: run.py logs the
        # whole config)
        self.save_hyperparameters(logger=False)
        self.hparams["decisions"] = decisions  # what the file said: eval and predict need no file
        # the input kind: the config's (a dict, or built already by hydra's recursive
        # instantiate), else the source's own; no kind at all: the contract's defaults
        spec = input or self.default_input
        self.input: Input = spec if isinstance(spec, Input) else build_input(spec or {})
        if isinstance(input, Input):
            self.hparams["input"] = input.spec()  # plain values in checkpoints
        self.batch_size = batch_size
        self.augment_policy = aug.policy(augment)
        self.indices: dict[str, list[int]] = {}
        self._loaded: LoadedData | None = None
        self._input_restored = False  # a checkpoint's input state: new items need no data
        self._stored_split: dict[str, list[str]] | None = None  # from a checkpoint
        self.split_changes: dict = {}  # items that appeared / disappeared since the checkpoint
        self._dropped: set[int] = set()  # items the clean-data decisions delete

    def config(self) -> dict:
        """Plain values that rebuild this data module (stored in checkpoints)."""
        cls = type(self)
        return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **dict(self.hparams)}

    # ---- what a concrete data set provides -------------------------------------------------
    def load(self) -> LoadedData:
        raise NotImplementedError

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        """Settings this data set takes from the model (a zoo backbone's input size and
        normalization), for the keys ``settings`` leaves unset: the input's options
        (``Input.settings_from_model``). Called before construction, so the data module never
        changes afterwards."""
        from hydra.utils import get_class

        spec = settings.get("input") or cls.default_input
        if not spec:
            return {}
        options = {k: v for k, v in spec.items() if k != "_target_"}
        chosen = get_class(spec["_target_"]).settings_from_model(options, model_config)
        return {"input": {**spec, **chosen}} if chosen else {}

    def reference_scores(self, task, splits: list[str]) -> dict | None:
        """A reference model to compare the network with, fitted on the same training items
        (e.g. gradient boosting for tables): ``{"name", "metric", <split>: score}`` with the
        task's score, or None (the default: no reference)."""
        return None

    def item_transform(self, train: bool):
        """Per-item transform for ``Dataset`` inputs (files); unused for tensors."""
        return self.input.item_transform(train, self.augment_policy)

    # ---- new inputs (predict.py, export) -----------------------------------------------------
    def read_input(self, path) -> torch.Tensor:
        """One input file (a path or a request body) as the model sees it, preprocessed like an
        evaluation item of this data (``Input.read_file``). Raises ``OSError``/``ValueError``
        (``InputError``) for a bad file."""
        self._input_ready()
        return self.input.read_file(path)

    def describe_input(self, index: int) -> str:
        """Item ``index`` as a person reads it in a review CSV ("" for items shown as pictures,
        or by their file path)."""
        inputs = self.loaded.inputs
        return self.input.describe_item(
            inputs.paths[index] if isinstance(inputs, FileItems) else inputs[index]
        )

    def read_items(
        self, inputs, column: str | None = None
    ) -> tuple[list[str], torch.Tensor, dict] | None:
        """New items that one input file holds (the rows of a table): (item names, model inputs,
        notes for the report). None: ``inputs`` names files, each one item read by
        ``read_input``. ``column``: the input's one column, named by the user (new texts). What
        ``inputs`` and the notes may be: ``Input.read_items`` (inputs/base.py)."""
        self._input_ready()
        return self.input.read_items(inputs, column)

    def preprocessing(self) -> dict:
        """How a raw item becomes the model's input, as plain values (the export's JSON)."""
        self._input_ready()
        return self.input.preprocessing()

    def restore_input_facts(self, facts: dict) -> None:
        """The item shape the model was built for (``inputs`` of the checkpoint), where the
        input learns it from the training items (in-memory images) rather than storing it."""
        if facts.get("shape") is not None and getattr(self.input, "shape", None) is None:
            self.input.shape = tuple(facts["shape"])

    def _input_ready(self) -> None:
        """What the input learnt on the training split, for new items: restored from a
        checkpoint (predict and serve need no training data), else learnt by setting up."""
        if not self._input_restored:
            self.loaded  # noqa: B018

    # ---- splitting ---------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._loaded is not None:
            return
        self._loaded = data = self.load()
        if self.hparams.classes is not None:
            self._loaded = data = keep_classes(data, list(self.hparams.classes))
        # the split (and folds) drawn on the labels as read: a relabelled item stays where it was,
        # so scores after a clean-data review compare with the run before it
        targets = data.targets.clone() if self.hparams.decisions else data.targets
        if self.hparams.decisions:
            from .decisions import apply_decisions

            self._dropped = apply_decisions(data, self.hparams.decisions, self.decisions_source)
        if len(targets) != len(data.inputs):
            raise ValueError(f"{self.name}: {len(data.inputs)} inputs but {len(targets)} targets")
        if data.item_keys is not None:
            data.item_keys = unique_names(data.item_keys)
        self.indices = split_indices(
            targets,
            self.hparams.stratify,
            self.hparams.val_fraction,
            self.hparams.test_fraction,
            self.hparams.split_seed,
            fixed_val=data.val_indices,
        )
        if self.hparams.folds:
            self.indices = self.fold_split(self.indices, targets)
        self._reuse_stored_split()
        self._prepare_inputs(data.inputs)

    def fold_split(
        self, indices: dict[str, list[int]], targets: torch.Tensor
    ) -> dict[str, list[int]]:
        """Cross-validation (``folds`` > 0): this fold's train and val items (data/folds.py, a
        file of the cv feature); a data module that builds its split in a ``setup`` of its own
        calls this too."""
        from .folds import fold_split

        return fold_split(self, indices, targets)

    def item_groups(self) -> dict[str, list]:
        """Groupings a cross-validation may keep together (``cv.group_by=<name>``): name -> one
        value per item (e.g. ratings: the user of each rating). None here."""
        return {}

    def _reuse_stored_split(self) -> None:
        """The split a checkpoint stored (by item name), where there is one; then the subset."""
        keys = self._loaded.item_keys
        if self._stored_split is not None and keys is not None:
            position = {key: i for i, key in enumerate(keys)}
            stored = {split: list(self._stored_split.get(split, [])) for split in SPLITS}
            self.indices = {
                split: sorted(position[key] for key in names if key in position)
                for split, names in stored.items()
            }
            known = {key for names in stored.values() for key in names}
            appeared = [key for key in keys if key not in known]
            gone = sorted(known - set(position))
            self.split_changes = (
                {
                    "appeared": len(appeared),
                    "disappeared": len(gone),
                    "appeared_examples": appeared[:5],
                    "disappeared_examples": gone[:5],
                }
                if appeared or gone
                else {}
            )
            if self.split_changes:
                log.warning(
                    "%s: the split is the checkpoint's; since then %d item(s) appeared "
                    "(left out of every split: %s) and %d disappeared (%s)",
                    self.name,
                    len(appeared),
                    ", ".join(appeared[:3]) or "-",
                    len(gone),
                    ", ".join(gone[:3]) or "-",
                )
        if self._dropped:  # deleted by the clean-data review: in no split
            self.indices = {
                split: [i for i in items if i not in self._dropped]
                for split, items in self.indices.items()
            }
        self._full_train = list(self.indices["train"])
        self.full_train_size = len(self._full_train)
        if self.hparams.fraction < 1.0:
            self.indices["train"] = subset(
                self.indices["train"],
                self._loaded.targets,
                self.hparams.stratify,
                self.hparams.fraction,
                self.hparams.split_seed,
            )

    # ---- the split in checkpoints (Lightning saves and restores a data module's state) ----------
    def state_dict(self) -> dict:
        """Which items each split holds, by name (data read from files only), and what the
        input learnt on the training split."""
        state = {"input": learnt} if (learnt := self.input.state_dict()) else {}
        keys = self._loaded.item_keys if self._loaded is not None else None
        if keys is None:
            return state
        full = {"train": self._full_train, "val": self.indices["val"], "test": self.indices["test"]}
        return {
            **state,
            "split_items": {split: [keys[i] for i in indices] for split, indices in full.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Use the stored split and the input's learnt preprocessing from now on (also when
        already set up: Lightning restores a resumed run's data module state after ``setup``)."""
        self.input.load_state_dict((state or {}).get("input") or {})
        self._input_restored = bool((state or {}).get("input"))
        self._stored_split = (state or {}).get("split_items")
        if self._loaded is not None and self._stored_split is not None:
            self._reuse_stored_split()

    def _prepare_inputs(self, inputs) -> None:
        """Called once the split is known: the input learns its preprocessing from the full
        training split, whatever ``fraction`` (so every mode sees the same inputs); in-memory
        items are then prepared once, files item by item (``item_transform``)."""
        train = self._full_train
        if isinstance(inputs, torch.Tensor):
            self.input.fit(inputs[torch.as_tensor(train, dtype=torch.long)])
            self._loaded.inputs = self.input.prepare(inputs)
        else:
            self.input.fit(inputs.subset(train) if isinstance(inputs, FileItems) else inputs)

    # ---- facts the model and the summary need ------------------------------------------------
    @property
    def loaded(self) -> LoadedData:
        if self._loaded is None:
            self.setup()
        return self._loaded

    @property
    def target_names(self) -> list[str]:
        return self.loaded.target_names

    @property
    def class_names(self) -> list[str]:  # (the same names, as classification calls them)
        return self.target_names

    def input_facts(self) -> InputFacts:
        """What a model needs to know about one item (the input's facts, after ``fit``)."""
        self.loaded  # noqa: B018 (facts are known once the input has seen the training split)
        return self.input.facts()

    @property
    def input_shape(self) -> list[int]:
        """One item's shape as the model sees it: the input's facts, else the first item's."""
        shape = self.input_facts().shape
        if shape is not None:
            return list(shape)
        first = self.loaded.inputs[0]
        item = first if isinstance(first, torch.Tensor) else self.item_transform(False)(first[0])
        return list(item.shape)

    def sizes(self) -> dict[str, int]:
        self.loaded  # noqa: B018 (make sure the split exists)
        return {split: len(self._split_indices(split)) for split in SPLITS}

    def split_targets(self, split: str, full: bool = False) -> torch.Tensor:
        """The targets of ``split`` (``full``: the whole training split, whatever the fraction:
        statistics such as target scaling use it, so every mode sees the same scale)."""
        indices = self._full_train if full and split == "train" else self.indices[split]
        return self.loaded.targets[torch.as_tensor(indices, dtype=torch.long)]

    def describe(self) -> dict:
        """The data section of summary.json."""
        return {
            "name": self.name,
            "target_kind": self.target_kind,
            "sizes": self.sizes(),
            "full_train_size": self.full_train_size,
            "fraction": self.hparams.fraction,
            "split": self.split_origin(),
            **({"decisions": self.decisions_applied()} if self.hparams.decisions else {}),
            "overfit_batches": self.hparams.overfit_batches,
            "targets": len(self.target_names),
            "input": self.input_facts().describe(),
            **self.input.describe(),
            "skipped_files": len(getattr(self, "skipped_files", [])),
            **({"split_changes": self.split_changes} if self.split_changes else {}),
            "notes": self.notes(),
        }

    def notes(self) -> list[str]:
        """What a person should know about how the data was read (one line each: the console
        prints them under the data line): a size chosen for them, a split they gave, ..."""
        notes = []
        if self.hparams.decisions:
            applied = self.decisions_applied()
            notes.append(
                f"clean-data decisions from {applied['file']}: {applied['dropped']} item(s) "
                f"dropped, {applied['relabelled']} relabelled"
            )
        notes += self.input.notes()
        origin = self.split_origin()
        if not origin["val_given"]:
            return notes
        test = (
            "no test split (data.test_fraction=0 by default when the validation split is "
            "given; set it to carve a test split out of the training items)"
            if origin["test_fraction"] == 0
            else f"test: {origin['test_fraction']} of the items, drawn from the others"
        )
        return [*notes, f"validation split given by the data ({self.val_source()}); {test}"]

    def decisions_applied(self) -> dict:
        decisions = self.hparams.decisions
        return {
            "file": self.decisions_source,
            "dropped": len(decisions["delete"]),
            "relabelled": len(decisions["relabel"]),
        }

    def split_origin(self) -> dict:
        """Where the split comes from: a validation split the data gives (a column, a list file,
        a folder layout) or seeded fractions; and the test fraction used."""
        given = self.loaded.val_indices is not None
        test = test_share(self.hparams.test_fraction, given_val=given)
        val = self.val_source() if given else "seeded"
        return {"val_given": given, "val": val, "test_fraction": test}

    def val_source(self) -> str:
        """How the data names its own validation items (a data set that can says so)."""
        return "the data set's own validation items"

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
            batches = [
                fixed[i : i + self.batch_size] for i in range(0, len(fixed), self.batch_size)
            ]
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

    def _loader(
        self, indices, shuffle: bool = False, batch_sampler: bool = False, augment: bool = False
    ) -> DataLoader:
        """``indices`` of items (or, with ``batch_sampler``, a list of fixed batches of them);
        ``augment``: per-item augmentation of items read from files (tensors: see
        ``on_after_batch_transfer``)."""
        data = self.loaded
        # a training batch of one item would stop any BatchNorm layer ("Expected more than 1
        # value per channel"): when the shuffled split leaves exactly one over, that one waits
        # for the next epoch (evaluation keeps every item)
        lone = shuffle and not batch_sampler and len(indices) % self.batch_size == 1
        if isinstance(data.inputs, torch.Tensor):
            if batch_sampler:  # indices is already a list of batches
                sampler = indices
            else:
                order = RandomSampler(indices) if shuffle else SequentialSampler(indices)
                sampler = _MappedBatchSampler(indices, order, self.batch_size, drop_last=lone)
            # batch_size=None: each sampled "item" is a whole batch of indices, fetched at once
            return DataLoader(
                TensorBatches(data.inputs, data.targets), sampler=sampler, batch_size=None
            )
        transform = self.item_transform(train=augment)
        pin = torch.cuda.is_available()  # worker batches reach a GPU faster from page-locked memory
        if batch_sampler:  # fixed batches, kept as they are (not re-chunked)
            everything = ItemSubset(data.inputs, range(len(data.targets)), transform)
            return DataLoader(
                everything,
                batch_sampler=indices,
                num_workers=self.hparams.num_workers,
                pin_memory=pin,
            )
        dataset = ItemSubset(data.inputs, indices, transform)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=lone,
            num_workers=self.hparams.num_workers,
            pin_memory=pin,
            persistent_workers=self.hparams.num_workers > 0,
        )

    # ---- augmentation ------------------------------------------------------------------------
    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Training batches augmented on the device by the input (in-memory tensors; items read
        from files are augmented in ``item_transform`` instead)."""
        # (the model summary also sends its example input through here: a bare tensor)
        if (
            aug.is_active(self.augment_policy)
            and self.trainer is not None
            and self.trainer.training
            and isinstance(batch, (tuple, list))
        ):
            inputs, targets = batch
            batch = tuple(self.input.augment_batch(inputs, targets, self.augment_policy))
        return batch


class _MappedBatchSampler(BatchSampler):
    """Batches of ``indices`` in the order drawn by ``order`` (a sampler over positions)."""

    def __init__(self, indices: list[int], order, batch_size: int, drop_last: bool = False) -> None:
        super().__init__(order, batch_size, drop_last=drop_last)
        self.positions = indices

    def __iter__(self):
        for batch in super().__iter__():
            yield [self.positions[i] for i in batch]


def require_classes(names: list[str], where: str) -> None:
    """Class targets need two classes or more (a single class leaves nothing to learn)."""
    if len(names) < 2:
        found = f"one class found ({names[0]})" if names else "no class found"
        raise ConfigError(f"{where}: {found}: a classifier needs two or more")


def first_problems(problems: list[str], shown: int = 5) -> str:
    """The first problems of a list on one line (a user error is one line; a log has them all)."""
    more = len(problems) - shown
    return "; ".join(problems[:shown]) + (f"; ... {more} more" if more > 0 else "")


def unique_names(names: list[str]) -> list[str]:
    """The names, a repeated one numbered from its second occurrence on (``a.jpg#2``): a CSV
    may list a file twice."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return unique


def keep_classes(data: LoadedData, classes: list[int]) -> LoadedData:
    """Only the items of ``classes`` (label numbers), relabelled 0..k-1 in the given order: a new
    task from the same data (the transfer demo pretrains on digits 0-4, fine-tunes on 5-9)."""
    if data.targets.dim() != 1 or data.targets.is_floating_point():
        raise ConfigError(
            "data.classes selects class labels: this data set's targets are not single class labels"
        )
    unknown = [c for c in classes if not 0 <= c < len(data.class_names)]
    if unknown or not classes:
        last = len(data.class_names) - 1
        raise ConfigError(f"data.classes={classes}: labels must be in 0..{last}")
    relabel = torch.full((len(data.class_names),), -1, dtype=torch.long)
    relabel[torch.as_tensor(classes)] = torch.arange(len(classes))
    keep = torch.nonzero(relabel[data.targets] >= 0).flatten()
    if not isinstance(data.inputs, torch.Tensor):
        raise ConfigError(
            "data.classes works for in-memory data sets; for folders of files, point "
            "data.root at a folder that holds only the classes you want"
        )
    return LoadedData(
        data.inputs[keep], relabel[data.targets[keep]], [data.class_names[c] for c in classes]
    )
