"""Clean the data with the model, in two steps with a person in between.

1. ``find``: the trained model ranks the train and val items that look wrong; the task says which
   and why (classification: the highest losses, confident predictions that disagree with the
   label, correct but unsure predictions). They go into ``suspicious.csv`` with ``action=keep``;
   a person edits each row to ``keep``, ``delete`` or ``relabel`` (with ``new_label``).
2. ``apply``: for data with files, ``delete`` moves the file (and a segmentation image's mask)
   to a quarantine folder; for class folders (``image_folder``) ``relabel`` moves it into the new
   class's folder beside its own, where the data reads classes (``root/<class>/``; for a
   train/ + valid/ layout ``root/train/<class>/`` or ``root/valid/<class>/``). Other file data
   takes its labels from a CSV or masks: a relabel row is refused, edit the labels there.
   Nothing is deleted: every move is logged (JSON lines) and ``undo`` moves everything back
   (every move is checked before any is made; an undo that stopped can be run again; no path
   outside the data root is followed). Data without files of its own (digits, a table, texts)
   gets ``decisions.json``: the items to drop and to relabel, by index, which a retraining run
   applies with ``data.decisions=<file>`` (``undo`` renames it, so it is applied no more).
"""

import csv
import json
import os
import re
import shutil
import time
from pathlib import Path

from ..data.base import first_problems
from ..data.folder import FolderDataModule
from ..training.validate import ConfigError
from .predict import predict

ACTIONS = ("keep", "delete", "relabel")
# first and last columns of the review CSV; the task's own columns (probabilities, errors, ...)
# go in between
FIRST = ["split", "index", "path", "label", "prediction"]
LAST = ["loss", "reasons", "action", "new_label"]
META_FILE = "suspicious.json"
LOG_POINTER = "applied.json"


# ---- step 1: find ------------------------------------------------------------------------------
def find_suspicious(
    module, datamodule, splits=("train", "val"), top_k: int = 20, **options
) -> list[dict]:
    """Rows for the review CSV, highest loss first; the task says which items and why
    (``reasons``); ``options`` are the task's thresholds (e.g. ``confident``, ``unsure``)."""
    rows, report = [], module.report()
    masks = getattr(datamodule, "mask_paths", None)  # segmentation: deleted with its image
    for split in splits:
        p = predict(module, datamodule, split)
        for row in report.suspicious(p, top_k, **options):
            i = row.pop("item")
            described = datamodule.describe_input(p.indices[i])  # e.g. a table row's values
            rows.append(
                {
                    "split": split,
                    "index": p.indices[i],
                    "path": p.paths[i] or "",
                    **row,
                    **({"input": described} if described else {}),
                    **({"mask": masks[p.indices[i]]} if masks else {}),
                    "action": "keep",
                    "new_label": "",
                }
            )
    return sorted(rows, key=lambda row: -row["loss"])


