"""Texts as files, one folder per label: IMDB's layout (``aclImdb``)::

    root/train/pos/0_9.txt     root/train/neg/1_1.txt     (root/train/unsup/ is ignored)
    root/test/pos/...          root/test/neg/...          (optional: the validation split)

Without a ``train`` folder, ``root/<label>/*.txt`` is read. When ``valid_folder`` (``test``)
exists next to ``train``, its texts form the val split and test is split, seeded, from the
training texts (as fastai's ``TextDataLoaders.from_folder(valid='test')`` uses IMDB). Each file
is named by its path under ``root``: the checkpoint keeps the split by these names.
"""

from pathlib import Path

from .text import Record, TextError, read_text_file


def folder_records(
    root: Path,
    train_folder: str,
    valid_folder: str | None,
    ignore_folders: list[str] | None,
    source: str,
) -> list[Record]:
    """Every .txt file of ``root``'s label folders, as records keyed by their path under
    ``root``; ``source`` names the data in messages."""
    if not root.is_dir():
        raise FileNotFoundError(f"data.root={root} is not a folder")
    ignore = set(ignore_folders if ignore_folders is not None else ["unsup"])
    train = root / train_folder
    base = train if train.is_dir() else root
    records = _folder(root, base, ignore, is_valid=False)
    valid = root / valid_folder if valid_folder else None
    if train.is_dir() and valid is not None and valid.is_dir():
        records += _folder(root, valid, ignore, is_valid=True)
    if not records:
        raise TextError(f"{source}: no .txt files in <label> folders under {base}")
    return records


def _folder(root: Path, base: Path, ignore: set[str], is_valid: bool) -> list[Record]:
    records = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name not in ignore):
        for file in sorted(folder.glob("*.txt")):
            text, problem = read_text_file(file)
            key = file.relative_to(root).as_posix()
            records.append(Record(key, text, folder.name, key, is_valid, problem))
    return records
