"""Every option of every config group composes (and every model builds and runs)."""

import json

import pytest
import torch
from omegaconf import OmegaConf
from omegaconf.errors import InterpolationKeyError

from conftest import CONFIGS, PROJECT_TASKS, compose_config

GROUPS = sorted(p.name for p in CONFIGS.iterdir() if p.is_dir())
OPTIONS = [(group, f.stem) for group in GROUPS for f in sorted((CONFIGS / group).glob("*.yaml"))]


def test_every_group_has_options():
    assert {
        "mode",
        "data",
        "model",
        "optimizer",
        "scheduler",
        "trainer",
        "logger",
        "callbacks",
        "experiment",
        "augment",
    } <= set(GROUPS)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes(group, option, tmp_path):
    # a data option serves the tasks its targets fit (digits' classes are no masks for
    # segmentation's void pixels): it composes with at least one of the project's tasks
    tasks = [f"task={name}" for name in sorted(PROJECT_TASKS)] if group == "data" else [None]
    unresolved = []
    for task in tasks:
        cfg = compose_config("train", [f"{group}={option}", *filter(None, [task])], tmp_path)
        try:
            plain = OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
            break
        except InterpolationKeyError as error:
            unresolved.append(f"{task}: {error}")
    else:
        pytest.fail("; ".join(unresolved))
    assert plain["paths"]["output_dir"] == str(tmp_path)
    if group in ("mode", "model", "data"):
        assert cfg[group]["name" if group != "data" else "_target_"]


