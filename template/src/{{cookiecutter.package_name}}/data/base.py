"""One DataModule base for every data set: it owns the seeded split, the ``fraction``, the
overfit batches, augmentation and ``classes``; a data set only loads its items (``load``). File
data names each item (``item_keys``): a checkpoint keeps the split by name, so new items are left
out and gone ones counted (``split_changes``) rather than val/test items moving into training."""

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
    inputs: torch.Tensor | Dataset  # an (N, ...) tensor, or a Dataset of (input, target)
    targets: torch.Tensor
    target_names: list[str]
    val_indices: list[int] | None = None  # the data set's own validation items
    item_keys: list[str] | None = None  # stable names (paths under the root): data can change


class FileItems(Dataset):
    """``(item as stored, target)`` pairs, each file read by ``load`` when asked for."""

    def __init__(self, paths: list[str], targets: torch.Tensor, load) -> None:
        self.paths, self.targets, self.load = paths, targets, load

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        return self.load(self.paths[i]), self.targets[i]

    def subset(self, indices: Sequence[int]) -> "FileItems":
        return FileItems([self.paths[i] for i in indices], self.targets[list(indices)], self.load)


class ItemSubset(Dataset):
    def __init__(self, dataset: Dataset, indices: Sequence[int], transform) -> None:
        self.dataset, self.indices, self.transform = dataset, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        item, target = self.dataset[self.indices[i]]
        return (self.transform(item) if self.transform else item), target


