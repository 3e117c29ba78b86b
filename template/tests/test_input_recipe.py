"""docs/inputs.md, "Add an input kind", done literally: its code blocks are written where their
first line says, into a copy of the project, and its commands run there. Nothing else is added: if
the recipe's code or commands are wrong, this fails."""

import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT

RECIPE = PROJECT / "docs" / "inputs.md"
SECTION = "## Add an input kind"
# train runs in the test: quiet, and two epochs for the full run (the recipe's own settings else)
FAST = ["print_config=false", "logger=csv", "+trainer.enable_progress_bar=false"]


def recipe_blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block of the recipe's section, in order."""
    text = RECIPE.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    return re.findall(r"^```(\w+)\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)


def files_and_commands() -> tuple[dict[str, str], list[str]]:
    """The files the recipe adds (path from the block's first line ``# <path>``) and its shell
    commands, in order."""
    files, commands = {}, []
    for language, code in recipe_blocks():
        if language == "bash":
            commands += [line for line in code.splitlines() if line.strip()]
            continue
        first, _, rest = code.partition("\n")
        assert first.startswith("# "), f"a {language} block without its file name: {first}"
        files[first[2:].strip()] = code if language == "python" else rest
    return files, commands


def test_the_recipe_adds_one_input_file_and_one_yaml():
    files, commands = files_and_commands()
    package = next(p.name for p in (PROJECT / "src").iterdir() if (p / "inputs").is_dir())
    added = {path for path in files if path != "make_signals.py"}  # (the toy data, not the kind)
    assert added == {f"src/{package}/inputs/signal.py", "configs/data/signals.yaml"}
    assert not any((PROJECT / path).exists() for path in added)  # new files, nothing edited
    assert [c.split()[1] for c in commands if c.startswith("python ")] == [
        "make_signals.py",
        *["train.py"] * 3,
        "eval.py",
{%- if "deploy" in cookiecutter.__features.split(",") %}
        "predict.py",
{%- endif %}
{%- if "clean" in cookiecutter.__features.split(",") %}
        "clean.py",
{%- endif %}
    ]


def test_the_signal_kind_reads_learns_and_describes_itself(tmp_path, monkeypatch):
    """The recipe's input class alone, against the contract (fast: no training)."""
    import numpy as np

    files, _ = files_and_commands()
    path, code = next((p, c) for p, c in files.items() if p.endswith("inputs/signal.py"))
    package = Path(path).parts[1]
    module = tmp_path / "recipe_signal_input.py"  # ("signal" is a module of Python's own)
    module.write_text(code.replace("from .base", f"from {package}.inputs.base"))
    monkeypatch.syspath_prepend(str(tmp_path))
    SignalInput = importlib.import_module("recipe_signal_input").SignalInput

    from {{ cookiecutter.package_name }}.data.base import FileItems
    from {{ cookiecutter.package_name }}.inputs.base import InputError

    rng = np.random.default_rng(0)
    paths = []
    for i, length in enumerate([50, 64, 80]):
        paths.append(str(tmp_path / f"{i}.npy"))
        np.save(paths[-1], rng.standard_normal(length).astype(np.float32) * 3 + 5)
    kind = SignalInput(length=64)
    kind.fit(FileItems(paths, None, kind.load_item))
    assert kind.facts().shape == (1, 64) and kind.facts().kind == "signal"
    assert 4 < kind.mean < 6 and 2 < kind.std < 4  # learnt from the training files
    x = kind.read_file(paths[2])
    assert x.shape == (1, 64) and abs(float(x.mean())) < 0.5
    again = SignalInput(**kind.options)
    again.load_state_dict(kind.state_dict())
    assert again.spec() == kind.spec() and again.mean == kind.mean
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match=r"not a \.npy signal"):
        kind.read_file(tmp_path / "bad.npy")
    assert kind.check_files([paths[0], str(tmp_path / "bad.npy")]) == {
        paths[0]: True,
        str(tmp_path / "bad.npy"): False,
    }


@pytest.mark.slow
@pytest.mark.task("classification")  # the recipe's data set gives classes (docs/inputs.md)
def test_the_recipe_runs_the_whole_workflow(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(
        PROJECT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    shutil.copytree(PROJECT / "configs", copy / "configs")
    for script in ("train.py", "eval.py"{{ ', "predict.py"' if "deploy" in cookiecutter.__features.split(",") }}{{ ', "clean.py"' if "clean" in cookiecutter.__features.split(",") }}):
        shutil.copy(PROJECT / script, copy)
    files, commands = files_and_commands()
    for path, code in files.items():
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        (copy / path).write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "OMP_NUM_THREADS": "1"}
    for command in commands:
        words = shlex.split(command)
        if words[0] != "python":  # a shell line of the recipe (listing files)
            subprocess.run(command, shell=True, cwd=copy, check=True)
            continue
        if "<date>_<time>" in command:  # the full run the recipe trained
            (run,) = (copy / "outputs" / "full").iterdir()
            words = [w.replace("<date>_<time>", run.name) for w in words]
        extra = [*FAST, *(["trainer.max_epochs=2"] if "mode=" not in command else [])]
        extra = extra if words[1] == "train.py" else []
        done = subprocess.run(
            [sys.executable, *words[1:], *extra],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (command, done.stderr[-3000:])
    summaries = {
        mode: json.loads(next((copy / "outputs" / mode).glob("*/summary.json")).read_text())
        for mode in ("overfit", "fraction", "full")
    }
    for summary in summaries.values():
        assert summary["status"] == "completed"
        assert summary["data"]["input"] == {"kind": "signal", "shape": [1, 64]}
        assert summary["data"]["targets"] == 3
    sizes = {mode: summary["data"]["sizes"]["train"] for mode, summary in summaries.items()}
    assert sizes["fraction"] < sizes["full"]
    assert summaries["full"]["metrics"]["test"]["acc"] > 0.6  # three waves told apart
{%- if "deploy" in cookiecutter.__features.split(",") %}
    (predictions,) = (copy / "outputs").glob("predict/*/predictions.csv")
    assert len(predictions.read_text().splitlines()) == 1 + 40  # a header, every listed signal
{%- endif %}
{%- if "clean" in cookiecutter.__features.split(",") %}
    assert list((copy / "outputs").glob("clean/*/suspicious.csv"))
{%- endif %}
    assert list((copy / "outputs").glob("eval/*/summary.json"))
