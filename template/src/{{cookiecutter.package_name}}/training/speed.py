"""Speed switches for accelerators: ``compile`` and ``channels_last`` (train.yaml); the
garbage collector kept off the objects that exist before training (``startup_objects_frozen``);
and Lightning's per-hook dispatch without the costs that buy nothing (``lean_dispatch``).

* ``compile``: ``torch.compile`` the network *in place* (``nn.Module.compile``). Compiling by
  wrapping (``model = torch.compile(model)``) renames every state-dict key to
  ``_orig_mod.<key>``, and a checkpoint written that way no longer loads into a plain model;
  in place, the keys stay as they are, so eval, predict and export load compiled and plain runs
  alike. (Checkpoints from elsewhere with ``_orig_mod.`` keys are read too:
  ``strip_compile_prefix``.) The first steps are slower while it compiles.
* ``channels_last``: image batches and the model's weights in NHWC memory layout, which GPU
  convolutions under mixed precision run fastest on; ``null`` turns it on on a GPU only.
"""

from __future__ import annotations

import contextlib
import gc

import lightning as L
import torch
from lightning.pytorch.profilers import PassThroughProfiler

COMPILE_PREFIX = "_orig_mod."


def compile_model(module, option) -> dict | None:
    """``option``: false/null (off), true (torch's defaults) or torch.compile's keyword
    arguments (``{mode: max-autotune}``, ``{backend: aot_eager}``)."""
    if not option:
        return None
    options = {} if option is True else {str(k): v for k, v in dict(option).items()}
    module.model.compile(**options)
    return options


def strip_compile_prefix(state: dict) -> dict:
    """State-dict keys of a wrapped ``torch.compile`` model, back to the plain model's."""
    return {key.replace(COMPILE_PREFIX, ""): value for key, value in state.items()}


class ChannelsLast(L.Callback):
    """At the start of fit: the model's weights to channels_last where wanted (the module's
    ``forward`` converts each 4-D batch the same way)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = enabled

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        wanted = pl_module.device.type == "cuda" if self.enabled is None else self.enabled
        if wanted:
            pl_module.to(memory_format=torch.channels_last)
        pl_module.use_channels_last(bool(wanted))


class _NoProfiler(PassThroughProfiler):
    """Lightning's default profiler wraps every hook call (each callback's, about 150 per
    training step here) in ``profiler.profile(name)``: a context manager made from a generator
    each time, a few microseconds that do nothing (measured: 0.10 s of a 6 s default fit, about
    2 %). This one hands out the same do-nothing context every time."""

    _nothing = contextlib.nullcontext()

    def profile(self, action_name: str) -> contextlib.nullcontext:
        return self._nothing


# The hooks Lightning calls at every batch on every callback, through
# ``lightning.pytorch.trainer.call._call_callback_hooks``, which skips an attribute that is not
# callable. Each call costs a few microseconds even when the callback does not override the hook
# (the profiler context, the callback's ``state_key`` - a repr for a checkpoint callback);
# with ten callbacks, 20-70 microseconds per hook, six hooks per training step.
PER_BATCH_HOOKS = (
    "on_train_batch_start",
    "on_train_batch_end",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_validation_batch_start",
    "on_validation_batch_end",
    "on_test_batch_start",
    "on_test_batch_end",
    "on_predict_batch_start",
    "on_predict_batch_end",
)


def lean_dispatch(trainer: L.Trainer) -> L.Trainer:
    """``trainer`` without the default profiler's cost (a profiler asked for,
    ``+trainer.profiler=simple``, is kept), and without calls to the per-batch hooks its
    callbacks do not override (a callback added later is called as usual)."""
    if type(trainer.profiler) is PassThroughProfiler:
        trainer.profiler = _NoProfiler()
    for callback in trainer.callbacks:
        for hook in PER_BATCH_HOOKS:
            if getattr(type(callback), hook, None) is getattr(L.Callback, hook):
                setattr(callback, hook, None)  # Lightning's dispatch passes it by
    return trainer


@contextlib.contextmanager
def startup_objects_frozen():
    """Python's full garbage collections walk every object alive: after importing torch,
    Lightning and Hydra, hundreds of thousands (0.1-0.2 s per collection on a 2-core machine),
    and training allocates enough small objects per step to set one off now and then. Frozen,
    the objects that exist before training are left out of those walks (never freed while
    frozen); unfrozen after, so that what they leave behind is collected as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
