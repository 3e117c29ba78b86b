"""Multi-label classification beyond the contract test (tests/test_tasks.py): a full run on the
digits' derived labels beats the per-label majority clearly, user data in fastai's CSV format
(with bad rows and a fixed validation column) trains, and the interpretation adds up."""

import csv
import math

import numpy as np
import pytest
import torch

from {{ cookiecutter.package_name }}.analysis.interpret import interpret
from {{ cookiecutter.package_name }}.analysis.predict import Predictions, load_trained
from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule
from {{ cookiecutter.package_name }}.data.image_csv import ImageCsvDataModule
from {{ cookiecutter.package_name }}.tasks.base import TaskError
from {{ cookiecutter.package_name }}.tasks.multilabel import MultiLabelTask
from {{ cookiecutter.package_name }}.training.checkpoints import FORMAT_VERSION, upgrade
from {{ cookiecutter.package_name }}.training.errors import user_message
from {{ cookiecutter.package_name }}.training.run import build_datamodule

from conftest import compose_config

LABELS = ["even", "greater_than_4", "closed_loop", "prime"]


def make_task(prevalence=(0.5, 0.5, 0.5, 0.4), threshold: float = 0.5) -> MultiLabelTask:
    return MultiLabelTask(
        targets={"names": LABELS, "prevalence": list(prevalence)}, threshold=threshold
    )


def test_digit_labels_are_derived_from_the_digit():
    dm = DigitsDataModule(target_kind="multilabel")
    dm.setup()
    from sklearn.datasets import load_digits

    digits = load_digits().target
    targets = dm.loaded.targets
    assert dm.target_names == LABELS and targets.shape == (len(digits), 4)
    assert targets[digits == 1].sum() == 0  # the digit 1 carries no label
    assert targets[digits == 8].tolist()[0] == [1.0, 1.0, 1.0, 0.0]
    assert (targets.sum(dim=1) >= 2).float().mean() > 0.5  # most images carry several


def test_full_run_beats_the_majority_baseline_on_test(run_train):
    summary = run_train("task=multilabel", "mode=full", "trainer.max_epochs=12")
    test, fit = summary["metrics"]["test"], summary["verdicts"]["fit"]
    # the per-label majority (each label on or off for every image) scores about 0.35 here
    assert fit["metric"] == "f1_micro" and fit["baseline"] < 0.5
    assert test["f1_micro"] >= 0.9, test
    assert test["f1_micro"] - fit["baseline"] >= 0.5  # measured: 0.99 vs 0.35
    assert test["exact_match"] >= 0.9 and test["map"] >= 0.95


def test_baseline_is_the_per_label_majority():
    task = make_task()
    train = torch.tensor([[1, 0, 1, 0], [1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]]).float()
    val = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 1]]).float()
    # majority per label: even yes, others no (closed_loop is a tie: 0.5 is not above 0.5)
    predicted = torch.tensor([[1, 0, 0, 0]] * 2)
    tp = int((predicted * val).sum())
    f1 = (
        2
        * tp
        / (
            2 * tp
            + int(((predicted == 1) & (val == 0)).sum())
            + int(((predicted == 0) & (val == 1)).sum())
        )
    )
    assert task.baseline(train, val) == pytest.approx(f1)


def test_chance_loss_is_the_entropy_of_the_prevalences():
    assert make_task((0.5, 0.5, 0.5, 0.5)).chance_loss() == pytest.approx(math.log(2))
    skewed = make_task((0.1, 0.1, 0.1, 0.1)).chance_loss()
    assert skewed < math.log(2)
    outputs = torch.full((10, 4), math.log(0.1 / 0.9))  # predicting the prevalence
    targets = torch.zeros(10, 4)
    targets[0] = 1
    assert make_task().item_losses(outputs, targets).mean() == pytest.approx(skewed, rel=1e-5)


def test_describe_item_and_decode():
    task = make_task(threshold=0.7)
    assert task.report().describe_item(torch.tensor([1.0, 0.0, 0.0, 1.0])) == "even prime"
    assert task.report().describe_item(torch.zeros(4)) == "-"
    logits = torch.logit(torch.tensor([[0.8, 0.6, 0.1, 0.95]]))
    assert task.decode(logits).tolist() == [[1, 0, 0, 1]]  # the threshold is the task's