def write_review(rows: list[dict], folder: str | Path, datamodule, checkpoint: str) -> Path:
    """``suspicious.csv`` to edit, and ``suspicious.json`` (data root, classes) for ``apply``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suspicious.csv"
    middle = [k for row in rows for k in row if k not in FIRST + LAST]
    columns = FIRST + list(dict.fromkeys(middle)) + LAST
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    root = getattr(datamodule, "root", None)
    refused = _relabel_refusal(datamodule)
    meta = {
        "root": str(root) if root else None,
        "class_names": list(datamodule.class_names),
        "checkpoint": str(checkpoint),
        "items": len(rows),
        "data": {"name": datamodule.name, "items": len(datamodule.loaded.targets)},
        # a model trained on earlier decisions (data.decisions=): the new ones add to them
        "earlier_decisions": datamodule.hparams.get("decisions"),
        "relabel_refused": refused,  # None: relabel rows can be applied
        # where class folders are (relative to root): a relabelled file moves at that level
        "class_folders": None if refused else _class_folders(datamodule),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


# ---- step 2: apply (and undo) ------------------------------------------------------------------
def read_decisions(csv_path: str | Path) -> tuple[list[dict], dict]:
    """Edited rows (validated) and the metadata written next to them."""
    csv_path = Path(csv_path)
    meta_path = csv_path.parent / META_FILE
    if not csv_path.is_file() or not meta_path.is_file():
        missing = "no such file" if not csv_path.is_file() else f"no {META_FILE} next to it"
        raise ConfigError(
            f"csv={csv_path}: {missing} (give the suspicious.csv that step=find wrote, edited)"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    with csv_path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    problems, relabelled, names = [], [], meta["class_names"]
    refused = meta.get("relabel_refused")
    for number, row in enumerate(rows, start=2):  # line numbers as a spreadsheet shows them
        action = (row.get("action") or "keep").strip().lower()
        row["action"] = action
        new_label = (row.get("new_label") or "").strip()
        if action not in ACTIONS:
            problems.append(f"line {number}: action '{action}' (use {', '.join(ACTIONS)})")
        elif action == "relabel":
            relabelled.append(str(number))
        if action != "relabel" or refused or new_label in names:
            continue
        several = [part for part in re.split(r"[;,|\s]+", new_label) if part]
        if len(several) > 1 and set(several) <= set(names):
            problems.append(
                f"line {number}: new_label '{new_label}' names several classes: relabel gives "
                "an item one class"
            )
        else:
            problems.append(
                f"line {number}: new_label '{new_label}' is not a class ({', '.join(names)})"
            )
    if refused and relabelled:  # before any file moves: a moved file would keep its labels
        problems.insert(0, f"relabel on line {', '.join(relabelled)}: {refused}")
    if problems:
        raise ConfigError(
            f"{csv_path} has invalid rows, nothing was changed: {first_problems(problems)}"
        )
    return rows, meta


def apply_decisions(csv_path: str | Path, quarantine: str | Path | None = None) -> dict:
    """Carry out the ``delete``/``relabel`` rows; returns what was done (and where the log is)."""
    csv_path = Path(csv_path)
    rows, meta = read_decisions(csv_path)
    todo = [row for row in rows if row["action"] != "keep"]
    if not todo:
        return {"moved": 0, "note": f"nothing to do: every row of {csv_path} says keep"}
    if meta["root"] is None:
        return _write_indices(todo, csv_path, meta)
    root = Path(meta["root"]).resolve()
    quarantine = Path(quarantine) if quarantine else _quarantine_of(root)
    empty = [
        f"line {number}"
        for number, row in enumerate(rows, start=2)
        if row["action"] != "keep" and not (row.get("path") or "").strip()
    ]
    if empty:  # Path("") is the working folder: say what is wrong instead
        raise ConfigError(
            f"{csv_path}: the path of {', '.join(empty[:5])} is empty (a file to move is "
            "needed; a review written before this data had item paths? run step=find again), "
            "nothing was changed"
        )
    outside = [
        f"line {number}: {file}"
        for number, row in enumerate(rows, start=2)
        if row["action"] != "keep"
        for file in _files(row)
        if not _inside(Path(file), root)
    ]
    if outside:  # an edited path: apply moves files of the data set only
        raise ConfigError(
            f"{csv_path} names files outside the data root {root}, nothing was changed: "
            f"{first_problems(outside, 3)}"
        )
    gone = [file for row in todo for file in _files(row) if not Path(file).is_file()]
    if gone:  # checked before any move: a half-applied review helps no one
        raise ConfigError(
            f"{len(gone)} file(s) of {csv_path} are gone (applied already? then undo first), "
            f"nothing was changed: {', '.join(gone[:3])}"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = quarantine / f"moves-{stamp}.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    moved = 0
    with log.open("a", encoding="utf-8") as file:
        file.write(json.dumps({"root": str(root)}) + "\n")  # what undo may touch
        for row in todo:
            for path in _files(row):
                source = Path(path).resolve()
                if row["action"] == "delete":
                    target = quarantine / stamp / source.relative_to(root)
                else:
                    folder = _class_level(source, root, meta.get("class_folders"))
                    target = folder / row["new_label"].strip() / source.name
                target = _free(target)
                made = _first_missing(target.parent)  # undo removes it again once empty
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(target))
                entry = {"action": row["action"], "from": str(source), "to": str(target)}
                file.write(json.dumps({**entry, **({"made": str(made)} if made else {})}) + "\n")
                file.flush()  # the log is complete even if a later move fails
                moved += 1
    _point_to(csv_path, {"log": str(log)})
    counts = {a: sum(r["action"] == a for r in rows) for a in ACTIONS}
    return {"moved": moved, "log": str(log), "quarantine": str(quarantine), **counts}


def undo(log: str | Path, root: str | Path | None = None) -> dict:
    """Move every file of an ``apply`` back. Every move is checked first (nothing is moved when
    one cannot be undone); moves already undone are skipped, so an undo can be run again. Only
    paths inside the data root (``from``) and the log's quarantine folder (``to``) are moved.

    The data root is not taken from the log (an edited log could name any folder): it is
    ``root`` (the review's, for ``undo_applied``) or the folder the log's own folder,
    ``<root>_quarantine``, sits next to; the log's root line must agree with it."""
    log = Path(log)
    if not log.is_file():
        raise ConfigError(f"log={log}: no such moves log (undone already? see {log}.undone)")
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
    if lines and "root" not in lines[0]:
        if {"from", "to"} <= set(lines[0]):
            raise ConfigError(
                f"{log} was written before undo checked paths (it names no data root): move its "
                "files back by hand ('to' -> 'from' on each line)"
            )
        raise ConfigError(f"{log} is not a moves log written by step=apply (no data root)")
    quarantine = log.parent.resolve()
    if root is None:
        if not quarantine.name.endswith("_quarantine"):
            raise ConfigError(
                f"{log} is not in a <data root>_quarantine folder: give csv=<the applied csv> "
                "instead of log=, so that undo knows the data root"
            )
        root = quarantine.with_name(quarantine.name.removesuffix("_quarantine"))
    root = Path(root).resolve()
    if lines and Path(lines[0]["root"]).resolve() != root:
        raise ConfigError(
            f"{log} names the data root {lines[0]['root']}, not {root}: an edited log is not "
            "followed, nothing was moved"
        )
    moves, todo, problems = lines[1:], [], []
    for number, move in enumerate(moves, start=2):
        source, target = Path(move["to"]), Path(move["from"])
        if not _inside(target, root) or not (_inside(source, quarantine) or _inside(source, root)):
            problems.append(f"line {number}: {source} -> {target} leaves the data root {root}")
        elif target.exists() and source.exists():
            problems.append(f"line {number}: {target} exists again (nothing is overwritten)")
        elif not target.exists() and not source.exists():
            problems.append(f"line {number}: {source} is gone")
        elif source.exists():
            todo.append((source, target))
        # else: moved back already (an earlier undo that stopped): nothing to do
    if problems:
        raise ConfigError(f"cannot undo {log}, nothing was moved: {first_problems(problems, 3)}")
    for source, target in reversed(todo):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
    for move in reversed(moves):  # the folders apply made (a new class folder), if left empty
        made = Path(move["made"]).resolve() if move.get("made") else None
        if made and made != root and (_inside(made, quarantine) or _inside(made, root)):
            _remove_empty(Path(move["to"]).resolve().parent, made)
    done = log.with_name(log.name + ".undone")
    log.rename(done)
    return {"restored": len(todo), "already_back": len(moves) - len(todo), "log": str(done)}


def undo_applied(csv_path: str | Path) -> dict:
    """Undo what ``apply`` did for this review CSV: its files' moves, or its decisions file."""
    pointer = Path(csv_path).parent / LOG_POINTER
    if not pointer.is_file():
        raise ConfigError(
            f"csv={csv_path}: nothing to undo, step=apply was not run on it (no {pointer.name} "
            "next to it); or give log=<moves log>"
        )
    applied = json.loads(pointer.read_text(encoding="utf-8"))
    if "log" in applied:
        meta = Path(csv_path).parent / META_FILE  # the data root the review was made on
        root = json.loads(meta.read_text(encoding="utf-8"))["root"] if meta.is_file() else None
        return undo(applied["log"], root)
    decisions = Path(applied["decisions"])
    if not decisions.is_file():
        raise ConfigError(f"{decisions} is gone: undone already? (nothing to do)")
    done = decisions.with_name(decisions.name + ".undone")
    decisions.rename(done)
    return {
        "restored": 0,
        "decisions": str(done),
        "note": f"{decisions.name} renamed: retrain without data.decisions= to use every item",
    }


def _files(row: dict) -> list[str]:
    """The files a row moves: its item, and a deleted segmentation image's mask."""
    mask = (row.get("mask") or "").strip() if row["action"] == "delete" else ""
    return [row["path"].strip(), *([mask] if mask else [])]


def _relabel_refusal(datamodule) -> str | None:
    """Why relabel rows cannot be applied to this data (None: they can). Relabel moves a file
    into another class folder, or (no files) records the item's new class for retraining."""
    kind = datamodule.target_kind
    if getattr(datamodule, "root", None) is not None:
        class_folders = isinstance(datamodule, FolderDataModule) and (
            type(datamodule).load is FolderDataModule.load
        )
        if not class_folders:
            return (
                f"{datamodule.name} data takes its labels from a CSV or masks, not from class "
                "folders (moving the file changes no label): edit the labels in your own CSV / "
                "the data's label source instead"
            )
    elif kind != "class":
        return (
            f"relabel gives an item one class, {datamodule.name} data has {kind} labels: edit "
            "the labels in the data's label source instead"
        )
    return None


def _class_folders(datamodule) -> list[str] | None:
    """The folders (relative to the data root) whose sub-folders are the data's classes."""
    if not isinstance(datamodule, FolderDataModule):
        return None
    root = datamodule.root
    return [Path(os.path.relpath(f, root)).as_posix() for f in datamodule.class_folders()]


def _class_level(file: Path, root: Path, class_folders: list[str] | None) -> Path:
    """The folder a relabelled ``file``'s new class folder goes in: the one of ``class_folders``
    that holds its class folder (``root/train/``, not ``root/``, which that layout does not
    read). A review that names none (written by an earlier version): the level of the file's
    own class folder."""
    levels = [(root / folder).resolve() for folder in class_folders or []]
    holding = [f for f in levels if file.is_relative_to(f) and len(file.relative_to(f).parts) > 1]
    if holding:
        return max(holding, key=lambda folder: len(folder.parts))
    level = file.parent.parent
    return level if level.is_relative_to(root) else root


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of ``folder``'s path that does not exist yet (None: all exist)."""
    missing = None
    while not folder.exists():
        missing, folder = folder, folder.parent
    return missing


def _remove_empty(folder: Path, up_to: Path) -> None:
    """Remove ``folder`` and its parents up to ``up_to`` (included) while they are empty."""
    while folder.is_relative_to(up_to) and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        if folder == up_to:
            break
        folder = folder.parent


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder)


