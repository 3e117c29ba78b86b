"""Tables: preprocessing learnt on the training split only and kept in the checkpoint, raw rows
through the predict path, bad input as one clear error, gradient boosting as the baseline to beat.
(The task contract over task=tabular / tabular_regression runs in test_tasks.py.)"""

import csv
import math
import random

import pytest
from hydra.utils import get_class

from {{ cookiecutter.package_name }}.analysis.predict import load_trained
{%- if "deploy" in cookiecutter.__features.split(",") %}
from {{ cookiecutter.package_name }}.analysis.predict_files import run as predict_run
{%- endif %}
from {{ cookiecutter.package_name }}.data.tabular import TabularDataModule
from {{ cookiecutter.package_name }}.data.tabular_errors import TableError
from {{ cookiecutter.package_name }}.inputs.table import TableFacts, TableInput, TableRows
from {{ cookiecutter.package_name }}.tasks.base import TaskError
from {{ cookiecutter.package_name }}.training.run import build_datamodule
from {{ cookiecutter.package_name }}.training.summary import is_user_error

from conftest import compose_config

COLUMNS = ["color", "size", "weight", "is_valid", "label"]


def write_table(path, rows: int = 120, seed: int = 0, shift: float = 0.0):
    """color (categorical), size (continuous, some missing), weight (continuous), is_valid,
    label (yes/no, from weight and color). Validation rows also have a color training never sees."""
    rng = random.Random(seed)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for i in range(rows):
            valid = i % 5 == 0
            color = "violet" if valid and i % 10 == 0 else rng.choice(["red", "green", "blue"])
            weight = rng.gauss(0, 1) + shift
            size = "" if i % 7 == 3 else round(rng.uniform(10, 20) + shift, 3)
            label = "yes" if weight + (0.5 if color == "red" else 0.0) > 0.2 else "no"
            writer.writerow([color, size, round(weight, 4), valid, label])
    return path


def table(path, **options) -> TabularDataModule:
    settings = {
        "path": str(path),
        "y_names": ["label"],
        "cat_names": ["color"],
        "cont_names": ["size", "weight"],
        "valid_column": "is_valid",
        "test_fraction": 0.1,
        **options,
    }
    datamodule = TabularDataModule(**settings)
    datamodule.setup()
    return datamodule


def test_preprocessing_is_learnt_on_the_training_split_only(tmp_path):
    datamodule = table(write_table(tmp_path / "t.csv"))
    state, frame = datamodule.input.state_dict(), datamodule.frame
    train = frame.iloc[datamodule.indices["train"]]
    assert state["categories"]["color"] == ["blue", "green", "red"]  # no val-only "violet"
    assert state["na_columns"] == ["size"]  # size has missing values: size_na is added
    assert state["fill"]["size"] == pytest.approx(train["size"].median())
    assert state["mean"]["weight"] == pytest.approx(train["weight"].mean())
    assert state["mean"]["weight"] != pytest.approx(frame["weight"].mean(), abs=1e-9)
    facts = datamodule.input_facts()
    assert facts.cardinalities == (4, 3) and facts.cat_names == ("color", "size_na")
    x = datamodule.loaded.inputs
    assert x.shape == (120, 4) and not x.isnan().any()
    violet = frame.index[frame["color"] == "violet"].tolist()
    assert (x[violet, 0] == 0).all()  # unseen category -> index 0
    assert datamodule.describe()["unknown_categories"] == {"color": len(violet)}
    weights = x[datamodule.indices["train"], 3]  # continuous: train mean 0, std 1
    assert float(weights.mean()) == pytest.approx(0.0, abs=1e-5)


