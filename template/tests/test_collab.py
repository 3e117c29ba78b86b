"""Collaborative filtering: reading ratings files, unknown users/items, the time split, the models'
contract, a full run against the mean-rating baselines and the interpretation files. (The task
contract itself, overfit/lr=0/fraction/checkpoint/eval/clean-data, runs in test_tasks.py.)"""

import csv
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class
from torch import nn

from {{ cookiecutter.package_name }}.analysis.interpret import interpret
from {{ cookiecutter.package_name }}.analysis.predict import load_trained
from {{ cookiecutter.package_name }}.data.ratings import RatingsDataModule
from {{ cookiecutter.package_name }}.inputs.pair import PairFacts, PairInput
from {{ cookiecutter.package_name }}.models import create_model, model_config
from {{ cookiecutter.package_name }}.tasks.collab import CollabTask
from {{ cookiecutter.package_name }}.training.run import build_datamodule, build_module
from {{ cookiecutter.package_name }}.training.summary import is_user_error
from {{ cookiecutter.package_name }}.training.validate import ConfigError

from conftest import compose_config
from pngcheck import assert_png


def write_u_data(path: Path, extra: list[tuple] = ()) -> Path:
    """MovieLens 100k's u.data format: user<TAB>item<TAB>rating<TAB>timestamp, no header.
    Users 1..6 rate items 10..15 over time; user 99 and item 77 appear only in the newest rows."""
    rows = [(1 + k % 6, 10 + (k * 5) % 6, 1 + k % 5, 1000 + k) for k in range(36)]
    rows += [(99, 10, 4, 2000), (3, 77, 2, 2001), (99, 77, 5, 2002), *extra]
    path.write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    return path


def test_u_data_loads_time_split_and_unseen_users_items_get_the_unknown_index(tmp_path):
    path = write_u_data(tmp_path / "u.data")
    data = RatingsDataModule(
        path=str(path), format="movielens", split="time", val_fraction=0.15, test_fraction=0.15
    )
    data.setup()
    x, y = data.loaded.inputs, data.loaded.targets
    assert x.dtype == torch.long and x.shape == (39, 2) and y.shape == (39, 1)
    times = torch.tensor([1000 + k for k in range(36)] + [2000, 2001, 2002])
    newest_train = times[data.indices["train"]].max()
    assert newest_train < times[data.indices["val"]].min()  # later ratings in val, then test
    assert times[data.indices["val"]].max() < times[data.indices["test"]].min()
    assert data.vocab["users"] == ["1", "2", "3", "4", "5", "6"]  # learnt on training only
    assert "99" not in data.vocab["users"] and "77" not in data.vocab["items"]
    test = x[data.indices["test"]]
    assert (test[-1] == 0).all() and test[-2, 1] == 0 and test[-3, 0] == 0  # index 0: unknown
    unknown = data.describe()["ratings"]["unknown"]
    assert unknown["test"] == {"users": 1, "items": 1, "ratings": 3}
    facts = data.input_facts()
    assert (facts.kind, facts.n_users, facts.n_items) == ("pair", 7, 7)
    # the range and count of the training ratings are facts about targets: the task's
    targets = CollabTask.describe_targets(data.split_targets("train", full=True), data.target_names)
    assert CollabTask.default_y_range(targets) == [0.5, 5.5] and targets["count"] == 27

    # the checkpoint's config carries the mapping: a grown file is encoded as training did
    grown = write_u_data(tmp_path / "grown.data", extra=[(5, 12, 3, 5000), (123, 12, 3, 5001)])
    config = {k: v for k, v in data.config().items() if k != "_target_"}
    again = RatingsDataModule(**{**config, "path": str(grown)})
    again.setup()
    assert again.vocab == data.vocab
    assert again.loaded.inputs[-2].tolist() == [5, data.vocab["items"].index("12") + 1]
    assert again.loaded.inputs[-1, 0] == 0  # user 123: unknown
    # resuming: Lightning hands the stored mapping back through load_state_dict
    again.load_state_dict({"input": {"users": ["123"], "items": ["12"]}})
    assert again.loaded.inputs[-1].tolist() == [1, 1] and again.loaded.inputs[0].tolist() == [0, 0]


def test_the_pair_input_holds_the_vocabularies_and_the_training_ratings_are_public(tmp_path):
    path = write_u_data(tmp_path / "u.data")
    data = RatingsDataModule(path=str(path), format="movielens", split="time", fraction=0.5)
    facts = data.input_facts()
    assert facts == PairFacts(kind="pair", shape=(2,), n_users=7, n_items=7)
    assert "y_range" not in facts.describe()  # a fact about the targets, not the inputs
    pairs, ratings = data.training_ratings()  # the full training split, whatever the fraction
    assert len(ratings) == data.full_train_size == 27 > data.sizes()["train"]
    assert ratings.equal(data.split_targets("train", full=True)[:, 0])
    assert pairs.shape == (27, 2) and (pairs > 0).all()  # training knows its own users/items
    assert data.item_counts().sum() == 27
    restored = PairInput()  # eval/predict: the checkpoint's vocabularies, no refit
    restored.load_state_dict(data.input.state_dict())
    known = data.vocab["items"].index("10") + 1
    assert restored.encode(["1", "99"], [10, "77"]).tolist() == [[1, known], [0, 0]]