def test_dev_installs_every_extra_the_tests_use():
    """`pip install -e ".[dev]"` brings every other extra: the sweeper composed above, export,
    serving and each logger are tested, not skipped."""
    import tomllib

    project = tomllib.loads((CONFIGS.parent / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    itself = [r for r in extras["dev"] if r.startswith(f"{project['name']}[")]
    assert len(itself) == 1, extras["dev"]
    assert set(itself[0].partition("[")[2].rstrip("]").split(",")) == set(extras) - {"dev"}


@pytest.mark.parametrize("mode", ["overfit", "fraction", "full", "smoke"])
def test_modes_are_configuration(mode, tmp_path):
    cfg = compose_config("train", [f"mode={mode}"], tmp_path)
    assert cfg.mode.name == mode
    regularized = mode in ("full", "smoke")
    assert cfg.regularize == regularized  # one switch: dropout, weight decay, label smoothing
    assert (cfg.data.augment.name != "none") == regularized
    assert (cfg.data.overfit_batches > 0) == (mode == "overfit")
    assert (cfg.data.fraction < 1.0) == (mode == "fraction")


def test_eval_config_composes(tmp_path):
    cfg = compose_config("eval", ["ckpt_path=some.ckpt"], tmp_path)
    assert cfg.ckpt_path == "some.ckpt" and list(cfg.splits) == ["train", "val", "test"]


@pytest.mark.parametrize("option", sorted(f.stem for f in (CONFIGS / "model").glob("*.yaml")))
def test_every_model_config_builds_and_runs(option, tmp_path, request):
    """The one rule: a model yaml instantiates to a partial of its registered builder, which
    builds for the data it is made for (images, else the first task's data set whose facts are
    of the type its builder declares) and refuses other inputs in one line."""
    from hydra.utils import instantiate

    from {{ cookiecutter.package_name }}.inputs.base import InputFacts
    from {{ cookiecutter.package_name }}.models import (
        ModelInputError,
        create_model,
        model_head,
    )
    from {{ cookiecutter.package_name }}.training.summary import is_user_error

    cfg = OmegaConf.to_container(compose_config("train", [f"model={option}"], tmp_path).model)
    assert instantiate(cfg).func.spec.name in (option, cfg["name"])  # a partial of its builder
    if option == "hf_text":  # a pretrained text model: a tiny one, saved locally
        cfg["name"] = str(request.getfixturevalue("tiny_text_model"))
    facts, x = InputFacts("image", (1, 8, 8)), torch.randn(4, 1, 8, 8)
    try:
        model = create_model(cfg, 10, facts)
    except ModelInputError as error:  # made for other inputs (ratings, texts): a task's own data
        assert is_user_error(error) and "\n" not in str(error)
        assert f"model '{cfg['name']}' needs " in str(error) and "data gives image" in str(error)
        facts, x = facts_of_a_task_data_set(cfg, tmp_path)
        model = create_model(cfg, 10, facts)
    model.eval()  # (BatchNorm in a table model: any batch size)
    # pooled: one output vector per item; dense: one per pixel (segmentation)
    expected = (4, 10) if model_head(cfg) == "pooled" else (4, 10, 8, 8)
    assert model(x).shape == expected
    groups = model.layer_groups()
    assert groups[-1] is model.head  # groups run from input to output, head last
    assert (
        sum(p.numel() for g in groups for p in g.parameters()) == model.parameter_counts()["total"]
    )


def facts_of_a_task_data_set(cfg: dict, tmp_path) -> tuple:
    """(input facts, a batch of 4) of the first task's default data set whose facts are of the
    type the model's builder declares."""
    from hydra.utils import get_class

    from {{ cookiecutter.package_name }}.models.registry import model_spec
    from {{ cookiecutter.package_name }}.training import run

    needed = model_spec(cfg).facts
    for task in sorted(f.stem for f in (CONFIGS / "task").glob("*.yaml")):
        task_cfg = compose_config("train", [f"task={task}"], tmp_path / task)
        datamodule = run.build_datamodule(task_cfg, get_class(task_cfg.task._target_))
        facts = datamodule.input_facts()
        if isinstance(facts, needed):
            x, _ = next(iter(datamodule.eval_dataloaders(["train"])[0]))
            return facts, x[:4]
    raise AssertionError(f"no task's data set gives {needed.__name__}")


@pytest.mark.task("classification")
@pytest.mark.task("collab")
def test_a_model_made_for_other_inputs_stops_the_run_in_one_line(run_train, tmp_path):
    from {{ cookiecutter.package_name }}.training.errors import user_message

    with pytest.raises(Exception) as raised:
        run_train("mode=smoke", "task=classification", "model=dot_bias")  # digits' images
    message = user_message(raised.value)
    assert message == (
        "model 'dot_bias' needs pair inputs; the data gives image inputs: pick a model made for "
        "this data (python -m {{ cookiecutter.package_name }}.models list)"
    )
    written = json.loads(next(tmp_path.glob("run*/summary.json")).read_text())
    assert written["exit_code"] == 2


# the ladder's models
@pytest.mark.task("classification", "multilabel", "regression", "segmentation")
def test_a_model_config_names_its_registered_builder(tmp_path):
    from {{ cookiecutter.package_name }}.inputs.base import InputFacts
    from {{ cookiecutter.package_name }}.models import (
        create_model,
        model_config,
        register_model,
    )

    digits = InputFacts("image", (1, 8, 8))
    with pytest.raises(ValueError, match="choose the model with model=mlp"):
        create_model(model_config("cnn", name="mlp"), 10, digits)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        create_model(model_config("cnn", name="nope"), 10, digits)
    with pytest.raises(ValueError, match=r"has no option\(s\) \['wdith'\]; its options: \["):
        create_model(model_config("cnn", wdith=8), 10, digits)
    with pytest.raises(ValueError, match=r"_target_: <package>\.models\.<module>\.<builder>"):
        create_model({"name": "cnn", "width": 8}, 10, digits)  # the form before _target_
    with pytest.raises(TypeError, match=r"start with \(num_outputs, facts: InputFacts\)"):
        register_model("by_parameter_names")(lambda num_outputs, input_shape: None)


def test_a_checkpoint_keeps_plain_configs_that_rebuild_the_same_objects(run_train):
    """Partials are made at use, never stored: the checkpoint loads weights-only and its
    configs build the model, optimizer and scheduler again by the same rule."""
    from {{ cookiecutter.package_name }}.analysis.predict import load_trained
    from {{ cookiecutter.package_name }}.models import (
        create_model,
        facts_from_config,
    )
    from {{ cookiecutter.package_name }}.training.optim import (
        build_optimizer,
        build_scheduler,
    )

    summary = run_train("mode=smoke", "optimizer=sgd", "scheduler=cosine")
    checkpoint = torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=True)
    saved = checkpoint["hyper_parameters"]
    for group in ("model", "optimizer", "scheduler", "inputs"):
        assert type(saved[group]) is dict and "_target_" in saved[group], group
    outputs = load_trained(summary["best_checkpoint"])[0].task.num_outputs()  # digits: 10
    model = create_model(saved["model"], outputs, facts_from_config(saved["inputs"]))
    assert model.parameter_counts()["total"] == summary["model"]["params_total"]
    groups = [{"params": list(model.parameters()), "lr": saved["optimizer"]["lr"]}]
    optimizer = build_optimizer(saved["optimizer"], groups)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["nesterov"] is True
    scheduler = build_scheduler(saved["scheduler"], optimizer, 10)["scheduler"]
    assert isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR)


