"""One real batch through the model before training, not a stack trace minutes into a run: forward
hooks name a failing layer with its inputs, then the task checks output and targets in its terms."""

import torch
from torch import nn


class ShapeError(ValueError):
    user_error = True  # one line, exit status 2 (training/errors.py)


def describe_shapes(value) -> str:
    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    if isinstance(value, (tuple, list)):
        return ", ".join(describe_shapes(v) for v in value)
    return type(value).__name__


def check_shapes(task_module, batch, size_settings: str = "") -> dict:
    """``size_settings``: what decides an item's size, named when the model fails."""
    model = task_module.model
    inputs, targets = batch
    given = describe_shapes(inputs)
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
        torch_says = (str(error).strip() or type(error).__name__).splitlines()[0]
        if not running:
            raise ShapeError(f"the model fails on a batch of shape {given}: {torch_says}") from None
        name, module, shapes = running[-1]
        before = f" (the layer before, '{trace[-1][0]}', output {trace[-1][2]})" if trace else ""
        settings = f" ({size_settings})" if size_settings else ""
        raise ShapeError(
            f"shape mismatch in layer '{name}' = {module}: it got input {shapes}{before}; torch "
            f"says: {torch_says}. Input batch: {given}. Check that the model's input size matches "
            f"the data{settings} and the layer sizes in configs/model/."
        ) from None
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    task_module.task.check_output(inputs, targets, output)
    out, layers = describe_shapes(output), len(trace)
    message = f"shape check passed: {given} -> {out} through {layers} layers"
    return {"passed": True, "input": given, "output": out, "layers": layers, "message": message}