def test_csv_columns_by_name_and_a_clear_error_for_missing_ones(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(
        "who,what,stars\n" + "".join(f"a{k % 5},b{k % 7},{1 + k % 5}\n" for k in range(40))
    )
    data = RatingsDataModule(path=str(path), user_col="who", item_col="what", rating_col="stars")
    assert data.sizes() == {"train": 28, "val": 6, "test": 6}
    with pytest.raises(ConfigError, match=r"no column data.rating_col=rating; .*'stars'"):
        RatingsDataModule(path=str(path), user_col="who", item_col="what").setup()
    with pytest.raises(ConfigError, match="split=time needs timestamps"):
        RatingsDataModule(
            path=str(path), user_col="who", item_col="what", rating_col="stars", split="time"
        ).setup()


@pytest.mark.parametrize(
    ("text", "settings", "words"),
    [
        (
            "user,item,rating\n" + "u,i,4\n" * 20 + "u,i,four\n",
            {},
            ["1 rating", "'four'", "row 21"],
        ),
        ("user,item,rating\n" + "u,i,4\n" * 20 + "u,i,\n", {}, ["1 rating", "missing"]),
        ("user,item,stars\n" + "u,i,4\n" * 20, {}, ["data.rating_col=rating", "'stars'"]),
        ("user,item,rating\n" + "u,i,4\n" * 5, {}, ["5 ratings are too few"]),
        ("", {}, ["not a ratings file"]),
        ("user,item,rating\n" + "u,i,4\n" * 20, {"valid_column": "v"}, ["data.valid_column=v"]),
    ],
)
def test_a_ratings_file_that_cannot_be_used_is_one_line_exit_2(tmp_path, text, settings, words):
    path = tmp_path / "ratings.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        RatingsDataModule(path=str(path), **settings).setup()
    assert is_user_error(raised.value)  # one line, exit status 2
    assert all(word in str(raised.value) for word in words), str(raised.value)
{%- if "clean" in cookiecutter.__features.split(",") %}


def test_a_review_s_decisions_are_refused_for_ratings_not_ignored(tmp_path):
    with pytest.raises(ConfigError, match="not applied to ratings") as caught:
        RatingsDataModule(decisions=str(tmp_path / "decisions.json"))
    assert is_user_error(caught.value)
{%- endif %}


def test_a_given_validation_column_is_the_val_split_and_leaves_no_test_by_default(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(
        "user,item,rating,is_valid\n"
        + "".join(f"a{k % 5},b{k % 7},{1 + k % 5},{k % 4 == 0}\n" for k in range(40))
    )
    data = RatingsDataModule(path=str(path), valid_column="is_valid")
    assert data.sizes() == {"train": 30, "val": 10, "test": 0}
    assert data.indices["val"] == list(range(0, 40, 4))
    carved = RatingsDataModule(path=str(path), valid_column="is_valid", test_fraction=0.25)
    assert carved.sizes() == {"train": 20, "val": 10, "test": 10}
    assert carved.indices["val"] == data.indices["val"]
    assert RatingsDataModule(path=str(path)).sizes()["test"] == 6  # no given split: 15 %


@pytest.mark.parametrize("name", ["dot_bias", "collab_nn"])
def test_collab_models_answer_the_model_contract(name):
    model = create_model(model_config(name), 1, PairFacts("pair", (2,), n_users=5, n_items=4))
    x = torch.tensor([[0, 0], [4, 3], [1, 2]])
    assert model.eval()(x).shape == (3, 1)
    groups = model.layer_groups()
    assert groups[-1] is model.head
    assert (
        sum(p.numel() for g in groups for p in g.parameters()) == model.parameter_counts()["total"]
    )
    assert model.item_factors().shape == (4, 50)


def test_full_run_beats_the_mean_rating_baselines_and_interprets(run_train, tmp_path):
    summary = run_train("task=collab")
    test = summary["metrics"]["test"]
    task, data = load_trained(summary["best_checkpoint"])
    report = interpret(task, data, tmp_path / "eval", "test", top_k=5)
    base = report["baseline_rmse"]
    # measured (seed 42, one thread): RMSE 0.805 vs global mean 1.161 and item mean 1.064
    assert test["r2"] >= 0.40 and report["r2"] == pytest.approx(test["r2"], abs=1e-4)
    assert test["rmse"] <= base["item_mean"] - 0.2 and base["item_mean"] < base["global_mean"]
    assert {
        "worst.csv",
        "item_bias.csv",
        "similar_items.csv",
        "item_factors_pca.png",
        "predictions.csv",
    } <= set(report["files"])
    assert_png(Path(report["folder"]) / "item_factors_pca.png")
    assert len(report["highest_bias"]) == 3 and report["item_effect"] == "learned bias"
    assert "unknown index" in summary["data"]["ratings"]["message"]


def test_ratings_still_improve_at_the_last_epoch_and_beat_the_bias_only_baseline(run_train):
    """Enough users and items to overfit (400 x 600, about 14,000 noisy ratings, a weak taste
    signal): with the defaults, the last epoch's val RMSE stays within 1 % of the best epoch's
    and below the bias-only baseline's (a trainable scale on the dot product and AdamW's weight
    decay alone overfitted from the first epochs, ending above that baseline)."""
    summary = run_train(
        "task=collab",
        "data.synthetic={users: 400, items: 600, density: 0.06, noise: 0.9, taste: 0.5}",
    )
    with open(Path(summary["output_dir"]) / "csv" / "metrics.csv", newline="") as file:
        val = [float(row["val/rmse"]) for row in csv.DictReader(file) if row.get("val/rmse")]
    assert len(val) == summary["trainer"]["epochs"] == 30
    reference = summary["reference_model"]
    assert reference["name"] == "bias-only baseline" and reference["metric"] == "r2"
    assert val[-1] <= 1.01 * min(val), val
    assert val[-1] < reference["rmse"]["val"], (val, reference)
    fit = summary["verdicts"]["fit"]
    assert "above the bias-only baseline" in fit["message"]
    assert fit["reference_gap"] == pytest.approx(fit["val"] - reference["val"])
    assert "fix the bias first" not in fit["message"]


def test_a_model_without_biases_is_interpreted_by_its_mean_predictions(tmp_path):
    cfg = compose_config(
        "train",
        ["task=collab", "model=collab_nn", "data.synthetic={users: 30, items: 20, density: 0.3}"],
        tmp_path,
    )
    task_cls = get_class(cfg.task._target_)
    data = build_datamodule(cfg, task_cls)
    module = build_module(cfg, task_cls, data)
    report = interpret(module, data, tmp_path, "val", top_k=3)
    assert report["item_effect"] == "mean predicted rating"
    rows = (Path(report["folder"]) / "item_bias.csv").read_text().splitlines()
    assert rows[0] == "rank,item,bias,train_ratings,end" and len(rows) == 1 + 6


class UsersDotItems(nn.Module):
    """A user's own ratings model: a user vector . an item vector + an item bias, no
    ``squared_norm()``."""

    def __init__(self, n_users: int, n_items: int) -> None:
        super().__init__()
        self.users, self.items = nn.Embedding(n_users, 3), nn.Embedding(n_items, 3)
        self.item_bias = nn.Embedding(n_items, 1)

    def forward(self, x):
        users, items = self.users(x[:, 0]), self.items(x[:, 1])
        return (users * items).sum(1, keepdim=True) + self.item_bias(x[:, 1])


def test_l2_acts_on_the_embeddings_of_a_model_without_squared_norm(tmp_path):
    cfg = compose_config(
        "train", ["task=collab", "data.synthetic={users: 30, items: 20, density: 0.3}"], tmp_path
    )
    task_cls = get_class(cfg.task._target_)
    data = build_datamodule(cfg, task_cls)
    module = build_module(cfg, task_cls, data)
    task = module.task
    assert task.l2 > 0  # the default task.l2 applies
    module.model = UsersDotItems(31, 21)
    x = data.loaded.inputs[:8]
    outputs, targets = module(x), torch.zeros(8, 1)
    squares = sum(p.pow(2).sum() for p in module.model.parameters())
    plain = task.loss(outputs, targets)
    loss = plain + task.penalty(module.model)  # the training step's loss
    assert torch.allclose(loss, plain + task.l2 * squares)
    loss.backward()  # the penalty pulls even the rows this batch does not use
    unused = sorted(set(range(21)) - set(x[:, 1].tolist()))
    assert module.model.item_bias.weight.grad[unused].abs().sum() > 0


def test_collab_reads_its_rating_range_and_count_from_the_training_targets():
    """y_range's default and the per-rating L2 come from the training ratings the task describes,
    not from facts of the inputs."""
    ratings = torch.tensor([[1.0], [2.0], [4.0], [2.0]])
    targets = CollabTask.describe_targets(ratings, ["rating"])
    task = CollabTask(targets, l2=8.0)  # (no input facts: no y_range, no rating count)
    mean, std = float(ratings.mean()), float(ratings.std())
    assert float(task.low) == pytest.approx((0.5 - mean) / std)
    assert float(task.high) == pytest.approx((4.5 - mean) / std)
    assert task.l2 == pytest.approx(8.0 / 4)
