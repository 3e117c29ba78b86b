"""``summary.json``, what ran and how it went: its schema (``Summary``) and the run's status, exit
code and message, decided together in ``conclude`` so they always agree (README, "How a run ends").
"""

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
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}
HOW_TO_CONTINUE = "resume with ckpt_path=last (same overrides)"  # an interrupted run
{%- else %}
HOW_TO_CONTINUE = (  # an interrupted run
    "run it again (same overrides); resuming (ckpt_path=last) comes with the resume feature"
)
{%- endif %}


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

    def to_dict(self) -> dict:
        data = asdict(self)
        return {**{k: v for k, v in data.items() if k != "sections"}, **data["sections"]}


def conclude(summary: Summary, error: BaseException | None = None) -> Summary:
    from .guards import Diverged

    if isinstance(error, Diverged):
        status, message = "diverged", str(error)
        summary.metrics = {}  # numbers of a diverged model mean nothing
    elif isinstance(error, KeyboardInterrupt) or _is_sigterm(error):
        status, trainer = "interrupted", summary.trainer
        if trainer.get("global_step"):
            where = f"at epoch {trainer.get('epochs')} step {trainer.get('global_step')}"
            message = f"interrupted {where}; {HOW_TO_CONTINUE}"
        else:
            message = "interrupted before training started; run it again (same overrides)"
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
    """The val figure best.ckpt was picked on (the best of many epochs flatters) and the last's."""
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
    honest = "the test split is the honest figure"
    if not has_test:
        honest = "this data has no test split: hold one out (data.test_fraction) for an honest one"
    return {
        "monitor": monitor,
        "best": best,
        "best_epoch": best_epoch,
        "last": last,
        "last_epoch": last_epoch,
        "message": f"{message}; {honest}",
    }


def is_user_error(error: BaseException | None) -> bool:
    """A mistake in what was asked (a missing file, a bad value): one line and exit status 2."""
    from .errors import user_message

    return error is not None and user_message(error) is not None


def _is_sigterm(error: BaseException | None) -> bool:
    # Lightning turns SIGTERM into a SystemExit subclass (exit status 0 unless remapped)
    return error is not None and type(error).__name__ == "SIGTERMException"


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM outside Lightning's fit and test (its handler lives only inside them) raises what
    Lightning raises inside fit: the run ends ``interrupted`` (143) with its summary.json."""
    main = threading.current_thread() is threading.main_thread()  # (signals: main thread only)
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame) -> None:
        if signal.getsignal(signal.SIGTERM) is interrupt:  # (not called by Lightning's handler)
            from lightning.pytorch.utilities.exceptions import SIGTERMException

            raise SIGTERMException

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def strict(value: Any, path: str = "", found: list[str] | None = None) -> Any:
    """NaN/inf replaced by None (strict JSON); their paths appended to ``found``."""
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
    """Through a temporary file and a rename: a full disk or a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    text = json.dumps(data, indent=2, default=str, allow_nan=False) + "\n"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def write_summary(output_dir: str | Path, summary: Summary | dict) -> Path:
    data = summary.to_dict() if isinstance(summary, Summary) else dict(summary)
    found: list[str] = []
    data = strict(data, found=found)
    if found:
        data["non_finite"] = found
    return write_json(Path(output_dir) / SUMMARY_FILE, data)
