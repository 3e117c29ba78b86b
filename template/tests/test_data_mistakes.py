"""Data the user has to fix, said in one line (exit status 2): an empty or header-only table, a
single class; and a warning for a numeric column that a few text cells turn categorical."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import get_class

from {{ cookiecutter.package_name }}.training.errors import user_message
from {{ cookiecutter.package_name }}.training.summary import is_user_error

from conftest import PROJECT, PROJECT_TASKS

# the tasks whose sources are tested here, each test marked with those it needs
IMAGE_TASKS = ("classification", "multilabel", "regression", "segmentation")
TABLE_TASKS = ("tabular", "tabular_regression")


def table(path: Path, **options):
    from {{ cookiecutter.package_name }}.data.tabular import TabularDataModule

    datamodule = TabularDataModule(path=str(path), y_names=["y"], **options)
    datamodule.setup()
    return datamodule


def one_line_user_error(error: BaseException, *words: str) -> None:
    message = user_message(error)
    assert is_user_error(error) and message is not None, repr(error)
    assert "\n" not in message and all(word in message for word in words), message


@pytest.mark.task(*TABLE_TASKS)
@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", ["is empty", "header line and rows"]),
        ("a,b,y\n", ["column names (a, b, y)", "no rows"]),
        ("a,y\n1,0\n2,0\n3,0\n", ["one class found (0)", "two or more"]),
    ],
    ids=["empty_file", "header_only", "one_class"],
)
def test_unusable_tables_are_one_line(tmp_path, content, words):
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(ValueError) as raised:
        table(path)
    one_line_user_error(raised.value, str(path), *words)


@pytest.mark.task(*TABLE_TASKS, "collab")
@pytest.mark.feature("deploy")
@pytest.mark.parametrize("content", ["", 'a,y\n"1,0\n', b"a,y\n\xff\xfe,1\n"])
def test_unreadable_rows_to_predict_are_a_user_error(tmp_path, content):
    """predict.py and serve.py show an input problem in one line, and any other ValueError
    (a bug) with its traceback: the readers (of the project's tasks) say which is which."""
    readers = []
    if PROJECT_TASKS.intersection(TABLE_TASKS):
        rows = "".join(f"{i * 1.5},{i % 2}\n" for i in range(20))
        (tmp_path / "t.csv").write_text("a,y\n" + rows)
        readers.append(table(tmp_path / "t.csv"))
    if "collab" in PROJECT_TASKS:
        from {{ cookiecutter.package_name }}.data.ratings import RatingsDataModule

        ratings_file = tmp_path / "r.csv"
        pairs = "".join(f"u{i % 5},i{i % 7},3\n" for i in range(40))
        ratings_file.write_text("user,item,rating\n" + pairs)
        ratings = RatingsDataModule(path=str(ratings_file))
        ratings.setup()
        readers.append(ratings)
    new = tmp_path / "new.csv"
    (new.write_bytes if isinstance(content, bytes) else new.write_text)(content)
    for datamodule in readers:
        with pytest.raises(ValueError) as raised:
            datamodule.read_items(new)
        one_line_user_error(raised.value, f"inputs={new}")


@pytest.mark.task(*TABLE_TASKS)
def test_a_few_text_cells_in_a_numeric_column_are_named(tmp_path, caplog):
    rows = [f"{i * 1.5},{i % 2}" for i in range(40)]
    rows[7] = "about 3,1"  # data rows 7 and 21 (0-based) hold text
    rows[21] = "?,1"
    path = tmp_path / "t.csv"
    path.write_text("size,y\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        datamodule = table(path)
    assert datamodule.cat_names == ["size"]  # still categorical (as pandas read it) ...
    warning = " ".join(r.getMessage() for r in caplog.records if "size" in r.getMessage())
    for words in ("column 'size'", "2 cell(s) are text", "'about 3'", "[7, 21]", "data.cont_names"):
        assert words in warning, warning  # ... but said, with the rows to fix
    found = datamodule.describe()["text_in_numbers"]["size"]
    assert found["rows"] == 2 and found["first_rows"] == [7, 21]


@pytest.mark.task(*TABLE_TASKS)
def test_a_text_column_is_not_mistaken_for_numbers(tmp_path, caplog):
    rows = [f"{['red', 'green', '3'][i % 3]},{i % 2}" for i in range(30)]
    path = tmp_path / "t.csv"
    path.write_text("colour,y\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        datamodule = table(path)
    assert "text_in_numbers" not in datamodule.describe()
    assert not [r for r in caplog.records if "colour" in r.getMessage()]


def one_class_folder(root: Path) -> Path:
    from PIL import Image

    (root / "cat").mkdir(parents=True)
    for i in range(6):
        Image.fromarray(np.full((8, 8, 3), i * 30, dtype=np.uint8)).save(root / "cat" / f"{i}.png")
    return root


@pytest.mark.task(*IMAGE_TASKS)
def test_an_image_folder_with_one_class_is_one_line(tmp_path, monkeypatch):
    from {{ cookiecutter.package_name }}.data.image_folder import ImageFolderDataModule

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    datamodule = ImageFolderDataModule(root=str(one_class_folder(tmp_path / "pets")), image_size=8)
    with pytest.raises(ValueError) as raised:
        datamodule.setup()
    one_line_user_error(raised.value, "one class found (cat)", "a classifier needs two or more")


@pytest.mark.parametrize(
    ("source", "content", "words"),
    [
        pytest.param(
            "image_csv.ImageCsvDataModule",
            "",
            ["has no column fname, labels"],
            marks=pytest.mark.task("multilabel"),
            id="empty_label_csv",
        ),
        pytest.param(
            "image_csv_regression.ImageCSVRegressionDataModule",
            "file,angle\n" + "".join(f"gone{i}.png,{i}\n" for i in range(8)),
            ["8 bad rows", "line 2: gone0.png", "; ... 3 more"],
            marks=pytest.mark.task("regression"),
            id="bad_rows_fail",
        ),
    ],
)
def test_image_csv_mistakes_are_one_line(tmp_path, source, content, words):
    data = get_class(f"{{ cookiecutter.package_name }}.data.{source}")
    (tmp_path / "labels.csv").write_text(content)
    with pytest.raises(ValueError) as raised:
        data(root=str(tmp_path), image_size=8).setup()
    one_line_user_error(raised.value, *words)


def test_what_to_do_with_unusable_items_has_one_name_in_every_data_config():
    """``on_bad`` (skip | fail) wherever a data config sets it; no old name is left (a user's
    old name is refused with the new one: test_multilabel.py, test_regression.py)."""
    from omegaconf import OmegaConf

    from {{ cookiecutter.package_name }}.training.checkpoints import RENAMED_DATA_SETTINGS

    configs = {p.stem: OmegaConf.load(p) for p in (PROJECT / "configs" / "data").glob("*.yaml")}
    old = {name: sorted(set(cfg) & set(RENAMED_DATA_SETTINGS)) for name, cfg in configs.items()}
    assert not any(old.values()), old
    choices = {name: cfg.on_bad for name, cfg in configs.items() if "on_bad" in cfg}
    assert set(choices.values()) <= {"skip", "fail"}, choices


@pytest.mark.slow
@pytest.mark.task("tabular", "classification")
def test_train_on_an_empty_csv_and_a_one_class_folder_exits_2(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    one_class_folder(tmp_path / "pets")
    cases = {  # those of the project's tasks
        "is empty": ["task=tabular", "data=table_csv", "data.path=empty.csv", "data.y_names=[y]"],
        "one class found (cat)": ["task=classification", "data=image_folder", "data.root=pets"],
    }
    cases = {
        expected: overrides
        for expected, overrides in cases.items()
        if overrides[0].removeprefix("task=") in PROJECT_TASKS
    }
    for expected, overrides in cases.items():
        result = subprocess.run(
            [sys.executable, str(PROJECT / "train.py"), *overrides, "mode=smoke"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        )
        output = result.stdout + result.stderr
        assert result.returncode == 2 and "Traceback" not in output, output
        errors = [line for line in output.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and expected in errors[0], output
{%- if "cv" not in cookiecutter.__features.split(",") %}


@pytest.mark.task(*IMAGE_TASKS)
def test_folds_without_the_cv_feature_say_how_to_add_it():
    # cv=kfold sets data.folds; set by hand where cv is not, it would be silently ignored
    from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule

    with pytest.raises(Exception) as caught:
        DigitsDataModule(folds=5)
    one_line_user_error(caught.value, "data.folds comes with the cv feature", "copier update")
{%- endif %}
