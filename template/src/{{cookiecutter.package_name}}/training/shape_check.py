"""Shape check: one real batch through the model before training.

A shape bug otherwise surfaces as a long stack trace from deep inside torch, minutes into a run.
Here forward hooks record every layer's input and output shapes; when a layer fails, the message
names that layer, its input shapes and what it expected. Then the task checks the output and the
targets in its own terms (classes, labels, target columns, mask classes). (Per-layer shapes of a
working model: Lightning's model summary, which uses the module's ``example_input_array``.)
"""

from __future__ import annotations

import torch
from torch import nn


class ShapeError(ValueError):
    """A readable shape mismatch (printed as one line, exit status 2)."""

    user_error = True


def describe_shapes(value) -> str:
    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    if isinstance(value, (tuple, list)):
        return ", ".join(describe_shapes(v) for v in value)
    return type(value).__name__


def check_shapes(task_module, batch, size_settings: str = "") -> dict:
    """Forward one batch (eval mode, no gradients); raise ``ShapeError`` on any mismatch. The
    layer-by-layer part is the same for every model; the output/target part is the task's own
    check (``Task.check_output``), worded in its terms. ``size_settings``: the settings that decide
    an item's size (the input's ``size_settings``), named when a layer does not fit."""
    model = task_module.model
    inputs, targets = batch
    trace: list[tuple[str, str, str]] = []  # (layer, input shapes, output shapes)
    running: list[tuple[str, nn.Module, str]] = []
    hooks = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # leaf layers only: the containers just pass tensors along

        def before(mod, args, name=name):
            running.append((name, mod, describe_shapes(args)))

        def after(mod, args, output, name=name):
            running.pop()
            trace.append((name, describe_shapes(args), describe_shapes(output)))

        hooks += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(inputs)
    except RuntimeError as error:
        if not running:
            raise ShapeError(
                f"the model fails on a batch of shape {describe_shapes(inputs)}: "
                f"{_first_line(error)}"
            ) from None
        name, module, shapes = running[-1]
        before = f" (the layer before, '{trace[-1][0]}', output {trace[-1][2]})" if trace else ""
        settings = f" ({size_settings})" if size_settings else ""
        raise ShapeError(
            f"shape mismatch in layer '{name}' = {module}: it got input {shapes}{before}; "
            f"torch says: {_first_line(error)}. Input batch: {describe_shapes(inputs)}. Check that "
            f"the model's input size matches the data{settings} and the layer sizes in "
            "configs/model/."
        ) from None
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    task_module.task.check_output(inputs, targets, output)
    return {
        "passed": True,
        "input": describe_shapes(inputs),
        "output": describe_shapes(output),
        "layers": len(trace),
        "message": f"shape check passed: {describe_shapes(inputs)} -> "
        f"{describe_shapes(output)} through {len(trace)} layers",
    }


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