def test_the_table_input_learns_on_training_rows_and_is_rebuilt_from_its_state(tmp_path):
    datamodule = table(write_table(tmp_path / "t.csv"))
    facts = datamodule.input_facts()
    assert isinstance(facts, TableFacts) and facts.kind == "table"
    assert facts.shape == (4,) and facts.cardinalities == (4, 3)
    assert facts.cat_names == ("color", "size_na") and facts.cont_names == ("size", "weight")
    restored = TableInput()  # what eval/predict do with the checkpoint's state: no refit
    restored.load_state_dict(datamodule.input.state_dict())
    assert restored.facts() == facts
    assert restored.encode(datamodule.frame).equal(datamodule.loaded.inputs)
    refit = TableInput()  # fitted on every row instead, the statistics differ
    refit.fit(datamodule.rows())
    assert refit.state_dict()["mean"] != datamodule.input.state_dict()["mean"]
    row = datamodule.indices["test"][0]
    assert datamodule.describe_input(row).startswith(f"color={datamodule.frame['color'][row]}, ")


@pytest.mark.parametrize(
    ("name", "kind", "rows", "target"),
    [
        pytest.param("breast_cancer", "class", 569, "diagnosis", marks=pytest.mark.task("tabular")),
        pytest.param(
            "diabetes",
            "continuous",
            442,
            "progression",
            marks=pytest.mark.task("tabular_regression"),
        ),
    ],
)
def test_an_embedded_table_is_a_source_option_not_a_class(tmp_path, name, kind, rows, target):
    task = "tabular" if kind == "class" else "tabular_regression"
    cfg = compose_config("train", [f"task={task}", f"data={name}"], tmp_path)
    assert cfg.data._target_.endswith("data.tabular.TabularDataModule")
    datamodule = build_datamodule(cfg, get_class(cfg.task._target_))
    assert datamodule.name == name and datamodule.target_kind == kind
    assert len(datamodule.loaded.targets) == rows and target not in datamodule.frame.columns
    assert datamodule.describe()["name"] == name
    with pytest.raises(TableError) as raised:
        TabularDataModule(embedded=name, path=str(tmp_path / "t.csv"), y_names=[target])
    assert is_user_error(raised.value) and "either data.path" in str(raised.value)


@pytest.mark.task("tabular")
def stars_table(tmp_path, kind: str):
    """A table with a class column (stars: 1-3) and a number column (score), and the user's own
    data config for it (configs/data/stars.yaml: the score, as ``kind`` targets)."""
    rng = random.Random(0)
    path = tmp_path / "stars.csv"
    path.write_text(
        "x,score,stars\n"
        + "".join(f"{rng.random():.3f},{rng.random():.6f},{i % 3 + 1}\n" for i in range(60))
    )
    configs = tmp_path / "configs"
    (configs / "data").mkdir(parents=True)
    (configs / "data/stars.yaml").write_text(
        f"defaults: [table_csv, _self_]\npath: {path}\ny_names: [score]\ntarget_kind: {kind}\n"
    )
    return path, f"hydra.searchpath=[file://{configs}]"


@pytest.mark.task("tabular")
def test_task_tabular_keeps_the_data_configs_target_kind(tmp_path):
    """A data config of numbers to predict (target_kind: continuous, as diabetes.yaml) under
    task=tabular is the task/data mismatch in one line, not its numbers read as classes (nor a
    split by class of numbers that all differ); data=table_csv still gives classes."""
    path, searchpath = stars_table(tmp_path, "continuous")
    overrides = [searchpath, "task=tabular", "data=stars"]
    cfg = compose_config("train", overrides, tmp_path)
    with pytest.raises(TaskError) as raised:
        build_datamodule(cfg, get_class(cfg.task._target_))
    assert is_user_error(raised.value)
    assert "has 'continuous' targets, but task=tabular needs 'class'" in str(raised.value)

    overrides = ["task=tabular", "data=table_csv", f"data.path={path}", "data.y_names=[stars]"]
    cfg = compose_config("train", overrides, tmp_path)
    datamodule = build_datamodule(cfg, get_class(cfg.task._target_))
    assert datamodule.target_kind == "class" and datamodule.target_names == ["1", "2", "3"]


