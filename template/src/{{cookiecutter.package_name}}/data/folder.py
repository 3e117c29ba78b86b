"""Files in class folders: ``root/<class name>/<file>`` (torchvision's ImageFolder layout), for
any input kind read from files; images are one (``image_folder.py``), a new kind pairs with this
source in a yaml. A validation split of your own: a list file (``valid``) or the ``train_folder``
+ ``valid_folder`` layout (other folders are not read). Every file is checked before training: an
unreadable one is skipped and listed in ``skipped_files`` instead of killing a DataLoader worker.
"""

import logging
import os
from pathlib import Path

import torch

from ..training.validate import ConfigError
from .base import DataModule, FileItems, LoadedData, require_classes

log = logging.getLogger(__name__)


class FolderDataModule(DataModule):
    name = "folder"

    def __init__(
        self,
        root: str,
        valid: str | None = "valid.txt",
        train_folder: str = "train",
        valid_folder: str | None = "valid",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.root = Path(root).expanduser()
        self.skipped_files: list[str] = []  # unreadable files left out (see load())

    def load(self) -> LoadedData:
        from torchvision.datasets.folder import make_dataset  # heavy: only when this is used

        what, suffixes = self.input.item_name, self.input.suffixes
        example = f"1{suffixes[0]}" if suffixes else "1"
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"data.root={self.root} is not a folder. Expected one sub-folder per class, "
                f"e.g. data.root=$HOME/pets with $HOME/pets/cat/{example}, $HOME/pets/dog/..."
            )
        layout = self._train_valid_layout()
        base = layout[0] if layout else self.root
        classes = sorted(d.name for d in base.iterdir() if d.is_dir())
        if not classes:  # the most common mistake: every item in the folder itself
            loose = sum(1 for f in base.iterdir() if f.suffix.lower() in suffixes)
            raise FileNotFoundError(
                f"{base} has no class sub-folders ({loose} {what}(s) in the folder itself): "
                f"put each class's {what}s in a sub-folder named after it, e.g. "
                f"{base}/cat/{example}, {base}/dog/..."
            )
        class_to_idx = {name: i for i, name in enumerate(classes)}
        samples = make_dataset(str(base), class_to_idx, suffixes, allow_empty=True)
        self._reject_empty_classes(base, samples, classes)
        if layout:  # the valid/ items join the samples, by class name
            valid = layout[1]
            folders = {d.name for d in valid.iterdir() if d.is_dir()}
            if unknown := sorted(folders - set(classes)):
                raise ConfigError(
                    f"{valid}: class folder(s) {unknown} are not in {base} (its classes: "
                    f"{classes}): a validation class must also be trained on"
                )
            samples += make_dataset(str(valid), class_to_idx, suffixes, allow_empty=True)
        if not samples:
            raise FileNotFoundError(f"no {what}s found under {self.root}")
        readable = self.input.check_files([path for path, _ in samples])
        self.skipped_files = skipped = [path for path, _ in samples if not readable[path]]
        if skipped:
            samples = [(path, label) for path, label in samples if readable[path]]
            more = ", ..." if len(skipped) > 5 else ""
            log.warning(
                f"{len(skipped)} unreadable {what} file(s) skipped (corrupt, cut short or empty): "
                f"{', '.join(skipped[:5])}{more}"
            )
            self._reject_empty_classes(self.root, samples, classes)
        require_classes(classes, f"data.root={self.root}")
        self.paths = [path for path, _ in samples]
        keys = [Path(os.path.relpath(path, self.root)).as_posix() for path in self.paths]
        if layout:
            inside = f"{Path(os.path.relpath(layout[1], self.root)).as_posix()}/"
            val = [i for i, key in enumerate(keys) if key.startswith(inside)]
        else:
            val = self._listed_valid(keys)
        targets = torch.tensor([label for _, label in samples], dtype=torch.long)
        items = FileItems(self.paths, targets, self.input.load_item)
        return LoadedData(items, targets, classes, val_indices=val, item_keys=keys)

    def _reject_empty_classes(self, root: Path, samples: list[tuple[str, int]], classes) -> None:
        found = {classes[label] for _, label in samples}
        if empty := [name for name in classes if name not in found]:
            what = self.input.item_name
            folders = ", ".join(str(root / name) for name in empty)
            raise FileNotFoundError(
                f"class folder(s) without readable {what}s: {folders}. Remove the folder(s) or "
                f"add {what}s ({', '.join(sorted(self.input.suffixes))})"
            )
{%- if "clean" in cookiecutter.__features.split(",") %}

    def class_folders(self) -> list[Path]:
        """The folders whose sub-folders are the classes, as ``load`` reads them: root, or its
        train and valid folders (clean.py moves a relabelled file to this level, not above it)."""
        return list(self._train_valid_layout() or [self.root])
{%- endif %}

    def _train_valid_layout(self) -> tuple[Path, Path] | None:
        """(train folder, valid folder) when root holds both, else None (classes under root)."""
        h = self.hparams
        train = self.root / h.train_folder
        valid = self.root / h.valid_folder if h.valid_folder else None
        return (train, valid) if train.is_dir() and valid is not None and valid.is_dir() else None

    def _listed_valid(self, keys: list[str]) -> list[int] | None:
        """The items the list file ``valid`` names; None without such a file."""
        valid = self.hparams.valid
        listing = self.root / Path(valid).expanduser() if valid else None  # (absolute: as is)
        if listing is None or not listing.is_file():
            return None
        position = {key: i for i, key in enumerate(keys)}
        lines = listing.read_text(encoding="utf-8-sig").splitlines()
        names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        wanted = [_under(name, self.root) for name in names]
        missing = [name for name, key in zip(names, wanted, strict=True) if key not in position]
        what = self.input.item_name
        if missing and len(missing) == len(names):
            raise ConfigError(
                f"{listing} names {len(names)} validation {what}(s), none of them under "
                f"data.root={self.root} (first: {names[0]}): one path per line, relative to "
                "data.root (cat/12.jpg)"
            )
        if missing:
            log.warning(
                f"{listing}: {len(missing)} listed validation {what}(s) not found or unreadable, "
                f"left out: {', '.join(missing[:5])}"
            )
        return sorted({position[key] for key in wanted if key in position})

    def val_source(self) -> str:
        if layout := self._train_valid_layout():
            return f"the {layout[1].name}/ folder next to {layout[0].name}/"
        return f"the list {self.hparams.valid}"


def _under(name: str, root: Path) -> str:
    """A listed path as an item key: relative to ``root`` (absolute paths under it too)."""
    path = Path(name).expanduser()
    return Path(os.path.relpath(path, root) if path.is_absolute() else path).as_posix()