class DataModule(L.LightningDataModule):
    """Subclasses implement ``load()`` and name their input (``default_input`` or ``input:``)."""

    name = "data"
    target_kind = "class"  # what the targets are; the task says which kind it needs
    default_input: ClassVar[dict | None] = None  # the ``input:`` entry when the config has none

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
        folds: int = 0,  # cross-validation (the cv feature): 0, none
{%- if "cv" in cookiecutter.__features.split(",") %}
        fold: int | None = None,
        fold_seed: int = 0,
        group_by: str | None = None,
{%- endif %}
        input: dict | Input | None = None,
    ) -> None:
        super().__init__()
        # (a checkpoint's decisions too: validate_config sees no file)
        if decisions and (problem := without_clean()):
            raise ConfigError(problem)
{%- if "cv" not in cookiecutter.__features.split(",") %}
        if folds:  # (set by cv=kfold: by hand, here, it would be silently ignored)
            from ..training.errors import comes_with

            raise ConfigError(comes_with("data.folds", "features", "cv"))
{%- endif %}
{%- if "clean" in cookiecutter.__features.split(",") %}
        self.decisions_source = decisions if isinstance(decisions, str) else "the checkpoint"
        if decisions:
            from .decisions import read_decisions

            decisions = read_decisions(decisions) if isinstance(decisions, str) else decisions
{%- endif %}
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
        # plain values, so a checkpoint rebuilds the same split (run.py logs the whole config)
        self.save_hyperparameters(logger=False)
{%- if "clean" in cookiecutter.__features.split(",") %}
        self.hparams["decisions"] = decisions  # what the file said: eval and predict need no file
{%- endif %}
        # the config's input (a dict, or built by hydra's recursive instantiate), else the source's
        spec = input or self.default_input
        self.input: Input = spec if isinstance(spec, Input) else build_input(spec or {})
        if isinstance(input, Input):
            self.hparams["input"] = input.spec()  # plain values in checkpoints
        self.batch_size = batch_size
        self.augment_policy = aug.policy(augment)
        self.indices: dict[str, list[int]] = {}
        self._loaded: LoadedData | None = None
{%- if "deploy" in cookiecutter.__features.split(",") %}
        self._input_restored = False  # a checkpoint's input state: new items need no data
{%- endif %}
        self._stored_split: dict[str, list[str]] | None = None  # from a checkpoint
        self.split_changes: dict = {}  # items that appeared / disappeared since the checkpoint
{%- if "clean" in cookiecutter.__features.split(",") %}
        self._dropped: set[int] = set()  # items the clean-data decisions delete
{%- endif %}

    def config(self) -> dict:  # plain values that rebuild this data module (in checkpoints)
        cls = type(self)
        return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **dict(self.hparams)}

    def load(self) -> LoadedData:
        raise NotImplementedError

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        """The input's options left unset, from the model (a zoo backbone's input size,
        normalization): called before construction, so the module never changes after."""
        from hydra.utils import get_class

        spec = settings.get("input") or cls.default_input
        if not spec:
            return {}
        options = {k: v for k, v in spec.items() if k != "_target_"}
        chosen = get_class(spec["_target_"]).settings_from_model(options, model_config)
        return {"input": {**spec, **chosen}} if chosen else {}

    def reference_scores(self, task, splits: list[str]) -> dict | None:
        """A reference model on the same training items: ``{"name", "metric", <split>: score}``."""
        return None

    def item_transform(self, train: bool):  # per item, for files (tensors: whole batches)
        return self.input.item_transform(train, self.augment_policy)

    def describe_input(self, index: int) -> str:
        """Item ``index`` as a person reads it in a review CSV ("" for pictures and files)."""
        inputs = self.loaded.inputs
        item = inputs.paths[index] if isinstance(inputs, FileItems) else inputs[index]
        return self.input.describe_item(item)
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def restore_input_facts(self, facts: dict) -> None:
        """The item shape the model was built for (the checkpoint's ``inputs``), where the input
        learns it from the training items rather than storing it."""
        if facts.get("shape") is not None and getattr(self.input, "shape", None) is None:
            self.input.shape = tuple(facts["shape"])

    # ---- new inputs (predict.py, export) ---------------------------------------------------------
    def read_input(self, path) -> torch.Tensor:
        """One input file (a path or a request body) preprocessed like an evaluation item;
        ``OSError``/``ValueError`` (``InputError``) for a bad file."""
        self._input_ready()
        return self.input.read_file(path)

    def read_items(
        self, inputs, column: str | None = None
    ) -> tuple[list[str], torch.Tensor, dict] | None:
        """New items that one input file holds (a table's rows): see ``Input.read_items``."""
        self._input_ready()
        return self.input.read_items(inputs, column)

    def preprocessing(self) -> dict:  # (``Input.preprocessing``)
        self._input_ready()
        return self.input.preprocessing()

    def _input_ready(self) -> None:
        # restored from a checkpoint (predict and serve need no training data), else learnt
        if not self._input_restored:
            self.loaded  # noqa: B018
{%- endif %}

    # ---- splitting -------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._loaded is not None:
            return
        self._loaded = data = self.load()
        h = self.hparams
        if h.classes is not None:
            self._loaded = data = keep_classes(data, list(h.classes))
{%- if "clean" in cookiecutter.__features.split(",") %}
        # split on the labels as read: a relabelled item stays where it was, so scores after a
        # clean-data review compare with the run before it
        targets = data.targets.clone() if h.decisions else data.targets
        if h.decisions:
            from .decisions import apply_decisions

            self._dropped = apply_decisions(data, h.decisions, self.decisions_source)
{%- else %}
        targets = data.targets
{%- endif %}
        if len(targets) != len(data.inputs):
            raise ValueError(f"{self.name}: {len(data.inputs)} inputs but {len(targets)} targets")
        if data.item_keys is not None:
            data.item_keys = unique_names(data.item_keys)
        self.indices = split_indices(
            targets, h.stratify, h.val_fraction, h.test_fraction, h.split_seed, data.val_indices
        )
{%- if "cv" in cookiecutter.__features.split(",") %}
        if h.folds:
            self.indices = self.fold_split(self.indices, targets)
{%- endif %}
        self._reuse_stored_split()
        self._prepare_inputs(data.inputs)
{%- if "cv" in cookiecutter.__features.split(",") %}

    def fold_split(
        self, indices: dict[str, list[int]], targets: torch.Tensor
    ) -> dict[str, list[int]]:
        """This cross-validation fold's train and val items (data/folds.py, the cv feature's);
        a data module with a ``setup`` of its own calls this too."""
        from .folds import fold_split

        return fold_split(self, indices, targets)

    def item_groups(self) -> dict[str, list]:
        """Groupings a cross-validation may keep together (``cv.group_by=<name>``): name -> one
        value per item (e.g. ratings: the user of each rating). None here."""
        return {}
{%- endif %}

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
            counts = {"appeared": len(appeared), "disappeared": len(gone)}
            examples = {"appeared_examples": appeared[:5], "disappeared_examples": gone[:5]}
            self.split_changes = {**counts, **examples} if appeared or gone else {}
            if appeared or gone:
                log.warning(
                    f"{self.name}: the split is the checkpoint's; since then {len(appeared)} "
                    f"item(s) appeared (left out of every split: {', '.join(appeared[:3]) or '-'}) "
                    f"and {len(gone)} disappeared ({', '.join(gone[:3]) or '-'})"
                )
{%- if "clean" in cookiecutter.__features.split(",") %}
        if self._dropped:  # deleted by the clean-data review: in no split
            self.indices = {
                split: [i for i in items if i not in self._dropped]
                for split, items in self.indices.items()
            }
{%- endif %}
        self._full_train = train = list(self.indices["train"])
        self.full_train_size = len(train)
        h, targets = self.hparams, self._loaded.targets
        if h.fraction < 1.0:
            self.indices["train"] = subset(train, targets, h.stratify, h.fraction, h.split_seed)

    # ---- the split in checkpoints (Lightning saves and restores a data module's state) ---------
    def state_dict(self) -> dict:
        """Which items each split holds, by name (file data only), and what the input learnt."""
        state = {"input": learnt} if (learnt := self.input.state_dict()) else {}
        if self._loaded is not None and (keys := self._loaded.item_keys) is not None:
            full = {**self.indices, "train": self._full_train}
            state["split_items"] = {split: [keys[i] for i in full[split]] for split in SPLITS}
        return state

    def load_state_dict(self, state: dict) -> None:
        # also when set up already: Lightning restores a resumed run's state after ``setup``
        self.input.load_state_dict(state.get("input") or {})
{%- if "deploy" in cookiecutter.__features.split(",") %}
        self._input_restored = bool(state.get("input"))
{%- endif %}
        self._stored_split = state.get("split_items")
        if self._loaded is not None and self._stored_split is not None:
            self._reuse_stored_split()

    def _prepare_inputs(self, inputs) -> None:
        # the input learns from the full training split whatever the fraction (every mode sees
        # the same inputs); tensors are prepared once, files item by item (``item_transform``)
        train = self._full_train
        if isinstance(inputs, torch.Tensor):
            self.input.fit(inputs[torch.as_tensor(train, dtype=torch.long)])
            self._loaded.inputs = self.input.prepare(inputs)
        else:
            self.input.fit(inputs.subset(train) if isinstance(inputs, FileItems) else inputs)

    # ---- facts the model and the summary need ----------------------------------------------------
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
        self.loaded  # noqa: B018 (facts are known once the input has seen the training split)
        return self.input.facts()

    @property
    def input_shape(self) -> list[int]:
        if (shape := self.input_facts().shape) is not None:
            return list(shape)
        first = self.loaded.inputs[0]
        item = first if isinstance(first, torch.Tensor) else self.item_transform(False)(first[0])
        return list(item.shape)

    def sizes(self) -> dict[str, int]:
        self.loaded  # noqa: B018 (make sure the split exists)
        return {split: len(self._split_indices(split)) for split in SPLITS}

    def split_targets(self, split: str, full: bool = False) -> torch.Tensor:
        """``full``: the whole training split whatever the fraction, for statistics such as
        target scaling (every mode sees the same scale)."""
        indices = self._full_train if full and split == "train" else self.indices[split]
        return self.loaded.targets[torch.as_tensor(indices, dtype=torch.long)]

    def describe(self) -> dict:  # summary.json's data section
        h = self.hparams
        return {
            "name": self.name,
            "target_kind": self.target_kind,
            "sizes": self.sizes(),
            "full_train_size": self.full_train_size,
            "fraction": h.fraction,
            "split": self.split_origin(),
{%- if "clean" in cookiecutter.__features.split(",") %}
            **({"decisions": self.decisions_applied()} if h.decisions else {}),
{%- endif %}
            "overfit_batches": h.overfit_batches,
            "targets": len(self.target_names),
            "input": self.input_facts().describe(),
            **self.input.describe(),
            "skipped_files": len(getattr(self, "skipped_files", [])),
            **({"split_changes": self.split_changes} if self.split_changes else {}),
            "notes": self.notes(),
        }

    def notes(self) -> list[str]:
        """What a person should know about how the data was read, one line each."""
        notes = self.input.notes()
{%- if "clean" in cookiecutter.__features.split(",") %}
        if self.hparams.decisions:
            applied = self.decisions_applied()
            decided = (
                f"clean-data decisions from {applied['file']}: {applied['dropped']} item(s) "
                f"dropped, {applied['relabelled']} relabelled"
            )
            notes = [decided, *notes]
{%- endif %}
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

