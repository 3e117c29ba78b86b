"""User mistakes become one line and exit status 2; failed commands leave no empty run folder."""

import pytest
from omegaconf import OmegaConf

from {{ cookiecutter.package_name }}.training.checkpoints import CheckpointError
from {{ cookiecutter.package_name }}.training.errors import (
    output_problem,
    reject_unknown_keys,
    run_command,
    user_message,
)
from {{ cookiecutter.package_name }}.training.validate import ConfigError

from conftest import CONFIGS, PROJECT, compose_config


def gpu_error() -> Exception:
    """What Hydra raises for trainer=gpu on a machine without one (the cause, wrapped)."""
    from hydra.errors import InstantiationException
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        try:
            raise MisconfigurationException("No supported gpu backend found!")
        except MisconfigurationException as cause:
            raise InstantiationException("Error in call to target 'Trainer'") from cause
    except InstantiationException as error:
        return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConfigError("optimizer.lr must be a number, got 'abc'"), "optimizer.lr must be a number"),
        (CheckpointError("x.ckpt is empty"), "x.ckpt is empty"),
        (FileNotFoundError("data.root=/x is not a folder"), "data.root=/x is not a folder"),
        (
            PermissionError(13, "Permission denied", "/ro/outputs/run/summary.json"),
            "cannot write /ro/outputs/run/summary.json (permission denied): "
            "run where you can write, "
            "or send the outputs elsewhere with hydra.run.dir=<writable folder>",
        ),
        (
            gpu_error(),
            "no GPU is visible to PyTorch (torch.cuda.is_available() is False): use "
            "trainer=cpu, or trainer=default",
        ),
    ],
)
def test_user_errors_have_one_line(error, expected):
    message = user_message(error)
    assert expected in message and "\n" not in message


def test_bugs_keep_their_traceback():
    assert user_message(KeyError("state")) is None
    with pytest.raises(KeyError):
        run_command(lambda: {}["state"])


def test_a_failed_command_exits_2_prints_once_and_removes_its_empty_run_folder(tmp_path, capsys):
    run_dir = tmp_path / "outputs" / "eval" / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "eval.log").write_text("")
    cfg = OmegaConf.create({"paths": {"output_dir": str(run_dir)}})

    def job():
        raise CheckpointError(f"{tmp_path}/x.ckpt is empty")

    with pytest.raises(SystemExit) as exit_:
        run_command(job, cfg)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"error: {tmp_path}/x.ckpt is empty\n"
    assert not run_dir.exists()


