"""Clean data: suspicious items are found for the right reasons; apply moves files with a log,
undo restores them, nothing is ever lost; in-memory data gets indices."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from {{ cookiecutter.package_name }}.analysis import clean_data
from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule
from {{ cookiecutter.package_name }}.data.image_folder import ImageFolderDataModule
from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask

from conftest import PROJECT


class AlwaysZero(nn.Module):
    """A 'model' that is 99 % sure every image is class 0."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.full((num_classes,), -5.0))
        self.bias.data[0] = 5.0

    def forward(self, x):
        return self.bias.expand(len(x), -1)


def always_zero(datamodule) -> ClassificationTask:
    """A classification task for the data's classes whose model always says class 0."""
    names = datamodule.class_names
    task = ClassificationTask(
        {"name": "linear"},
        {"names": names},
        {"shape": [1, 8, 8]},
        {"lr": 0.1},
        {"name": "constant"},
    )
    task.model = AlwaysZero(len(names))
    return task


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def image_folder(root: Path) -> ImageFolderDataModule:
    for c, colour in enumerate(["red", "green", "blue"]):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (8, 8), colour).save(root / f"c{c}" / f"{i}.png")
    datamodule = ImageFolderDataModule(
        root=str(root), image_size=8, batch_size=4, val_fraction=0.25, test_fraction=0.25
    )
    datamodule.setup()
    return datamodule


def test_reasons_for_suspicion():
    datamodule = DigitsDataModule()
    rows = clean_data.find_suspicious(always_zero(datamodule), datamodule, top_k=5)
    assert {row["split"] for row in rows} == {"train", "val"}
    mislabelled = [row for row in rows if "likely_mislabelled" in row["reasons"]]
    # every non-zero item is predicted 0 with 99 % confidence
    labels = datamodule.loaded.targets
    expected = sum(
        int((labels[torch.as_tensor(datamodule.indices[s])] != 0).sum()) for s in ("train", "val")
    )
    assert len(mislabelled) == expected
    assert all(row["prediction"] == "0" and row["label"] != "0" for row in mislabelled)
    assert all(row["action"] == "keep" for row in rows)
    losses = [row["loss"] for row in rows]
    assert losses == sorted(losses, reverse=True)


def test_digits_decisions_are_reported_as_indices(tmp_path):
    datamodule = DigitsDataModule()
    rows = clean_data.find_suspicious(always_zero(datamodule), datamodule, top_k=3)
    untouched = clean_data.write_review(rows, tmp_path / "keep", datamodule, "model.ckpt")
    assert "nothing to do" in clean_data.apply_decisions(untouched)["note"]
    rows[0]["action"], rows[1]["action"], rows[1]["new_label"] = "delete", "relabel", "7"
    path = clean_data.write_review(rows, tmp_path, datamodule, "model.ckpt")
    report = clean_data.apply_decisions(path)
    assert report["moved"] == 0 and report["delete"] == 1 and report["relabel"] == 1
    decisions = json.loads(Path(report["decisions"]).read_text())
    assert decisions == {"delete": [rows[0]["index"]], "relabel": {str(rows[1]["index"]): "7"}}


def test_round_trip_moves_and_restores_files_with_nothing_lost(tmp_path):
    root = tmp_path / "pets"
    datamodule = image_folder(root)
    original = snapshot(root)
    rows = clean_data.find_suspicious(always_zero(datamodule), datamodule, top_k=2)
    assert rows and all(Path(row["path"]).is_file() for row in rows)
    path = clean_data.write_review(rows, tmp_path / "review", datamodule, "model.ckpt")
    # a person edits the CSV: delete one, relabel one (the model says it is class c0)
    with path.open(newline="") as file:
        edited = list(csv.DictReader(file))
    deleted, relabelled = edited[0], edited[1]
    deleted["action"] = "delete"
    relabelled["action"], relabelled["new_label"] = "relabel", "c0"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, list(edited[0]))
        writer.writeheader()
        writer.writerows(edited)

    report = clean_data.apply_decisions(path)
    assert report["moved"] == 2 and report["delete"] == 1 and report["relabel"] == 1
    quarantine = Path(report["quarantine"])
    assert quarantine == tmp_path / "pets_quarantine"
    assert not Path(deleted["path"]).exists() and not Path(relabelled["path"]).exists()
    moved_to_c0 = root / "c0" / Path(relabelled["path"]).name
    assert moved_to_c0.is_file() or any((root / "c0").glob(Path(relabelled["path"]).stem + "_*"))
    # nothing lost: every original file's bytes are still somewhere
    after = [
        *snapshot(root).values(),
        *(v for k, v in snapshot(quarantine).items() if not k.endswith(".jsonl")),
    ]
    assert sorted(after) == sorted(original.values())
    log = [json.loads(line) for line in Path(report["log"]).read_text().splitlines()]
    assert [entry["action"] for entry in log] == ["delete", "relabel"]

    restored = clean_data.undo(report["log"])
    assert restored["restored"] == 2
    assert snapshot(root) == original  # byte for byte, same names, same folders


def test_invalid_decisions_change_nothing(tmp_path):
    root = tmp_path / "pets"
    datamodule = image_folder(root)
    original = snapshot(root)
    rows = clean_data.find_suspicious(always_zero(datamodule), datamodule, top_k=2)
    rows[0]["action"] = "delete"
    rows[1]["action"], rows[1]["new_label"] = "relabel", "no-such-class"
    rows[2]["action"] = "remove"
    path = clean_data.write_review(rows, tmp_path / "review", datamodule, "model.ckpt")
    with pytest.raises(ValueError) as caught:
        clean_data.apply_decisions(path)
    assert "line 3: new_label 'no-such-class'" in str(caught.value)
    assert "line 4: action 'remove'" in str(caught.value)
    assert snapshot(root) == original


@pytest.mark.slow
def test_clean_command_lists_suspicious_items_of_a_trained_model(run_train, tmp_path):
    trained = run_train("mode=smoke")
    out = tmp_path / "clean"
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "clean.py"),
            f"ckpt_path={trained['best_checkpoint']}",
            "top_k=5",
            f"hydra.run.dir={out}",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
    )
    assert result.returncode == 0, result.stderr
    assert "suspicious items ->" in result.stdout and "step=apply" in result.stdout
    with (out / "suspicious.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    columns = [*clean_data.FIRST, "probability", "label_probability", *clean_data.LAST]
    assert list(rows[0]) == columns
    assert {row["split"] for row in rows} == {"train", "val"}
    assert sum("high_loss" in row["reasons"] for row in rows) == 10  # top 5 of each split
    meta = json.loads((out / clean_data.META_FILE).read_text())
    assert meta["root"] is None and len(meta["class_names"]) == 10
