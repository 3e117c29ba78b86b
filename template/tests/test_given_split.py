"""A validation split the user gives (a list file, a train/ + valid/ layout, a column) is used as
given, and no test split is carved out of the training items unless data.test_fraction asks."""

from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.training.errors import user_message

from conftest import PROJECT_TASKS

# the tasks whose sources are tested here, each test marked with those it needs
IMAGE_TASKS = ("classification", "multilabel", "regression", "segmentation")
TABLE_TASKS = ("tabular", "tabular_regression")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):  # (outside tmp_path: the data roots are there)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paths.append(folder / f"{i}.png")
        Image.fromarray(rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)).save(paths[-1])
    return paths


def folder_data(root: Path, **options):
    from {{ cookiecutter.package_name }}.data.image_folder import ImageFolderDataModule

    datamodule = ImageFolderDataModule(root=str(root), batch_size=4, num_workers=0, **options)
    datamodule.setup()
    return datamodule


def keys(datamodule, split: str) -> list[str]:
    return sorted(datamodule.loaded.item_keys[i] for i in datamodule.indices[split])


@pytest.mark.task(*IMAGE_TASKS)
def test_an_image_folder_takes_a_list_of_validation_images(tmp_path):
    for name in ("cat", "dog"):
        images(tmp_path / name, 10)
    listed = ["cat/0.png", "cat/1.png", "dog/0.png", str(tmp_path / "dog" / "5.png")]
    (tmp_path / "valid.txt").write_text("\n".join(listed) + "\n")
    datamodule = folder_data(tmp_path)
    assert keys(datamodule, "val") == ["cat/0.png", "cat/1.png", "dog/0.png", "dog/5.png"]
    assert datamodule.indices["test"] == [] and len(datamodule.indices["train"]) == 16
    split = datamodule.describe()["split"]
    assert split == {"val_given": True, "val": "the list valid.txt", "test_fraction": 0.0}
    assert "data.test_fraction=0 by default" in " ".join(datamodule.notes())
    asked = folder_data(tmp_path, test_fraction=0.2)  # a test split only when asked for
    assert keys(asked, "val") == keys(datamodule, "val") and len(asked.indices["test"]) == 4


@pytest.mark.task(*IMAGE_TASKS)
def test_an_image_folder_takes_a_train_and_valid_layout(tmp_path):
    for split, count in (("train", 8), ("valid", 3)):
        for name in ("cat", "dog"):
            images(tmp_path / split / name, count, seed=count)
    datamodule = folder_data(tmp_path)
    assert datamodule.class_names == ["cat", "dog"]  # not "train" and "valid"
    assert all(key.startswith("valid/") for key in keys(datamodule, "val"))
    assert len(datamodule.indices["val"]) == 6 and len(datamodule.indices["train"]) == 16
    assert datamodule.indices["test"] == []
    assert datamodule.describe()["split"]["val"] == "the valid/ folder next to train/"
    val_labels = datamodule.split_targets("val").tolist()
    assert sorted(val_labels) == [0, 0, 0, 1, 1, 1]  # labelled by class name


@pytest.mark.task(*IMAGE_TASKS)
def test_a_validation_class_that_is_never_trained_on_is_one_line(tmp_path):
    for name in ("cat", "dog"):
        images(tmp_path / "train" / name, 4)
    images(tmp_path / "valid" / "bird", 2)
    with pytest.raises(ValueError) as raised:
        folder_data(tmp_path)
    message = user_message(raised.value)
    assert message and "['bird']" in message and "must also be trained on" in message


@pytest.mark.task(*IMAGE_TASKS)
def test_a_list_that_names_nothing_under_root_is_one_line(tmp_path):
    for name in ("cat", "dog"):
        images(tmp_path / name, 4)
    (tmp_path / "valid.txt").write_text("elsewhere/1.png\n")
    with pytest.raises(ValueError) as raised:
        folder_data(tmp_path)
    assert "none of them under data.root" in (user_message(raised.value) or "")


