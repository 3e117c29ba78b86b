"""Clean data: suspicious items are found for the right reasons; apply moves files with a log,
undo restores them (checked first, re-runnable, never outside the data root), nothing is ever
lost; data without files gets indices that a retraining run applies (data.decisions=)."""

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
from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import facts_config, model_config
from {{ cookiecutter.package_name }}.training.errors import user_message
from {{ cookiecutter.package_name }}.training.module import TaskModule

from conftest import PROJECT

# told on image classification (class folders, the digits' classes): a project of other image
# tasks collects this file and runs none of it
pytestmark = pytest.mark.task("classification")


class AlwaysZero(nn.Module):
    """A 'model' that is 99 % sure every image is class 0."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.full((num_classes,), -5.0))
        self.bias.data[0] = 5.0

    def forward(self, x):
        return self.bias.expand(len(x), -1)


def always_zero(datamodule) -> TaskModule:
    """A classification task for the data's classes whose model always says class 0."""
    from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask

    names = datamodule.class_names
    task = TaskModule.for_task(
        ClassificationTask,
        model_config("linear"),
        {"names": names},
        facts_config(InputFacts("image", (1, 8, 8))),
        {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1},
        {
            "_target_": "{{ cookiecutter.package_name }}.training.optim.constant",
            "_partial_": True,
        },
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
    assert decisions["delete"] == [rows[0]["index"]]
    assert decisions["relabel"] == {str(rows[1]["index"]): "7"}
    assert decisions["data"] == {"name": "digits", "items": 1797}  # what they were made on


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
    write_rows(path, edited)

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
    assert log[0] == {"root": str(root)}  # what undo may move files into
    assert [entry["action"] for entry in log[1:]] == ["delete", "relabel"]

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


def edit_review(path: Path, actions: list[tuple[str, str]]) -> list[dict]:
    """A person's edit of the review CSV: the first rows get ``(action, new_label)``."""
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    for row, (action, new_label) in zip(rows, actions, strict=False):
        row["action"], row["new_label"] = action, new_label
    write_rows(path, rows)
    return rows


def write_rows(path: Path, rows: list[dict]) -> None:
    """The review CSV written back with ``rows`` (edited by hand)."""
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_in_memory_decisions_are_applied_by_a_retraining_run_and_undone(tmp_path):
    reviewed = DigitsDataModule()
    rows = clean_data.find_suspicious(always_zero(reviewed), reviewed, top_k=3)
    path = clean_data.write_review(rows, tmp_path, reviewed, "model.ckpt")
    edited = edit_review(path, [("delete", ""), ("relabel", "0")])  # the model's class
    dropped, relabelled = int(edited[0]["index"]), int(edited[1]["index"])
    report = clean_data.apply_decisions(path)
    assert f"data.decisions={report['decisions']}" in report["note"]

    retrained = DigitsDataModule(decisions=report["decisions"])
    retrained.setup()
    everywhere = [i for split in ("train", "val", "test") for i in retrained.indices[split]]
    assert dropped not in everywhere and len(everywhere) == 1797 - 1
    for split in ("train", "val", "test"):  # the split stays: scores compare with the review's
        kept = [i for i in reviewed.indices[split] if i != dropped]
        assert retrained.indices[split] == kept, split
    assert int(retrained.loaded.targets[relabelled]) == 0
    assert int(reviewed.loaded.targets[relabelled]) != 0
    applied = retrained.describe()["decisions"]
    assert applied == {"file": report["decisions"], "dropped": 1, "relabelled": 1}
    stored = retrained.config()["decisions"]  # the checkpoint keeps the decisions themselves
    assert stored["delete"] == [dropped]

    second = clean_data.find_suspicious(always_zero(retrained), retrained, top_k=3)
    assert dropped not in {row["index"] for row in second}  # dropped items are in no split
    again = clean_data.write_review(second, tmp_path / "again", retrained, "model.ckpt")
    edit_review(again, [("delete", "")])
    merged = json.loads(Path(clean_data.apply_decisions(again)["decisions"]).read_text())
    assert merged["delete"] == sorted({dropped, second[0]["index"]})  # a second round adds up
    assert merged["relabel"] == {str(relabelled): "0"}

    undone = clean_data.undo_applied(path)  # step=undo csv=<the applied csv>
    assert undone["decisions"].endswith("decisions.json.undone")
    assert not Path(report["decisions"]).exists()
    with pytest.raises(ValueError) as raised:
        DigitsDataModule(decisions=report["decisions"])
    assert "data.decisions=" in (user_message(raised.value) or "")
    with pytest.raises(ValueError) as raised:
        clean_data.undo_applied(path)  # twice: says why, changes nothing
    assert "undone already" in (user_message(raised.value) or "")


def test_decisions_made_on_other_data_are_refused(tmp_path):
    reviewed = DigitsDataModule()
    rows = clean_data.find_suspicious(always_zero(reviewed), reviewed, top_k=2)
    path = clean_data.write_review(rows, tmp_path, reviewed, "model.ckpt")
    edit_review(path, [("delete", "")])
    decisions = clean_data.apply_decisions(path)["decisions"]
    fewer = DigitsDataModule(decisions=decisions, classes=[0, 1, 2])
    with pytest.raises(ValueError) as raised:
        fewer.setup()
    message = user_message(raised.value) or ""
    assert "made on 1797 items" in message and "data.classes" in message


def applied_folder(tmp_path) -> tuple[Path, dict, dict]:
    """An image folder with two files moved by apply: (root, files before, apply's report)."""
    root = tmp_path / "pets"
    datamodule = image_folder(root)
    original = snapshot(root)
    rows = clean_data.find_suspicious(always_zero(datamodule), datamodule, top_k=2)
    path = clean_data.write_review(rows, tmp_path / "review", datamodule, "model.ckpt")
    edit_review(path, [("delete", ""), ("relabel", "c0"), ("delete", "")])
    return root, original, clean_data.apply_decisions(path)


def test_undo_checks_every_move_first_and_can_run_again(tmp_path):
    root, original, report = applied_folder(tmp_path)
    moves = [json.loads(line) for line in Path(report["log"]).read_text().splitlines()][1:]
    assert len(moves) == 3
    in_the_way = Path(moves[0]["from"])
    in_the_way.write_bytes(b"a new file with the old name")
    before = snapshot(root)
    with pytest.raises(ValueError) as raised:
        clean_data.undo(report["log"])
    assert "exists again" in (user_message(raised.value) or "")
    assert snapshot(root) == before  # nothing moved: not 2 of 3

    in_the_way.unlink()
    Path(moves[2]["to"]).rename(moves[2]["from"])  # one move undone by hand (a stopped undo)
    restored = clean_data.undo(report["log"])
    assert restored["restored"] == 2 and restored["already_back"] == 1
    assert snapshot(root) == original


def test_undo_refuses_a_log_that_leaves_the_data_root(tmp_path):
    root, _, report = applied_folder(tmp_path)
    outside = tmp_path / "elsewhere" / "secret.png"
    outside.parent.mkdir()
    lines = Path(report["log"]).read_text().splitlines()
    move = json.loads(lines[1])
    Path(move["to"]).unlink()
    outside.write_bytes(b"not part of the data")
    lines[1] = json.dumps({**move, "to": str(outside), "from": str(root / "c1" / "new.png")})
    Path(report["log"]).write_text("\n".join(lines) + "\n")
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as raised:
        clean_data.undo(report["log"])
    assert "leaves the data root" in (user_message(raised.value) or "")
    assert snapshot(tmp_path) == before and outside.is_file()


def test_undo_takes_the_data_root_from_where_the_log_lies_not_from_the_log(tmp_path):
    root, _, report = applied_folder(tmp_path)
    log = Path(report["log"])
    lines = log.read_text().splitlines()
    outside = tmp_path / "elsewhere" / "secret.png"
    outside.parent.mkdir()
    outside.write_bytes(b"not part of the data")
    move = json.loads(lines[1])
    lines[0] = json.dumps({"root": "/"})  # an edited root line: every path would be inside it
    lines[1] = json.dumps({**move, "to": str(outside), "from": str(root / "c1" / "new.png")})
    log.write_text("\n".join(lines) + "\n")
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as raised:
        clean_data.undo(log)
    assert f"not {root}" in (user_message(raised.value) or "")
    assert snapshot(tmp_path) == before

    elsewhere = tmp_path / "logs" / log.name  # a log moved out of <root>_quarantine
    elsewhere.parent.mkdir()
    log.rename(elsewhere)
    with pytest.raises(ValueError) as raised:
        clean_data.undo(elsewhere)
    assert "give csv=" in (user_message(raised.value) or "")


def test_undo_refuses_a_log_written_before_the_root_line(tmp_path):
    root, _, report = applied_folder(tmp_path)
    log = Path(report["log"])
    log.write_text("\n".join(log.read_text().splitlines()[1:]) + "\n")  # the old format
    before = snapshot(root)
    with pytest.raises(ValueError) as raised:
        clean_data.undo(log)
    assert "written before undo checked paths" in (user_message(raised.value) or "")
    assert snapshot(root) == before


@pytest.mark.parametrize("action", ["delete", "relabel"])
def test_apply_refuses_rows_outside_the_data_root(tmp_path, action):
    root = tmp_path / "pets"
    datamodule = image_folder(root)
    rows = clean_data.find_suspicious(always_zero(datamodule), datamodule, top_k=2)
    path = clean_data.write_review(rows, tmp_path / "review", datamodule, "model.ckpt")
    outside = tmp_path / "elsewhere" / "secret.png"
    outside.parent.mkdir()
    outside.write_bytes(b"not part of the data")
    edited = edit_review(path, [(action, "c0"), (action, "c0")])
    edited[1]["path"] = str(root / ".." / "elsewhere" / "secret.png")  # an edited path
    write_rows(path, edited)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as raised:
        clean_data.apply_decisions(path)
    message = user_message(raised.value) or ""
    assert "outside the data root" in message and "line 3" in message
    assert snapshot(tmp_path) == before and outside.is_file()


def test_apply_moves_nothing_when_a_file_is_gone(tmp_path):
    root = tmp_path / "pets"
    datamodule = image_folder(root)
    rows = clean_data.find_suspicious(always_zero(datamodule), datamodule, top_k=2)
    path = clean_data.write_review(rows, tmp_path / "review", datamodule, "model.ckpt")
    edited = edit_review(path, [("delete", ""), ("delete", "")])
    Path(edited[1]["path"]).unlink()
    before = snapshot(root)
    with pytest.raises(ValueError) as raised:
        clean_data.apply_decisions(path)
    assert "nothing was changed" in (user_message(raised.value) or "")
    assert snapshot(root) == before


@pytest.mark.slow
def test_clean_command_apply_retrain_undo_in_memory(run_train, tmp_path):
    """The commands of docs/clean.md, end to end on in-memory digits: one error line
    for a bad edit, then apply, retrain with the decisions (counted in summary.json), undo by
    the csv."""
    trained = run_train("mode=smoke")
    digits = DigitsDataModule()
    rows = clean_data.find_suspicious(always_zero(digits), digits, top_k=2)
    review = clean_data.write_review(rows, tmp_path / "review", digits, trained["best_checkpoint"])

    def clean(*overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(PROJECT / "clean.py"), *overrides],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    edit_review(review, [("delete", ""), ("remove", "")])
    bad = clean("step=apply", f"csv={review}")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert bad.stderr.strip().splitlines() == [
        f"error: {review} has invalid rows, nothing was changed: line 3: action 'remove' "
        "(use keep, delete, relabel)"
    ]
    edit_review(review, [("delete", ""), ("relabel", "7")])
    applied = clean("step=apply", f"csv={review}")
    assert applied.returncode == 0, applied.stderr
    # one "name: value" line per count, then the note (what to do next)
    lines = applied.stdout.splitlines()
    (decisions,) = [line[11:] for line in lines if line.startswith("decisions: ")]
    assert f"retrain with data.decisions={decisions}" in applied.stdout
    retrained = run_train("mode=smoke", f"data.decisions={decisions}")
    assert retrained["data"]["decisions"] == {"file": decisions, "dropped": 1, "relabelled": 1}
    assert sum(retrained["data"]["sizes"].values()) == sum(trained["data"]["sizes"].values()) - 1
    undone = clean("step=undo", f"csv={review}")
    assert undone.returncode == 0 and "decisions.json.undone" in undone.stdout, undone.stderr


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


def review_of(datamodule, folder: Path, actions: list[tuple[int, str, str]]) -> Path:
    """A review CSV of ``datamodule`` as a person left it: rows ``(index, action, new_label)``."""
    rows = [
        {
            "split": "train",
            "index": index,
            "path": datamodule.paths[index],
            "label": "",
            "prediction": "",
            "loss": 1.0,
            "reasons": "high_loss",
            "action": action,
            "new_label": new_label,
        }
        for index, action, new_label in actions
    ]
    return clean_data.write_review(rows, folder, datamodule, "model.ckpt")


@pytest.mark.task("multilabel", "regression")  # the image CSV sources
def test_relabel_is_refused_on_csv_data_before_anything_moves(tmp_path):
    from {{ cookiecutter.package_name }}.data.image_csv import ImageCsvDataModule

    root = tmp_path / "shapes"
    root.mkdir()
    rows = [("a.png", "circle red"), ("b.png", "circle"), ("c.png", "red"), ("d.png", "")] * 2
    rows = [(f"{i}{name}", labels) for i, (name, labels) in enumerate(rows)]
    for name, _ in rows:
        Image.new("RGB", (8, 8), "red").save(root / name)
    (root / "labels.csv").write_text(
        "fname,labels\n" + "".join(f"{name},{labels}\n" for name, labels in rows)
    )
    datamodule = ImageCsvDataModule(
        root=str(root), image_size=8, batch_size=2, num_workers=0, stratify="none"
    )
    datamodule.setup()
    original = snapshot(tmp_path)
    path = review_of(
        datamodule, tmp_path / "review", [(0, "delete", ""), (1, "relabel", "red"), (2, "keep", "")]
    )
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as raised:
        clean_data.apply_decisions(path)
    message = user_message(raised.value) or ""
    assert "relabel on line 3" in message and "edit the labels in your own CSV" in message
    assert "\n" not in message
    assert snapshot(tmp_path) == before and not (root / "red").exists()  # not even the delete
    assert original.items() <= before.items()

    edit_review(path, [("keep", ""), ("relabel", "circle;red")])  # a label set: same refusal
    with pytest.raises(ValueError) as raised:
        clean_data.apply_decisions(path)
    message = user_message(raised.value) or ""
    assert "relabel on line 3" in message and "is not a class" not in message


def test_relabel_in_a_train_valid_layout_moves_within_the_split_folder_and_back(tmp_path):
    root = tmp_path / "pets"
    for split, count in (("train", 4), ("valid", 2)):
        for c, colour in enumerate(["red", "green", "blue"]):
            (root / split / f"c{c}").mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (8, 8), colour).save(root / split / f"c{c}" / f"c{c}_{i}.png")
    datamodule = ImageFolderDataModule(root=str(root), image_size=8, batch_size=4)
    datamodule.setup()
    original = snapshot(root)
    items = [
        (datamodule.paths.index(str(root / "train" / "c1" / "c1_0.png")), "relabel", "c0"),
        (datamodule.paths.index(str(root / "valid" / "c2" / "c2_1.png")), "relabel", "c1"),
    ]
    path = review_of(datamodule, tmp_path / "review", items)
    meta = json.loads((path.parent / clean_data.META_FILE).read_text())
    for class_folders in (meta.get("class_folders"), None):  # None: a review written before
        (path.parent / clean_data.META_FILE).write_text(
            json.dumps({**meta, "class_folders": class_folders})
        )
        report = clean_data.apply_decisions(path)
        assert report["moved"] == 2
        # where this layout reads classes: root/<split>/<class>/, not root/<class>/
        assert (root / "train" / "c0" / "c1_0.png").is_file()
        assert (root / "valid" / "c1" / "c2_1.png").is_file()
        assert sorted(p.name for p in root.iterdir()) == ["train", "valid"]
        relabelled = ImageFolderDataModule(root=str(root), image_size=8, batch_size=4)
        relabelled.setup()
        keys = [Path(p).relative_to(root).as_posix() for p in relabelled.paths]
        assert len(keys) == len(datamodule.paths)  # no item lost from the data
        assert relabelled.loaded.targets[keys.index("train/c0/c1_0.png")] == 0
        assert relabelled.loaded.targets[keys.index("valid/c1/c2_1.png")] == 1
        val = {keys[i] for i in relabelled.indices["val"]}
        assert "valid/c1/c2_1.png" in val and "train/c0/c1_0.png" not in val
        assert clean_data.undo_applied(path)["restored"] == 2
        assert snapshot(root) == original