{%- if "clean" in cookiecutter.__features.split(",") %}

    def decisions_applied(self) -> dict:
        decisions = self.hparams.decisions
        return {
            "file": self.decisions_source,
            "dropped": len(decisions["delete"]),
            "relabelled": len(decisions["relabel"]),
        }
{%- endif %}

    def split_origin(self) -> dict:
        given = self.loaded.val_indices is not None
        test = test_share(self.hparams.test_fraction, given_val=given)
        val = self.val_source() if given else "seeded"
        return {"val_given": given, "val": val, "test_fraction": test}

    def val_source(self) -> str:  # (a data set that can says where its own split comes from)
        return "the data set's own validation items"

    # ---- loaders ---------------------------------------------------------------------------------
    def _split_indices(self, split: str) -> list[int]:
        """The items a split trains or evaluates on (in overfit mode: the fixed batches)."""
        if split == "train" and self.hparams.overfit_batches:
            return self._overfit_indices()
        return self.indices[split]

    def _overfit_indices(self) -> list[int]:
        """The first ``overfit_batches`` batches of a seeded shuffle of the training split."""
        train, count = self.indices["train"], self.hparams.overfit_batches * self.batch_size
        generator = torch.Generator().manual_seed(self.hparams.split_seed)
        return [train[i] for i in torch.randperm(len(train), generator=generator)[:count].tolist()]

    def overfit_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The fixed overfit batches, once each, as the model sees them."""
        return list(itertools.islice(self.train_dataloader(), self.hparams.overfit_batches))

    def train_dataloader(self) -> DataLoader:
        if self.hparams.overfit_batches:
            fixed, size = self._overfit_indices(), self.batch_size
            batches = [fixed[i : i + size] for i in range(0, len(fixed), size)]
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

    def _loader(self, indices, shuffle=False, batch_sampler=False, augment=False) -> DataLoader:
        """``indices`` of items (``batch_sampler``: a list of fixed batches of them); ``augment``:
        per-item augmentation of files (tensors: ``on_after_batch_transfer``)."""
        data = self.loaded
        # a training batch of one item stops any BatchNorm layer ("Expected more than 1 value per
        # channel"): a lone item left over by the shuffled split waits for the next epoch
        lone = shuffle and not batch_sampler and len(indices) % self.batch_size == 1
        if isinstance(data.inputs, torch.Tensor):
            sampler = indices  # with ``batch_sampler``: already a list of batches
            if not batch_sampler:
                order = RandomSampler(indices) if shuffle else SequentialSampler(indices)
                sampler = _MappedBatchSampler(indices, order, self.batch_size, drop_last=lone)
            # batch_size=None: each sampled "item" is a whole batch of indices, fetched at once
            batches = torch.utils.data.TensorDataset(data.inputs, data.targets)
            return DataLoader(batches, sampler=sampler, batch_size=None)
        transform, workers = self.item_transform(train=augment), self.hparams.num_workers
        # page-locked memory: worker batches reach a GPU faster
        options = {"num_workers": workers, "pin_memory": torch.cuda.is_available()}
        if batch_sampler:  # fixed batches, kept as they are (not re-chunked)
            everything = ItemSubset(data.inputs, range(len(data.targets)), transform)
            return DataLoader(everything, batch_sampler=indices, **options)
        items = ItemSubset(data.inputs, indices, transform)
        options |= {"shuffle": shuffle, "drop_last": lone, "persistent_workers": workers > 0}
        return DataLoader(items, batch_size=self.batch_size, **options)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Training batches of tensors augmented on the device by the input (files: per item, in
        ``item_transform``). The model summary sends a bare tensor through here too."""
        training = self.trainer is not None and self.trainer.training
        if aug.is_active(self.augment_policy) and training and isinstance(batch, (tuple, list)):
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
    if len(names) < 2:
        found = f"one class found ({names[0]})" if names else "no class found"
        raise ConfigError(f"{where}: {found}: a classifier needs two or more")
{%- if cookiecutter.__tasks.split(",") | select("in", ["multilabel", "regression", "segmentation"]) | list or "clean" in cookiecutter.__features.split(",") %}


def first_problems(problems: list[str], shown: int = 5) -> str:
    """The first problems on one line (a user error is one line; a log has them all)."""
    more = len(problems) - shown
    return "; ".join(problems[:shown]) + (f"; ... {more} more" if more > 0 else "")
{%- endif %}


def unique_names(names: list[str]) -> list[str]:
    """A repeated name numbered from its second on (``a.jpg#2``): a CSV may list a file twice."""
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
    names = data.target_names
    if not classes or any(not 0 <= c < len(names) for c in classes):
        raise ConfigError(f"data.classes={classes}: labels must be in 0..{len(names) - 1}")
    relabel = torch.full((len(names),), -1, dtype=torch.long)
    relabel[torch.as_tensor(classes)] = torch.arange(len(classes))
    keep = torch.nonzero(relabel[data.targets] >= 0).flatten()
    if not isinstance(data.inputs, torch.Tensor):
        raise ConfigError(
            "data.classes works for in-memory data sets; for folders of files, point "
            "data.root at a folder that holds only the classes you want"
        )
    return LoadedData(data.inputs[keep], relabel[data.targets[keep]], [names[c] for c in classes])