FORMAT_1_OPTIMIZER = {"_target_": "torch.optim.AdamW", "lr": 1e-3, "weight_decay": 0.01}


# a model on images: a ladder model, and a zoo model (the transfer feature)
@pytest.mark.task("classification", "multilabel", "regression", "segmentation")
@pytest.mark.parametrize(
    "saved_model",
    [
        pytest.param({"name": "cnn", "width": 8, "depth": 2}, id="ladder"),
        pytest.param(
            {"zoo": "timm", "name": "test_resnet", "input_size": 16, "groups": 2},
            id="zoo",
            marks=pytest.mark.feature("transfer"),
        ),
    ],
)
def test_the_configs_of_a_format_1_checkpoint_build_the_same_objects(saved_model):
    """Checkpoints written before the one rule kept names (model, zoo, scheduler) and the facts
    as a dict matched by parameter name: they are rewritten, not refused."""
    from {{ cookiecutter.package_name }}.models import (
        create_model,
        facts_from_config,
    )
    from {{ cookiecutter.package_name }}.models.format1 import configs_from_format1
    from {{ cookiecutter.package_name }}.training.optim import (
        build_optimizer,
        build_scheduler,
    )

    one_cycle = {"pct_start": 0.25, "div_factor": 25.0, "final_div_factor": 4000.0}
    old = {
        "model": dict(saved_model),
        "inputs": {"shape": [1, 8, 8]},
        "optimizer": FORMAT_1_OPTIMIZER,
        "scheduler": {"name": "one_cycle", **one_cycle, "cycle_momentum": True},
        "regularize": True,
    }
    old["scheduler"].update(base_momentum=0.85, max_momentum=0.95)
    new = configs_from_format1(old)
    assert new["regularize"] is True and new["model"]["name"] == saved_model["name"]
    model = create_model(new["model"], 3, facts_from_config(new["inputs"]))
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 3)
    if "groups" in saved_model:
        assert len(model.layer_groups()) == saved_model["groups"] + 1
    optimizer = build_optimizer(new["optimizer"], [{"params": list(model.parameters()), "lr": 0.1}])
    scheduler = build_scheduler(new["scheduler"], optimizer, 10)["scheduler"]
    assert isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR)
    assert (
        build_scheduler(
            configs_from_format1({**old, "scheduler": {"name": "constant"}})["scheduler"],
            optimizer,
            10,
        )
        is None
    )


@pytest.mark.parametrize(
    ("info", "facts_class", "model"),
    [
        pytest.param(
            {"vocab_size": 50, "pad_id": 0, "max_length": 16},
            "text.TextFacts",
            "text_bow",
            marks=pytest.mark.task("text"),
            id="text",
        ),
        pytest.param(
            {"n_users": 5, "n_items": 4, "y_range": [0.5, 5.5], "train_ratings": 27},
            "pair.PairFacts",
            "dot_bias",
            marks=pytest.mark.task("collab"),
            id="pair",
        ),
        pytest.param(
            {"shape": [3], "cardinalities": [4], "cat_names": ["c"], "cont_names": ["a", "b"]},
            "table.TableFacts",
            "tabular_mlp",
            marks=pytest.mark.task("tabular", "tabular_regression"),
            id="table",
        ),
    ],
)
def test_the_facts_of_a_format_1_checkpoint_are_told_apart_by_their_keys(info, facts_class, model):
    from hydra.utils import get_class

    from {{ cookiecutter.package_name }}.models import (
        create_model,
        facts_from_config,
    )
    from {{ cookiecutter.package_name }}.models.format1 import configs_from_format1

    kind = get_class(f"{{ cookiecutter.package_name }}.inputs.{facts_class}")
    old = {
        "model": {"name": model},
        "inputs": info,
        "optimizer": FORMAT_1_OPTIMIZER,
        "scheduler": {"name": "constant"},
    }
    new = configs_from_format1(old)
    facts = facts_from_config(new["inputs"])
    assert type(facts) is kind
    assert create_model(new["model"], 2, facts).parameter_counts()["total"] > 0