@pytest.mark.task("tabular_regression")
def test_table_csv_targets_follow_the_task_and_a_class_config_is_a_mismatch(tmp_path):
    """table_csv's target_kind (null) is the task's: numbers under task=tabular_regression; a
    data config of classes under it is the mismatch in one line."""
    path, searchpath = stars_table(tmp_path, "class")
    overrides = [
        "task=tabular_regression",
        "data=table_csv",
        f"data.path={path}",
        "data.y_names=[score]",
    ]
    cfg = compose_config("train", overrides, tmp_path)
    assert cfg.data.target_kind is None
    datamodule = build_datamodule(cfg, get_class(cfg.task._target_))
    assert datamodule.target_kind == "continuous" and datamodule.target_names == ["score"]
    assert datamodule.config()["target_kind"] == "continuous"  # kept in checkpoints as resolved

    cfg = compose_config("train", [searchpath, "task=tabular_regression", "data=stars"], tmp_path)
    with pytest.raises(TaskError) as raised:
        build_datamodule(cfg, get_class(cfg.task._target_))
    assert is_user_error(raised.value)
    assert "has 'class' targets, but task=tabular_regression needs 'continuous'" in str(
        raised.value
    )


def test_parquet_reads_like_csv(tmp_path):
    import pandas as pd

    csv_path = write_table(tmp_path / "t.csv")
    pd.read_csv(csv_path).to_parquet(tmp_path / "t.parquet")
    from_csv, from_parquet = table(csv_path), table(tmp_path / "t.parquet")
    assert from_parquet.input.state_dict() == from_csv.input.state_dict()
    assert from_parquet.loaded.inputs.equal(from_csv.loaded.inputs)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"cont_names": ["size", "height"]}, ["height", "columns", "weight", "is_valid"]),
        ({"y_names": ["size"], "target_kind": "continuous"}, ["target", "missing"]),
        ({"corrupt": True}, ["weight", "1 value(s) that are not numbers", "'12kg'", "rows [4]"]),
    ],
    ids=["unknown_column", "missing_target", "text_in_continuous"],
)
def test_bad_tables_are_one_clear_user_error(tmp_path, change, words):
    path = write_table(tmp_path / "t.csv")
    if change.pop("corrupt", False):
        lines = path.read_text().splitlines()
        cells = lines[5].split(",")
        lines[5] = ",".join([*cells[:2], "12kg", *cells[3:]])  # data row 4: weight is text
        path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TableError) as raised:
        table(path, **change)
    assert is_user_error(raised.value)  # one line, exit status 2
    assert all(word in str(raised.value) for word in words), str(raised.value)


@pytest.mark.parametrize(
    ("cell", "role"),
    [("inf", "continuous"), ("-Infinity", "continuous"), ("1e400", "target")],
)
def test_an_infinite_number_is_one_clear_user_error_not_a_diverged_run(tmp_path, cell, role):
    path = write_table(tmp_path / "t.csv")
    lines = path.read_text().splitlines()
    cells = lines[2].split(",")
    lines[2] = ",".join([*cells[:2], cell, *cells[3:]])  # data row 1: weight is infinite
    path.write_text("\n".join(lines) + "\n")
    change = {"y_names": ["weight"], "target_kind": "continuous", "cont_names": ["size"]}
    with pytest.raises(TableError) as raised:
        table(path, **(change if role == "target" else {}))
    assert is_user_error(raised.value)  # one line, exit status 2
    message = str(raised.value)
    assert f"{role} column 'weight' has 1 infinite value(s)" in message, message
    assert "rows [1]" in message and "finite" in message


def test_the_table_input_learns_no_statistics_from_infinite_values():
    import pandas as pd

    frame = pd.DataFrame({"weight": [1.0, -math.inf, 2.0, math.inf]})  # (a Parquet file's floats)
    expected = r"continuous column 'weight' has 2 infinite value\(s\) \(-inf, inf; rows \[1, 3\]\)"
    with pytest.raises(TableError, match=expected):
        TableInput().fit(TableRows(frame, [], ["weight"]))