def test_a_new_label_of_several_classes_is_named_as_such(tmp_path):
    root = tmp_path / "pets"
    datamodule = image_folder(root)
    path = review_of(datamodule, tmp_path / "review", [(0, "relabel", "c0;c2")])
    with pytest.raises(ValueError) as raised:
        clean_data.apply_decisions(path)
    message = user_message(raised.value) or ""
    assert "new_label 'c0;c2' names several classes: relabel gives an item one class" in message
    assert "is not a class" not in message


def test_undo_removes_the_folders_apply_made(tmp_path):
    root, original, report = applied_folder(tmp_path)
    quarantine = Path(report["quarantine"])
    made = Path(report["log"]).name.removeprefix("moves-").removesuffix(".jsonl")
    assert (quarantine / made).is_dir()
    clean_data.undo(report["log"])
    assert snapshot(root) == original
    assert not (quarantine / made).exists()  # no empty folders left behind
    assert sorted(p.name for p in root.iterdir()) == ["c0", "c1", "c2"]


def test_a_review_row_without_a_path_is_named(tmp_path):
    root = tmp_path / "pets"
    datamodule = image_folder(root)
    path = review_of(datamodule, tmp_path / "review", [(0, "keep", ""), (1, "delete", "")])
    edited = edit_review(path, [])
    edited[1]["path"] = ""
    write_rows(path, edited)
    before = snapshot(root)
    with pytest.raises(ValueError) as raised:
        clean_data.apply_decisions(path)
    message = user_message(raised.value) or ""
    assert "the path of line 3 is empty" in message and "outside the data root" not in message
    assert snapshot(root) == before