@pytest.mark.task(*TABLE_TASKS)
def test_a_valid_column_leaves_every_other_row_to_training(tmp_path):
    from {{ cookiecutter.package_name }}.data.tabular import TabularDataModule

    rows = [f"{i},{i % 2},{i % 4 == 0}" for i in range(40)]
    (tmp_path / "t.csv").write_text("x,y,is_valid\n" + "\n".join(rows) + "\n")
    path = str(tmp_path / "t.csv")
    datamodule = TabularDataModule(path=path, y_names=["y"], valid_column="is_valid")
    datamodule.setup()
    assert datamodule.sizes() == {"train": 30, "val": 10, "test": 0}
    assert datamodule.describe()["split"]["val"] == "data.valid_column=is_valid"
    without = TabularDataModule(path=path, y_names=["y"], cont_names=["x"])
    without.setup()  # no given split: the seeded fractions, test included
    assert without.sizes()["test"] == 6 and without.describe()["split"]["val"] == "seeded"


@pytest.mark.task("regression")
def test_image_regression_takes_a_valid_column(tmp_path):
    from {{ cookiecutter.package_name }}.data.image_csv_regression import (
        ImageCSVRegressionDataModule,
    )

    paths = images(tmp_path / "img", 12)
    lines = [f"img/{p.name},{i * 0.5},{i < 3}" for i, p in enumerate(paths)]
    (tmp_path / "labels.csv").write_text("file,angle,is_valid\n" + "\n".join(lines) + "\n")
    datamodule = ImageCSVRegressionDataModule(root=str(tmp_path), batch_size=4, num_workers=0)
    datamodule.setup()
    assert datamodule.target_names == ["angle"]  # is_valid is not a target
    assert keys(datamodule, "val") == ["img/0.png", "img/1.png", "img/2.png"]
    assert datamodule.sizes() == {"train": 9, "val": 3, "test": 0}


@pytest.mark.task(*TABLE_TASKS, "collab", "text", "regression")
@pytest.mark.parametrize("flag", ["valid", "maybe", "nan"])
def test_a_valid_column_value_that_is_neither_true_nor_false_is_one_line(tmp_path, flag):
    """Every source reads its validation column the same way: a value it does not know is
    an error naming its line, never training data without a word. (pandas reads "nan" as an
    empty cell, which is training in every source: the sources read with pandas cannot tell.)
    The sources of the project's tasks, each imported only when the project has it."""
    rows = [[f"{i}", f"{i % 2}", "true" if i % 4 == 0 else "0"] for i in range(40)]
    rows[6][2] = flag  # line 8 of the file
    content = "".join(",".join(row) + "\n" for row in rows)
    table = tmp_path / "t.csv"
    table.write_text("x,y,is_valid\n" + content)
    ratings = tmp_path / "r.csv"
    ratings.write_text(
        "user,item,rating,is_valid\n"
        + "".join(f"u{i % 5},i{i % 7},3,{row[2]}\n" for i, row in enumerate(rows))
    )
    paths = images(tmp_path / "img", 40)
    labels = tmp_path / "labels.csv"
    lines = [f"img/{p.name},{i},{rows[i][2]}\n" for i, p in enumerate(paths)]
    labels.write_text("file,angle,is_valid\n" + "".join(lines))
    readers = {}
    if PROJECT_TASKS.intersection(TABLE_TASKS):
        from {{ cookiecutter.package_name }}.data.tabular import TabularDataModule

        readers["table"] = lambda: TabularDataModule(
            path=str(table), y_names=["y"], valid_column="is_valid"
        ).setup()
    if "collab" in PROJECT_TASKS:
        from {{ cookiecutter.package_name }}.data.ratings import RatingsDataModule

        readers["ratings"] = lambda: RatingsDataModule(
            path=str(ratings), valid_column="is_valid"
        ).setup()
    if "text" in PROJECT_TASKS:
        from {{ cookiecutter.package_name }}.data.text import read_table

        readers["text"] = lambda: read_table(table, "x", "y", "is_valid")
    if "regression" in PROJECT_TASKS:
        from {{ cookiecutter.package_name }}.data.image_csv_regression import (
            ImageCSVRegressionDataModule,
        )

        readers["image_regression"] = lambda: ImageCSVRegressionDataModule(
            root=str(tmp_path), batch_size=4, num_workers=0
        ).setup()
    if flag == "nan":  # read as an empty cell by pandas
        for name in ("table", "ratings"):
            readers.pop(name, None)
    for name, read in readers.items():
        with pytest.raises(ValueError) as raised:
            read()
        message = user_message(raised.value) or ""
        assert "line 8" in message and f"'{flag}'" in message and "\n" not in message, name