@pytest.mark.task("tabular")
def test_raw_rows_go_through_the_checkpoints_preprocessing(tmp_path, run_train):
    path = write_table(tmp_path / "t.csv")
    summary = run_train(
        "task=tabular",
        "data=table_csv",
        f"data.path={path}",
        "data.y_names=[label]",
        "data.cat_names=[color]",
        "data.cont_names=[size,weight]",
        "data.valid_column=is_valid",
        "trainer.max_epochs=2",
        "evaluate.tabular_baseline=false",
    )
    assert summary["status"] == "completed" and "reference_model" not in summary
    assert summary["data"]["unknown_categories"] == {"color": 12}  # val-only "violet" rows
    trained = load_trained(summary["best_checkpoint"])[1].input.state_dict()

    write_table(path, shift=5.0)  # the file changes after training: the checkpoint's
    datamodule = load_trained(summary["best_checkpoint"])[1]  # preprocessing still holds
    assert datamodule.input.state_dict() == trained
{%- if "deploy" in cookiecutter.__features.split(",") %}

    rows = tmp_path / "new.csv"  # with an ID, a target and a "row" of the user's own
    rows.write_text(
        "id,color,size,weight,label,row\n"
        "007,red,,1.5,yes,a\n008,turquoise,12.0,-2.0,no,b\n009,blue,15,,,c\n"
    )
    path.unlink()  # predicting needs the checkpoint only, not the training table
    cfg = compose_config(
        "predict",
        [f"ckpt_path={summary['best_checkpoint']}", f"inputs={rows}"],
        tmp_path / "predict",
    )
    result = predict_run(cfg)
    assert result["predicted"] == 3 and result["unknown_categories"] == {"color": 1}
    with open(result["predictions"], newline="") as file:
        predicted = list(csv.DictReader(file))
    assert [p["item"] for p in predicted] == ["new.csv:0", "new.csv:1", "new.csv:2"]
    assert all(p["label"] in ("no", "yes") and 0 <= float(p["probability"]) <= 1 for p in predicted)
    # what joins a prediction back to its row: its position, and the columns the model does
    # not read as the file spells them; the user's "label" and "row" make way for predict's own
    assert list(predicted[0]) == [
        "item",
        "row",
        "id",
        "input_label",
        "input_row",
        "label",
        "probability",
        "p_no",
        "p_yes",
    ]
    assert [(p["row"], p["id"], p["input_label"], p["input_row"]) for p in predicted] == [
        ("0", "007", "yes", "a"),
        ("1", "008", "no", "b"),
        ("2", "009", "", "c"),
    ]

    # a cell that is no number in a number column: one line naming the column and the cell
    # (not the training advice to list the column in data.cat_names)
    rows.write_text("color,size,weight\nred,12.5,1.5\nblue,abc,inf\n")
    with pytest.raises(TableError) as raised:
        predict_run(cfg)
    message = str(raised.value)
    assert is_user_error(raised.value) and "data.cat_names" not in message, message
    assert "column 'size' expects finite numbers" in message and "'abc' in row(s) [1]" in message
    assert "column 'weight' expects finite numbers" in message and "inf in row(s) [1]" in message
    assert message.count("inputs=") == 1, message  # the file named once, before both columns
{%- endif %}


@pytest.mark.task("tabular")
def test_full_run_beats_the_trivial_baseline_and_reports_gradient_boosting(run_train):
    summary = run_train("task=tabular", "trainer.max_epochs=4")
    fit, reference = summary["verdicts"]["fit"], summary["reference_model"]
    assert reference["name"] == "HistGradientBoostingClassifier" and reference["metric"] == "acc"
    assert 0.85 < reference["val"] <= 1 and 0.85 < reference["test"] <= 1
    assert "the network is" in fit["message"] and reference["name"] in fit["message"]
    assert fit["reference_gap"] == pytest.approx(fit["val"] - reference["val"])
    assert summary["metrics"]["test"]["acc"] > fit["baseline"] + 0.2  # majority class: ~0.63
    assert not math.isnan(summary["metrics"]["val"]["loss"])


