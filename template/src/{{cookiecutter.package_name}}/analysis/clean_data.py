"""Clean the data with the model, in two steps with a person in between.

1. ``find``: the trained model ranks the train and val items that look wrong; the task says which
   and why (classification: the highest losses, confident predictions that disagree with the
   label, correct but unsure predictions). They go into ``suspicious.csv`` with ``action=keep``;
   a person edits each row to ``keep``, ``delete`` or ``relabel`` (with ``new_label``).
2. ``apply``: for an image folder, ``delete`` moves the file to a quarantine folder and
   ``relabel`` moves it into the new class's folder. Nothing is deleted: every move is logged
   (JSON lines) and ``undo`` moves everything back. In-memory data (digits) has no files: the
   decisions are written as lists of indices (``decisions.json``) for your own loader.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

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
    task, datamodule, splits=("train", "val"), top_k: int = 20, **options
) -> list[dict]:
    """Rows for the review CSV, highest loss first; the task says which items and why
    (``reasons``); ``options`` are the task's thresholds (e.g. ``confident``, ``unsure``)."""
    rows = []
    for split in splits:
        p = predict(task, datamodule, split)
        for row in task.suspicious(p, top_k, **options):
            i = row.pop("item")
            described = datamodule.describe_input(p.indices[i])  # e.g. a table row's values
            rows.append(
                {
                    "split": split,
                    "index": p.indices[i],
                    "path": p.paths[i] or "",
                    **row,
                    **({"input": described} if described else {}),
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
    meta = {
        "root": str(root) if root else None,
        "class_names": list(datamodule.class_names),
        "checkpoint": str(checkpoint),
        "items": len(rows),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


# ---- step 2: apply (and undo) ------------------------------------------------------------------
def read_decisions(csv_path: str | Path) -> tuple[list[dict], dict]:
    """Edited rows (validated) and the metadata written next to them."""
    csv_path = Path(csv_path)
    meta = json.loads((csv_path.parent / META_FILE).read_text(encoding="utf-8"))
    with csv_path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    problems = []
    for number, row in enumerate(rows, start=2):  # line numbers as a spreadsheet shows them
        action = (row.get("action") or "keep").strip().lower()
        row["action"] = action
        if action not in ACTIONS:
            problems.append(f"line {number}: action '{action}' (use {', '.join(ACTIONS)})")
        if action == "relabel" and row.get("new_label", "").strip() not in meta["class_names"]:
            problems.append(
                f"line {number}: new_label '{row.get('new_label', '')}' is not a "
                f"class ({', '.join(meta['class_names'])})"
            )
    if problems:
        raise ValueError(
            f"{csv_path} has invalid rows (nothing was changed):\n  " + "\n  ".join(problems)
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
        return _report_indices(todo, csv_path.parent)
    root = Path(meta["root"])
    quarantine = Path(quarantine) if quarantine else root.with_name(root.name + "_quarantine")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = quarantine / f"moves-{stamp}.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    moved = 0
    with log.open("a", encoding="utf-8") as file:
        for row in todo:
            source = Path(row["path"])
            if not source.is_file():
                raise FileNotFoundError(f"{source} is gone (applied twice?); log so far: {log}")
            if row["action"] == "delete":
                target = quarantine / stamp / source.relative_to(root)
            else:
                target = root / row["new_label"].strip() / source.name
            target = _free(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), str(target))
            file.write(
                json.dumps({"action": row["action"], "from": str(source), "to": str(target)}) + "\n"
            )
            file.flush()  # the log is complete even if a later move fails
            moved += 1
    (csv_path.parent / LOG_POINTER).write_text(
        json.dumps({"log": str(log)}) + "\n", encoding="utf-8"
    )
    counts = {a: sum(r["action"] == a for r in rows) for a in ACTIONS}
    return {"moved": moved, "log": str(log), "quarantine": str(quarantine), **counts}


def undo(log: str | Path) -> dict:
    """Move every file of an ``apply`` back, last move first; the log is kept, renamed."""
    log = Path(log)
    moves = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
    for move in reversed(moves):
        source, target = Path(move["to"]), Path(move["from"])
        if target.exists():
            raise FileExistsError(f"cannot undo: {target} exists again (nothing overwritten)")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
    done = log.with_name(log.name + ".undone")
    log.rename(done)
    return {"restored": len(moves), "log": str(done)}


def _free(path: Path) -> Path:
    """``path``, or ``name_1.ext``, ``name_2.ext``, ... if taken: never overwrite a file."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return candidate


def _report_indices(todo: list[dict], folder: Path) -> dict:
    """In-memory data: no files to move; the decisions as indices into the data set."""
    decisions = {
        "delete": sorted(int(r["index"]) for r in todo if r["action"] == "delete"),
        "relabel": {
            str(r["index"]): r["new_label"].strip() for r in todo if r["action"] == "relabel"
        },
    }
    path = folder / "decisions.json"
    path.write_text(json.dumps(decisions, indent=2) + "\n", encoding="utf-8")
    return {
        "moved": 0,
        "decisions": str(path),
        "delete": len(decisions["delete"]),
        "relabel": len(decisions["relabel"]),
        "note": "in-memory data: no files moved; drop/relabel these indices in your loader",
    }
