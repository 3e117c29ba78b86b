"""Shape check: one real batch through the model before training.

A shape bug otherwise surfaces as a long stack trace from deep inside torch, minutes into a run.
Here forward hooks record every layer's input and output shapes; when a layer fails, the message
names that layer, its input shapes and what it expected. Output vs number of classes and targets
vs output are checked too. (Per-layer shapes of a working model: Lightning's model summary, which
uses the task's ``example_input_array``.)
"""

from __future__ import annotations

import torch
from torch import nn


class ShapeError(ValueError):
    """A readable shape mismatch (train.py prints it without a stack trace)."""


def _shapes(value) -> str:
    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    if isinstance(value, (tuple, list)):
        return ", ".join(_shapes(v) for v in value)
    return type(value).__name__


def check_shapes(model: nn.Module, batch, num_classes: int) -> dict:
    """Forward one batch (eval mode, no gradients); raise ``ShapeError`` on any mismatch."""
    inputs, targets = batch
    trace: list[tuple[str, str, str]] = []  # (layer, input shapes, output shapes)
    running: list[tuple[str, nn.Module, str]] = []
    hooks = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # leaf layers only: the containers just pass tensors along

        def before(mod, args, name=name):
            running.append((name, mod, _shapes(args)))

        def after(mod, args, output, name=name):
            running.pop()
            trace.append((name, _shapes(args), _shapes(output)))

        hooks += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(inputs)
    except RuntimeError as error:
        if not running:
            raise ShapeError(f"the model fails on a batch of shape {_shapes(inputs)}: "
                             f"{_first_line(error)}") from None
        name, module, shapes = running[-1]
        before = f" (the layer before, '{trace[-1][0]}', output {trace[-1][2]})" if trace else ""
        raise ShapeError(
            f"shape mismatch in layer '{name}' = {module}: it got input {shapes}{before}; "
            f"torch says: {_first_line(error)}. Input batch: {_shapes(inputs)}. Check that the "
            "model's input size matches the data (data.image_size, data.channels) and the "
            "layer sizes in configs/model/.") from None
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    expected = (len(inputs), num_classes)
    if tuple(output.shape) != expected:
        raise ShapeError(f"the model's output has shape {_shapes(output)}, expected {expected} "
                         f"(batch, classes): the head must give one logit per class "
                         f"(the data has {num_classes} classes; last layer '{trace[-1][0]}')")
    if targets.dim() != 1 or len(targets) != len(inputs):
        raise ShapeError(f"targets have shape {_shapes(targets)}, expected ({len(inputs)},): one "
                         "integer class index per input")
    if len(targets) and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
        raise ShapeError(f"target values range {int(targets.min())}..{int(targets.max())}, but "
                         f"the model has {num_classes} outputs (0..{num_classes - 1})")
    return {"passed": True, "input": _shapes(inputs), "output": _shapes(output),
            "layers": len(trace)}


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
