"""Speed: ``compile``, ``channels_last``, the garbage collector, Lightning's per-hook dispatch."""

import contextlib
import gc

import lightning as L
import torch
from lightning.pytorch.profilers import PassThroughProfiler

COMPILE_PREFIX = "_orig_mod."


def compile_model(module, option) -> dict | None:
    """In place: ``torch.compile(model)`` renamed every state-dict key to ``_orig_mod.<key>``, a
    checkpoint that no longer loads into a plain model (``strip_compile_prefix`` reads those)."""
    if not option:
        return None
    options = {} if option is True else {str(k): v for k, v in dict(option).items()}
    module.model.compile(**options)
    return options


def strip_compile_prefix(state: dict) -> dict:
    return {key.replace(COMPILE_PREFIX, ""): value for key, value in state.items()}


class ChannelsLast(L.Callback):
    """NHWC, what GPU convolutions under mixed precision run fastest on; ``None``: GPU only."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = enabled

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        wanted = pl_module.device.type == "cuda" if self.enabled is None else self.enabled
        if wanted:
            pl_module.to(memory_format=torch.channels_last)
        pl_module.use_channels_last(bool(wanted))


class _NoProfiler(PassThroughProfiler):
    """The default one built a context manager per hook call: about 2 % of a default fit."""

    _nothing = contextlib.nullcontext()

    def profile(self, action_name: str) -> contextlib.nullcontext:
        return self._nothing


# Called at every batch on every callback: each call costs a few microseconds even when the
# callback does not override the hook (20-70 per hook with ten callbacks, six hooks per step).
PER_BATCH_HOOKS = [
    f"on_{stage}_batch_{when}"
    for stage in ("train", "validation", "test", "predict")
    for when in ("start", "end")
] + ["on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad"]


def lean_dispatch(trainer: L.Trainer) -> L.Trainer:
    if type(trainer.profiler) is PassThroughProfiler:
        trainer.profiler = _NoProfiler()
    for callback in trainer.callbacks:
        for hook in PER_BATCH_HOOKS:
            if getattr(type(callback), hook, None) is getattr(L.Callback, hook):
                # lightning.pytorch.trainer.call._call_callback_hooks skips what is not callable
                setattr(callback, hook, None)
    return trainer


@contextlib.contextmanager
def startup_objects_frozen():
    """Full garbage collections walk every object alive: 0.1-0.2 s each after the imports."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
