"""``summary.json``: one file per run that says what ran and how it went. This module owns its
schema (``Summary``, used by train.py and eval.py alike) and the run's outcome: the status, the
exit code and the one-line message are decided here, together, so they always agree.

Statuses and exit codes:

=============  ====  ==========================================================================
completed      0     everything ran and every check passed
failed         1     a check did not pass (the overfit target was not reached)
diverged       3     the loss became NaN/inf: training stopped at once, no model kept as best
interrupted    130   Ctrl-C (143 for SIGTERM: preemption, ``docker stop``); resumable
crashed        1     an error (the ``error`` field says which); 2 for an error in what was asked
                     (a missing file, an invalid value, a model that does not fit the data)
=============  ====  ==========================================================================

Sections (plain JSON values; each section that judges something has a one-line ``message``,
which the console prints as is): task {name, target_kind, score, overfit_metric}, data
{name, target_kind, sizes, full_train_size, fraction, overfit_batches, targets, input,
skipped_files}, model {name, params_total, params_trainable}, metrics {split: {loss, <the task's
metrics>}}, verdicts {overfit, fit, finetune, ...}, best_checkpoint, selection {monitor,
best, best_epoch, last, last_epoch, message: the validation figure checkpoints were selected on
is the best of every epoch, so it flatters the model; the last epoch's beside it, and the test
split stays the honest one}, trainer {global_step, epochs, world_size}, and when they ran:
shape_check, lr_find, plots, interpretation (eval.py), checkpoint (eval.py), reference_model
(the data module's reference model, e.g. gradient boosting for tables: its score per split).
``non_finite`` lists the fields whose value was NaN/inf (written as null: strict JSON). Tests,
benchmarks, sweeps and your own scripts read this file.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.json"
EXIT_CODES = {"completed": 0, "failed": 1, "diverged": 3, "interrupted": 130, "crashed": 1}
SIGTERM_EXIT = 143


@dataclass
class Summary:
    mode: str
    output_dir: str
    status: str = "crashed"
    message: str = ""
    exit_code: int = 1
    task: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    verdicts: dict = field(default_factory=dict)
    best_checkpoint: str | None = None
    selection: dict = field(default_factory=dict)  # how best_checkpoint was picked on val
    trainer: dict = field(default_factory=dict)
    wall_time_s: float = 0.0
    seed: int | None = None
    overrides: list = field(default_factory=list)
    error: str | None = None
    sections: dict = field(default_factory=dict)  # optional: shape_check, lr_find, plots, ...

    def score(self, split: str) -> float | None:
        """``metrics[split][task.score]``: the number sweeps, checkpoints and verdicts read."""
        return self.metrics.get(split, {}).get(self.task.get("score"))

    def to_dict(self) -> dict:
        data = asdict(self)
        return {**{k: v for k, v in data.items() if k != "sections"}, **data["sections"]}


def conclude(summary: Summary, error: BaseException | None = None) -> Summary:
    """Decide status, exit code and message from the verdicts and the error, in one place."""
    from .guards import Diverged

    if isinstance(error, Diverged):
        status, message = "diverged", str(error)
        summary.metrics = {}  # numbers of a diverged model mean nothing
    elif isinstance(error, KeyboardInterrupt) or _is_sigterm(error):
        status = "interrupted"
        where = (
            f" at epoch {summary.trainer.get('epochs')} step {summary.trainer.get('global_step')}"
            if summary.trainer
            else ""
        )
        message = (
            f"interrupted{where}; {_how_to_continue()}"
            if summary.trainer.get("global_step")
            else "interrupted before training started; run it again (same overrides)"
        )
    elif error is not None:
        from .errors import user_message

        status = "crashed"  # a user's mistake reads as the one line that says what to do
        summary.error = user_message(error) or f"{type(error).__name__}: {error}"
        message = f"crashed: {summary.error.splitlines()[0]}"
    else:
        failed = [k for k, v in summary.verdicts.items() if not v.get("passed", True)]
        status = "failed" if failed else "completed"
        message = f"failed: {', '.join(failed)} check did not pass" if failed else "completed"
    summary.status, summary.message = status, message
    summary.exit_code = (
        SIGTERM_EXIT if _is_sigterm(error) else 2 if is_user_error(error) else EXIT_CODES[status]
    )
    return summary


def checkpoint_selection(trainer, has_test: bool = True) -> dict:
    """The validation figure the best checkpoint was selected on, and the last epoch's (from
    ``trainer.callback_metrics`` after fit): the best of many epochs on the same split flatters
    the model. Empty when no checkpoint was selected on a metric. ``has_test``: whether the data
    holds a test split (the honest figure), or the message says to hold one out."""
    callback = trainer.checkpoint_callback
    monitor = getattr(callback, "monitor", None)
    best = getattr(callback, "best_model_score", None)
    last = trainer.callback_metrics.get(monitor) if monitor else None
    if best is None or last is None:
        return {}
    best, last = float(best), float(last)
    best_epoch = getattr(callback, "best_epoch", None)
    last_epoch = trainer.current_epoch - 1  # (after fit: the number of epochs run)
    epochs = f"the best on val of {last_epoch + 1} epochs"
    if best_epoch == last_epoch:
        message = f"{monitor} is of the last epoch ({last_epoch}), also {epochs}"
    else:
        where = f"epoch {best_epoch}" if best_epoch is not None else "the epoch"
        message = (
            f"{monitor} is of {where}, {epochs}, so it flatters the model: the last epoch "
            f"reached {last:.4f}"
        )
    return {
        "monitor": monitor,
        "best": best,
        "best_epoch": best_epoch,
        "last": last,
        "last_epoch": last_epoch,
        "message": f"{message}; "
        + (
            "the test split is the honest figure"
            if has_test
            else "this data has no test split: hold one out (data.test_fraction) for an honest one"
        ),
    }


def is_user_error(error: BaseException | None) -> bool:
    """Errors in what the user asked for (a missing file, a bad value, a model that does not fit
    the data): one readable line and exit status 2, not a stack trace."""
    from .errors import user_message  # (one place decides what is the user's)

    return error is not None and user_message(error) is not None


def _how_to_continue() -> str:
    from .errors import generated

    if generated("training.resume"):
        return "resume with ckpt_path=last (same overrides)"
    return "run it again (same overrides); resuming (ckpt_path=last) comes with the resume feature"


def _is_sigterm(error: BaseException | None) -> bool:
    # Lightning turns SIGTERM into a SystemExit subclass (exit status 0 unless remapped)
    return error is not None and type(error).__name__ == "SIGTERMException"


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (preemption, ``docker stop``) while a run reads its data, builds its model, runs
    the LR finder or measures: outside Lightning's fit and test, whose own handler only lives
    inside them, Python's default would end the process at once without summary.json. Here it
    raises the exception Lightning raises inside fit, so the run ends ``interrupted`` (exit
    status 143) the same way. Lightning's handler calls the one it finds too: this one leaves
    the signal to it then (it stops fit at the end of the step, once). A SIGTERM someone else
    handles or ignores is left alone."""
    main = threading.current_thread() is threading.main_thread()  # (signals: main thread only)
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame) -> None:
        if signal.getsignal(signal.SIGTERM) is interrupt:  # (not called by Lightning's)
            from lightning.pytorch.utilities.exceptions import SIGTERMException

            raise SIGTERMException

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def split_metrics(results: dict[str, float]) -> dict[str, dict[str, float]]:
    """``{"val/final_acc": 0.9}`` -> ``{"val": {"acc": 0.9}}``."""
    metrics: dict[str, dict[str, float]] = {}
    for key, value in results.items():
        split, _, name = key.partition("/final_")
        if name:
            metrics.setdefault(split, {})[name] = float(value)
    return metrics


def strict(value: Any, path: str = "", found: list[str] | None = None) -> Any:
    """``value`` with NaN/inf replaced by None (strict JSON); their paths appended to ``found``."""
    if isinstance(value, float) and not math.isfinite(value):
        if found is not None:
            found.append(path)
        return None
    if isinstance(value, dict):
        return {k: strict(v, f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def write_json(path: str | Path, data: Any) -> Path:
    """Write through a temporary file and rename: a full disk or a crash never leaves a
    half-written file where a complete one was expected."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(
        json.dumps(data, indent=2, default=str, allow_nan=False) + "\n", encoding="utf-8"
    )
    os.replace(partial, path)
    return path


def write_summary(output_dir: str | Path, summary: Summary | dict) -> Path:
    data = summary.to_dict() if isinstance(summary, Summary) else dict(summary)
    found: list[str] = []
    data = strict(data, found=found)
    if found:
        data["non_finite"] = found
    return write_json(Path(output_dir) / SUMMARY_FILE, data)