@pytest.mark.feature("deploy")
def test_export_info_states_the_decoding_threshold():
    task = make_task(threshold=0.7)
    logits = torch.logit(torch.tensor([[0.8, 0.6, 0.1, 0.95]]))
    info = task.export_info()  # what an export's consumer reads: the rule and its threshold
    assert info["threshold"] == 0.7 and "sigmoid" in info["decode"]
    assert ((logits.sigmoid() > info["threshold"]).long() == task.decode(logits)).all()


@pytest.mark.feature("clean")
def test_suspicious_names_missing_and_wrong_labels():
    task = make_task()
    targets = torch.tensor([[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]).float()
    probs = torch.tensor(
        [
            [0.9, 0.1, 0.1, 0.1],  # right
            [0.9, 0.1, 0.97, 0.1],  # closed_loop sure but absent
            [0.02, 0.1, 0.1, 0.1],
        ]
    )  # even present but improbable
    outputs = torch.logit(probs)
    p = Predictions(
        "val", [10, 11, 12], [None] * 3, targets, outputs, task.item_losses(outputs, targets)
    )
    rows = {row["item"]: row for row in task.report().suspicious(p, top_k=1)}
    assert (
        "likely_missing_label" in rows[1]["reasons"] and rows[1]["missing_labels"] == "closed_loop"
    )
    assert "likely_wrong_label" in rows[2]["reasons"] and rows[2]["doubtful_labels"] == "even"
    assert 0 not in rows
    assert rows[1]["label"] == "even" and rows[1]["prediction"] == "even closed_loop"


def test_interpretation_files_and_per_label_support(run_train, tmp_path):
    trained = run_train("task=multilabel", "trainer.max_epochs=1", "+trainer.limit_train_batches=5")
    task, dm = load_trained(trained["best_checkpoint"])
    report = interpret(task, dm, tmp_path, "val", top_k=6)
    folder = tmp_path / "interpret"
    assert {"per_label.csv", "top_losses.csv", "top_losses.png", "thresholds.csv"} <= set(
        report["files"]
    )
    with (folder / "per_label.csv").open(newline="") as file:
        per_label = list(csv.DictReader(file))
    expected = dm.split_targets("val").sum(dim=0)
    assert [row["label"] for row in per_label] == LABELS
    assert [int(row["support"]) for row in per_label] == expected.long().tolist()
    with (folder / "top_losses.csv").open(newline="") as file:
        top = list(csv.DictReader(file))
    assert len(top) == 6 and float(top[0]["loss"]) >= float(top[-1]["loss"])
    assert all(row["labels"] and row["prediction"] for row in top)
    assert 0.0 < report["best_threshold"] < 1.0
    assert report["best_threshold_f1_micro"] >= report["f1_micro"] - 1e-9


# ---- user data: fastai's CSV format ------------------------------------------------------------
def write_user_data(root, count: int = 30):
    """Coloured squares: 'red' / 'green' / 'bright' labels, a CSV with an is_valid column, a row
    naming a missing file (line 5), a row with an empty labels cell (line 9: no label, kept) and
    a row cut short before its labels cell (line 13: bad)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = []
    for i in range(count):
        red, green, bright = i % 2, (i // 2) % 2, (i // 4) % 2
        pixels = rng.integers(0, 60, (12, 12, 3), dtype=np.uint8)
        pixels[..., 0] += 150 * red
        pixels[..., 1] += 150 * green
        pixels += np.uint8(40 * bright)
        Image.fromarray(pixels).save(root / f"img{i}.png")
        labels = " ".join(n for n, on in (("red", red), ("green", green), ("bright", bright)) if on)
        rows.append([f"img{i}.png", labels or "dark", "True" if i % 5 == 0 else "False"])
    rows[3][0] = "gone.png"  # line 5 of the CSV (the header is line 1)
    rows[7][1] = ""  # line 9
    rows[11] = rows[11][:1]  # line 13
    with (root / "labels.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["fname", "labels", "is_valid"])
        writer.writerows(rows)
    return rows


def test_csv_bad_rows_are_reported_and_is_valid_fixes_the_val_split(tmp_path):
    rows = write_user_data(tmp_path)
    # a test split beside the given validation split only when asked for
    dm = ImageCsvDataModule(
        root=str(tmp_path), image_size=8, batch_size=4, num_workers=0, test_fraction=0.15
    )
    dm.setup()
    assert len(dm.skipped_files) == 2
    assert dm.skipped_files[0].startswith("line 5: gone.png")
    assert dm.skipped_files[1] == "line 13: img11.png: no labels cell (the row is short)"
    assert dm.target_names == ["bright", "dark", "green", "red"]
    assert dm.describe()["skipped_files"] == 2
    no_label = dm.paths.index(f"{tmp_path}/img7.png")  # an empty cell: none of the labels
    assert dm.loaded.targets[no_label].tolist() == [0.0, 0.0, 0.0, 0.0]
    kept = [r for i, r in enumerate(rows) if i not in (3, 11)]
    val_files = {f"{tmp_path}/{r[0]}" for r in kept if r[2] == "True"}
    assert {dm.paths[i] for i in dm.indices["val"]} == val_files
    assert not set(dm.indices["test"]) & set(dm.indices["val"]) and dm.indices["test"]
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 8, 8) and y.shape == (4, 4)

    with pytest.raises(ValueError, match=r"line 5: gone\.png"):
        ImageCsvDataModule(root=str(tmp_path), on_bad="fail", num_workers=0).setup()


def test_the_old_name_of_on_bad_is_refused_in_a_config_and_read_in_a_checkpoint(tmp_path):
    write_user_data(tmp_path)
    overrides = ["task=multilabel", "data=image_csv_multilabel", "+data.bad_rows=fail"]
    cfg = compose_config("train", [*overrides, f"data.root={tmp_path}"], tmp_path / "run")
    with pytest.raises(ValueError) as renamed:  # a user's own yaml, or +data.bad_rows=fail
        build_datamodule(cfg, MultiLabelTask)
    assert user_message(renamed.value) == (
        "data.bad_rows was renamed data.on_bad: set data.on_bad=fail instead (in your own "
        "data config too)"
    )
    # a checkpoint's data config from before the rename (same format version): today's name
    target = f"{ImageCsvDataModule.__module__}.ImageCsvDataModule"
    stored = {"_target_": target, "root": str(tmp_path), "bad_rows": "fail", "num_workers": 0}
    checkpoint = upgrade({"format_version": FORMAT_VERSION, "datamodule": stored}, "x.ckpt")
    config = dict(checkpoint["datamodule"])
    assert config.pop("_target_") == target and config["on_bad"] == "fail"
    assert "bad_rows" not in config
    with pytest.raises(ValueError, match=r"data\.on_bad=fail; skip them with data\.on_bad=skip"):
        ImageCsvDataModule(**config).setup()


def test_user_csv_trains_in_smoke_mode(run_train, tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    write_user_data(root)
    summary = run_train(
        "task=multilabel",
        "data=image_csv_multilabel",
        f"data.root={root}",
        "data.image_size=8",
        "data.num_workers=0",
        "data.batch_size=4",
        "data.test_fraction=0.15",
        "mode=smoke",
    )
    assert summary["status"] == "completed", summary.get("message")
    assert summary["data"]["skipped_files"] == 2 and summary["data"]["targets"] == 4
    assert set(summary["metrics"]["test"]) >= {"f1_micro", "exact_match", "map", "acc"}


@pytest.mark.feature("transfer", "lr_find")  # fine-tuning schedules, the zoo, the finder
def test_zoo_backbone_fine_tunes_and_lr_finder_reads_the_bce_loss(run_train):
    summary = run_train(
        "task=multilabel",
        "mode=smoke",
        "model=timm",
        "model.name=test_resnet",
        "model.input_size=16",
        "finetune=fine_tune",
        "finetune.freeze_epochs=1",
        "trainer.max_epochs=2",
        "evaluate.splits=[val]",
        "lr_find=apply",
        "lr_find.num_it=30",
    )
    assert summary["status"] == "completed", summary.get("message")
    stages = summary["verdicts"]["finetune"]["stages"]
    assert [s["stage"] for s in stages] == ["frozen", "unfrozen"]
    assert summary["lr_find"]["applied"] and summary["lr_find"]["suggestion"] > 0
    assert "f1_micro" in summary["metrics"]["val"]


def test_a_threshold_outside_0_1_is_a_task_error(run_train):
    """A user's mistake in a task option: one line (TaskError), not a traceback."""
    with pytest.raises(TaskError, match=r"task\.threshold must be in \(0, 1\), got 1\.5"):
        run_train("task=multilabel", "task.threshold=1.5")