def write_customers(path, rows: int = 60, sep: str = ","):
    """customer_id and signup_date (one value per row), plan (3 categories), spend (numbers, one
    per row), churn (stays/leaves)."""
    rng = random.Random(0)
    lines = [sep.join(["customer_id", "signup_date", "plan", "spend", "churn"])]
    for i in range(rows):
        plan = rng.choice(["basic", "plus", "pro"])
        churn = "leaves" if i % 3 == 0 else "stays"
        date = f"2024-{i % 12 + 1:02d}-{i // 12 + 1:02d}"
        lines.append(sep.join([f"c{i:04d}", date, plan, f"{rng.uniform(5, 90):.2f}", churn]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_id_and_date_columns_are_left_out_unless_listed(tmp_path, caplog):
    """cat_names null: a text column with (nearly) one value per row (an ID, a date) would be
    an unseen category in every val/test row: it is left out, in a warning and summary.json's
    data notes; listed in data.cat_names, it is kept."""
    path = write_customers(tmp_path / "customers.csv")
    datamodule = table(path, y_names=["churn"], cat_names=None, cont_names=None, valid_column=None)
    assert datamodule.cat_names == ["plan"] and datamodule.cont_names == ["spend"]
    data = datamodule.describe()
    assert data["left_out_columns"] == {"customer_id": 60, "signup_date": 60}
    note = next(n for n in data["notes"] if "left out" in n)
    assert "'customer_id'" in note and "'signup_date'" in note and "data.cat_names" in note
    assert any("'customer_id' (60 values)" in r.getMessage() for r in caplog.records)
{%- if "deploy" in cookiecutter.__features.split(",") %}

    # rows to predict keep what the model left out, as written (IDs with their leading zeros)
    new = tmp_path / "new.csv"
    new.write_text("customer_id,signup_date,plan,spend\n0042,2025-01-01,pro,12.5\n0043,,basic,\n")
    names, inputs, notes = datamodule.input.read_items(new)
    assert len(names) == len(inputs) == 2 and notes["rows"] == [0, 1]
    assert notes["columns"] == {"customer_id": ["0042", "0043"], "signup_date": ["2025-01-01", ""]}
{%- endif %}

    listed = ["customer_id", "signup_date", "plan"]
    datamodule = table(
        path, y_names=["churn"], cat_names=listed, cont_names=None, valid_column=None
    )
    assert datamodule.cat_names == listed and "left_out_columns" not in datamodule.describe()


@pytest.mark.parametrize(
    ("kind", "target", "words"),
    [
        ("continuous", "churn", ["target column 'churn'", "'leaves', 'stays'", "task=tabular"]),
        ("class", "spend", ["'spend' holds numbers", "60 rows", "task=tabular_regression"]),
    ],
    ids=["classes_as_numbers", "numbers_as_classes"],
)
def test_a_target_of_the_other_kind_names_the_task(tmp_path, kind, target, words):
    path = write_customers(tmp_path / "customers.csv")
    columns = {"cat_names": ["plan"], "cont_names": None, "valid_column": None}
    with pytest.raises(TableError) as raised:
        table(path, y_names=[target], target_kind=kind, **columns)
    assert is_user_error(raised.value)
    assert all(word in str(raised.value) for word in words), str(raised.value)
    assert "data.cat_names" not in str(raised.value)


@pytest.mark.task("tabular")
def test_a_semicolon_separated_file_is_told_and_read_with_data_sep(tmp_path):
    path = write_customers(tmp_path / "customers.csv", sep=";")
    overrides = ["task=tabular", "data=table_csv", f"data.path={path}", "data.y_names=[churn]"]
    cfg = compose_config("train", overrides, tmp_path)
    with pytest.raises(TableError) as raised:
        build_datamodule(cfg, get_class(cfg.task._target_))
    assert is_user_error(raised.value)
    assert "separated by ';'" in str(raised.value) and "data.sep=';'" in str(raised.value)

    cfg = compose_config("train", [*overrides, "data.sep=';'"], tmp_path)
    datamodule = build_datamodule(cfg, get_class(cfg.task._target_))
    assert datamodule.cat_names == ["plan"] and datamodule.target_names == ["leaves", "stays"]
{%- if "deploy" in cookiecutter.__features.split(",") %}
    with pytest.raises(TableError) as raised:  # new rows to predict: the same line
        TableInput().read_items(path)
    assert "separated by ';'" in str(raised.value)
{%- endif %}