def test_a_folder_with_results_is_kept(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    cfg = OmegaConf.create({"paths": {"output_dir": str(run_dir)}})

    def job():
        (run_dir / "summary.json").write_text("{}")
        raise ConfigError("bad")

    with pytest.raises(SystemExit):
        run_command(job, cfg)
    assert (run_dir / "summary.json").is_file()


def test_an_empty_run_folder_of_a_successful_command_can_be_dropped(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    cfg = OmegaConf.create({"paths": {"output_dir": str(run_dir)}})
    assert run_command(lambda: 7, cfg, keep_empty_run_dir=False) == 7
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("override", "rejected"),
    [
        ("+model=cnn", True),
        ("+optimizer.lr=0.1", True),
        ("data.root=/x", False),
        ("+data.new_key=1", False),
        ("trainer=cpu", False),
        ("top_k=4", False),
        ("hydra.run.dir=x", False),
    ],
)
def test_eval_rejects_settings_it_does_not_have(override, rejected):
    cfg = OmegaConf.create({})
    if rejected:
        with pytest.raises(ConfigError) as error:
            reject_unknown_keys(cfg, CONFIGS / "eval.yaml", [override])
        assert str(error.value).startswith(f"{override}: eval.py has no such setting")
    else:
        reject_unknown_keys(cfg, CONFIGS / "eval.yaml", [override])


def test_a_read_only_outputs_folder_is_named(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(os, "access", lambda path, mode: False)
    problem = output_problem(tmp_path / "outputs" / "eval" / "run")
    assert problem.startswith(
        f"cannot create the run folder {tmp_path}/outputs/eval/run: {tmp_path} is read-only"
    )
    assert "hydra.run.dir=" in problem
    (tmp_path / "file").write_text("")
    assert "is not a folder" in output_problem(tmp_path / "file" / "run")


def test_a_missing_optional_dependency_names_its_extra():
    message = user_message(ModuleNotFoundError("No module named 'mlflow'", name="mlflow"))
    assert message == (
        "mlflow is not installed: install the mlflow extra, pip install -e '.[mlflow]'"
    )
    # a module that is not an optional dependency is a bug (a broken install, a typo)
    assert user_message(ModuleNotFoundError("No module named 'numpyy'", name="numpyy")) is None


@pytest.mark.feature("sweeps")
def test_a_sweep_whose_every_trial_failed_is_one_line():
    import optuna

    study = optuna.create_study()
    with pytest.raises(ValueError) as raised:
        _ = study.best_trial  # what the Optuna sweeper reads at the end of a sweep
    message = user_message(raised.value)
    assert message.startswith("no trial of the Optuna sweep completed: each job's summary.json")


def test_every_extra_named_for_a_module_exists():
    import tomllib

    from {{ cookiecutter.package_name }}.training.errors import EXTRAS

    pyproject = tomllib.loads((CONFIGS.parent / "pyproject.toml").read_text())
    assert set(EXTRAS.values()) <= pyproject["project"]["optional-dependencies"].keys()


def test_an_option_of_a_part_left_out_says_how_to_add_it(monkeypatch):
    """task=text in a project generated without texts, hparams_search=optuna without sweeps:
    the task or feature that brings the option, and the command that adds it."""
    import sys

    from hydra import compose, initialize_config_dir

    from {{ cookiecutter.package_name }}.training import errors

    present = {str(path.relative_to(CONFIGS).with_suffix("")) for path in CONFIGS.rglob("*.yaml")}
    assert not present & errors.NOT_GENERATED.keys()  # (only options this project lacks)
    # one option per config group and part (the message depends on nothing else)
    tried = {}
    for option, part in errors.NOT_GENERATED.items():
        tried.setdefault((option.rpartition("/")[0], part), option)
    for (group, (answer, name, *needs)), option in tried.items():
        inputs, task = needs or ("", "")
        value = option.rpartition("/")[2]
        override = f"{group}={value}"
        monkeypatch.setattr(sys, "argv", ["train.py", override])
        with (
            initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"),
            pytest.raises(Exception) as raised,
        ):
            compose("train", overrides=[override])
        message = errors.hydra_message(raised.value) or ""
        wanted = [*errors.CHOSEN[answer], name]
        assert f"comes with the {name} {answer[:-1]}" in message, (override, message)
        assert f"""--data '{answer}=["{'", "'.join(wanted)}"]'""" in message, message
        if task:  # a feature's part for inputs that no chosen task has: that task too
            tasks = [*errors.CHOSEN["tasks"], task]
            assert f"and an {inputs} task such as {task}," in message, message
            assert f"""--data 'tasks=["{'", "'.join(tasks)}"]'""" in message, message


def test_the_models_command_lists_the_zoo_or_says_how_to_add_it(capsys):
    """The zoo's options (model=timm, model=torchvision) come with the transfer feature and an
    image task: where they are missing, the command adds what is missing, never what is here."""
    import json
    import re

    from {{ cookiecutter.package_name }}.models.__main__ import main
    from {{ cookiecutter.package_name }}.training.errors import CHOSEN, NOT_GENERATED

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    if "model/timm" not in NOT_GENERATED:
        assert "zoo: model=torchvision model.name=<name>" in out
        return
    assert "the zoo (torchvision and timm backbones) comes with the " in out
    for answer in ("tasks", "features"):
        for listed in re.findall(rf"--data '{answer}=(\[.*?\])'", out):
            names = json.loads(listed)
            assert len(names) == len(set(names)) and set(CHOSEN[answer]) < set(names), out


def test_folds_come_with_the_cv_feature_or_say_how_to_add_it(tmp_path):
    """cv.folds=5 (without cv=kfold) runs the folds where the cv feature is, and elsewhere says
    in the words of every missing part how to add it."""
    import importlib.util

    from {{ cookiecutter.package_name }}.training.errors import CHOSEN

    spec = importlib.util.spec_from_file_location("train_script", PROJECT / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    cfg = compose_config("train", ["cv.folds=5"], tmp_path)
    if "cv" in CHOSEN["features"]:
        assert script.cross_validation_of(cfg).__name__.endswith(".training.cv")
        return
    wanted = r"cv.folds=5 comes with the cv feature, .* --data 'features=\[(.*, )?\"cv\"\]'"
    with pytest.raises(ConfigError, match=wanted):
        script.cross_validation_of(cfg)


def test_an_old_name_of_a_data_setting_names_the_new_one(monkeypatch):
    """data.bad_rows=skip (the option's name before data.on_bad) on the command line: not
    Hydra's "not a setting" alone, the new name to use - where the data set has it."""
    import sys

    from hydra import compose, initialize_config_dir
    from hydra.utils import get_class

    from {{ cookiecutter.package_name }}.analysis.predict import check_data_settings
    from {{ cookiecutter.package_name }}.training import errors
    from {{ cookiecutter.package_name }}.training.run import build_datamodule

    def message(*overrides: str) -> str:
        monkeypatch.setattr(sys, "argv", ["train.py", *overrides])
        with (
            initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"),
            pytest.raises(Exception) as raised,
        ):
            compose("train", overrides=list(overrides))
        return errors.hydra_message(raised.value) or ""

    renamed = (
        "data.bad_rows was renamed data.on_bad: set data.on_bad=skip instead (in your own data "
        "config too)"
    )
    for path in sorted((CONFIGS / "data").glob("*.yaml")):  # those with the option, and not
        said = message(f"data={path.stem}", "data.bad_rows=skip")
        if "on_bad:" in path.read_text():
            assert said == renamed, path.stem
            # added (+data.bad_rows, or a user's own yaml): refused where the data is built
            with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
                cfg = compose("train", overrides=[f"data={path.stem}", "+data.bad_rows=skip"])
            with pytest.raises(ConfigError) as raised:
                build_datamodule(cfg, get_class(cfg.task._target_))
            assert errors.user_message(raised.value) == renamed, path.stem
            # eval / predict with a checkpoint (data.<key>=... over the checkpoint's data)
            with pytest.raises(ConfigError) as raised:
                check_data_settings(get_class(cfg.data._target_), {"bad_rows": "skip"})
            assert errors.user_message(raised.value) == renamed, path.stem
        else:
            assert said.startswith("data.bad_rows is not a setting"), (path.stem, said)
