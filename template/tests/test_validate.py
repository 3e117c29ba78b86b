"""Settings are checked before anything is built: a wrong value is named with its allowed range."""

import pytest
from hydra import compose, initialize_config_dir

from {{ cookiecutter.package_name }}.training.validate import ConfigError, validate_config

from conftest import CONFIGS, PROJECT_TASKS

BAD = [
    ("optimizer.lr=-1", "optimizer.lr must be a number >= 0 (e.g. 3e-3), got -1"),
    ("optimizer.lr=abc", "optimizer.lr must be a number, got 'abc'"),
    ("optimizer.lr=true", "optimizer.lr must be a number, got True"),
    ("optimizer.weight_decay=-0.1", "optimizer.weight_decay must be a number >= 0, got -0.1"),
    (
        "trainer.max_epochs=0",
        "trainer.max_epochs must be an integer >= 1 (or -1 with trainer.max_steps > 0), got 0",
    ),
    ("trainer.max_epochs=-1", "trainer.max_epochs must be an integer >= 1"),
    ("trainer.max_epochs=2.5", "trainer.max_epochs must be an integer >= 1, got 2.5"),
    ("seed=abc", "seed must be an integer or null (no seeding), got 'abc'"),
    ("seed=1.5", "seed must be an integer or null"),
    ("data.batch_size=0", "data.batch_size must be an integer >= 1, got 0"),
    ("data.batch_size=abc", "data.batch_size must be an integer >= 1, got 'abc'"),
    ("data.fraction=0", "data.fraction must be a number > 0 and <= 1, got 0"),
    ("data.fraction=1.5", "data.fraction must be a number > 0 and <= 1, got 1.5"),
]


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("train", overrides=["paths.output_dir=/tmp/unused", *overrides])


@pytest.mark.parametrize(("override", "message"), BAD, ids=[o for o, _ in BAD])
def test_a_bad_value_names_its_key_and_range(override, message):
    with pytest.raises(ConfigError) as error:
        validate_config(config(override))
    assert message in str(error.value)


@pytest.mark.parametrize("mode", ["full", "fraction", "overfit", "smoke"])
@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["optimizer.lr=0"],
        ["seed=null"],
        ["seed=0"],
        ["trainer.max_epochs=-1", "++trainer.max_steps=50"],
    ],
    ids=["defaults", "lr 0", "no seed", "seed 0", "steps only"],
)
def test_every_mode_and_the_edge_values_that_are_allowed_pass(mode, extra):
    validate_config(config(f"mode={mode}", *extra))  # lr=0 on purpose: the overfit test uses it


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as error:
        validate_config(config("optimizer.lr=-1", "seed=abc", "data.batch_size=0"))
    assert str(error.value).count(" must be ") == 3 and "\n" not in str(error.value)


SMOOTHED_TASKS = ("classification", "tabular", "text")  # label_smoothing: ClassificationTask's


@pytest.mark.task(*SMOOTHED_TASKS)
@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "task.label_smoothing=1.5",
            "task.label_smoothing must be a number >= 0 and <= 1, got 1.5",
        ),
        ("task.label_smoothing=-0.1", "task.label_smoothing must be a number >= 0 and <= 1"),
        ("task.label_smoothing=abc", "task.label_smoothing must be a number, got 'abc'"),
    ],
)
def test_a_task_checks_its_own_options(override, message):
    """The task names what is wrong with its options (``Task.validate_options``), listed with
    the other settings' problems; the shared checks name no option of any task."""
    from pathlib import Path

    from {{ cookiecutter.package_name }}.training import validate

    task = next(name for name in SMOOTHED_TASKS if name in PROJECT_TASKS)
    with pytest.raises(ConfigError) as error:
        validate_config(config(f"task={task}", override, "seed=abc"))
    assert message in str(error.value) and "seed must be" in str(error.value)
    assert "label_smoothing" not in Path(validate.__file__).read_text(encoding="utf-8")
    validate_config(config("task.label_smoothing=0.1"))
{%- if "ddp" not in cookiecutter.__features.split(",") %}


@pytest.mark.parametrize(
    "override",
    [
        "trainer.devices=2",
        "trainer.devices=[0,1]",
        "trainer.devices='0,1'",
        "trainer.devices=-1",
        "+trainer.strategy=ddp",
        "+trainer.num_nodes=2",
    ],
)
def test_several_devices_say_that_ddp_comes_with_its_feature(override):
    """Lightning would start DDP by itself, without what the ddp feature adds to it."""
    with pytest.raises(ConfigError, match=r"Lightning DDP\) comes with the ddp feature"):
        validate_config(config(override))
    validate_config(config("trainer.devices=[0]"))  # one device, given by its index
{%- endif %}
