"""Texts as files, one folder per label: IMDB's layout (``aclImdb``)::

    root/train/pos/0_9.txt     root/train/neg/1_1.txt     (root/train/unsup/ is ignored)
    root/test/pos/...          root/test/neg/...          (optional: the validation split)

Without a ``train`` folder, ``root/<label>/*.txt`` is read. When ``valid_folder`` (``test``)
exists next to ``train``, its texts form the val split and test is split, seeded, from the
training texts (as fastai's ``TextDataLoaders.from_folder(valid='test')`` uses IMDB). Each file
is named by its path under ``root``: the checkpoint keeps the split by these names.
"""

from __future__ import annotations

from pathlib import Path

from .text import Record, TextDataModule, TextError, _read_text_file


class TextFolderDataModule(TextDataModule):
    name = "text_folder"

    def __init__(
        self,
        root: str,
        train_folder: str = "train",
        valid_folder: str | None = "test",
        ignore_folders: list[str] | None = None,
        **kwargs,
    ) -> None:
        kwargs["target_kind"] = "class"
        super().__init__(**kwargs)
        self.root = Path(str(root)).expanduser()

    def source(self) -> str:
        return f"data.root={self.root}"

    def val_source(self) -> str:
        return f"the {self.hparams.valid_folder}/ folder next to {self.hparams.train_folder}/"

    def records(self) -> list[Record]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"data.root={self.root} is not a folder")
        h = self.hparams
        ignore = set(h.ignore_folders if h.ignore_folders is not None else ["unsup"])
        train = self.root / h.train_folder
        base = train if train.is_dir() else self.root
        records = self._folder(base, ignore, is_valid=False)
        valid = self.root / h.valid_folder if h.valid_folder else None
        if train.is_dir() and valid is not None and valid.is_dir():
            records += self._folder(valid, ignore, is_valid=True)
        if not records:
            raise TextError(f"{self.source()}: no .txt files in <label> folders under {base}")
        return records

    def _folder(self, base: Path, ignore: set[str], is_valid: bool) -> list[Record]:
        records = []
        for folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name not in ignore):
            for file in sorted(folder.glob("*.txt")):
                text, _, _, _, problem = _read_text_file(file)
                key = file.relative_to(self.root).as_posix()
                records.append(Record(key, text, folder.name, key, is_valid, problem))
        return records