def _quarantine_of(root: Path) -> Path:
    """Where apply moves deleted files and writes its log by default: next to the data root."""
    return root.with_name(root.name + "_quarantine")


def _point_to(csv_path: Path, applied: dict) -> None:
    (csv_path.parent / LOG_POINTER).write_text(json.dumps(applied) + "\n", encoding="utf-8")


def _free(path: Path) -> Path:
    """``path``, or ``name_1.ext``, ``name_2.ext``, ... if taken: never overwrite a file."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return candidate


def _write_indices(todo: list[dict], csv_path: Path, meta: dict) -> dict:
    """Data without files of its own: the decisions as indices into the data set, with what they
    were made on (checked by the retraining run that applies them: ``data.decisions=``)."""
    earlier = meta.get("earlier_decisions") or {"delete": [], "relabel": {}}
    deleted = {int(r["index"]) for r in todo if r["action"] == "delete"}
    decisions = {
        "data": meta.get("data"),
        "class_names": meta["class_names"],
        "delete": sorted(deleted | set(earlier["delete"])),
        "relabel": {
            **{k: v for k, v in earlier["relabel"].items() if int(k) not in deleted},
            **{str(r["index"]): r["new_label"].strip() for r in todo if r["action"] == "relabel"},
        },
    }
    path = csv_path.parent / "decisions.json"
    path.write_text(json.dumps(decisions, indent=2) + "\n", encoding="utf-8")
    _point_to(csv_path, {"decisions": str(path)})
    return {
        "moved": 0,
        "decisions": str(path),
        "delete": len(decisions["delete"]),
        "relabel": len(decisions["relabel"]),
        "note": f"no files moved: retrain with data.decisions={path} to apply them",
    }
