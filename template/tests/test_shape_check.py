"""A shape bug gives one readable message naming the layer and the shapes, not a stack trace."""

import os
import subprocess
import sys

import pytest
import torch

from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import create_model, facts_config, model_config
from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask
from {{ cookiecutter.package_name }}.training import shape_check
from {{ cookiecutter.package_name }}.training.module import TaskModule

from conftest import PROJECT

ShapeError, check_shapes = shape_check.ShapeError, shape_check.check_shapes


def batch(n=4, side=8, classes=10):
    return torch.randn(n, 1, side, side), torch.arange(n) % classes


def task(name: str, classes: int = 10, **options) -> TaskModule:
    """A classification task for 10 digit classes whose model has ``classes`` outputs."""
    digits = InputFacts("image", (1, 8, 8))
    built = TaskModule.for_task(
        ClassificationTask,
        model_config(name, **options),
        {"names": list("0123456789")},
        facts_config(digits),
        {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1},
        {
            "_target_": "{{ cookiecutter.package_name }}.training.optim.constant",
            "_partial_": True,
        },
    )
    built.model = create_model(model_config(name, **options), classes, digits)
    return built


def test_a_good_model_passes_and_reports_shapes():
    result = check_shapes(task("cnn", width=8, depth=2), batch())
    assert result["passed"] and result["input"] == "(4, 1, 8, 8)"
    assert result["output"] == "(4, 10)" and result["layers"] > 5
    assert result["message"].startswith("shape check passed: (4, 1, 8, 8) -> (4, 10)")


def test_model_built_for_other_images_names_the_layer():
    model = task("mlp", width=32, depth=1)  # expects 64 pixels
    with pytest.raises(ShapeError) as caught:
        check_shapes(model, batch(side=16))  # gets 256
    message = str(caught.value)
    assert "layer 'backbone.1.0'" in message and "Linear(in_features=64" in message
    assert "(4, 256)" in message and "(4, 1, 16, 16)" in message
    assert "\n" not in message  # one line, one message


def test_head_with_the_wrong_number_of_classes():
    with pytest.raises(ShapeError, match=r"output has shape \(4, 5\), expected \(4, 10\)"):
        check_shapes(task("linear", classes=5), batch())


def test_targets_that_do_not_fit_the_output():
    x, _ = batch()
    with pytest.raises(ShapeError, match=r"expected \(4,\)"):
        check_shapes(task("linear"), (x, torch.zeros(4, 10)))
    with pytest.raises(ShapeError, match=r"range 0\.\.12"):
        check_shapes(task("linear"), (x, torch.tensor([0, 1, 2, 12])))


BROKEN = """
import runpy, sys
from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.inputs.image import ImageInput
ImageInput.facts = lambda self: InputFacts("image", (1, 4, 4))  # the deliberate bug
sys.argv = ["train.py", "mode=smoke", "model=mlp", "logger=csv", "hydra.run.dir={out}"]
runpy.run_path({train!r}, run_name="__main__")
"""


@pytest.mark.slow
def test_train_py_prints_one_message_and_exits_2(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text(BROKEN.format(out=tmp_path / "run", train=str(PROJECT / "train.py")))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
    )
    assert result.returncode == 2, result.stderr
    assert "shape check failed: shape mismatch in layer 'backbone.1.0'" in result.stderr
    assert "Traceback" not in result.stderr
    assert '"status": "crashed"' in (tmp_path / "run" / "summary.json").read_text()
