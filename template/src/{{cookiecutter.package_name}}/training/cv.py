"""Cross-validation: ``python train.py cv=kfold [cv.folds=5] [cv.repeats=1] [cv.refit=true]``.

The training split and the validation split are pooled and cut into ``cv.folds`` folds, stratified
as the task stratifies its split (``data/split.py``); the test split is left as it is. Each fold
is an ordinary run of ``train()`` (``training/run.py``) in a folder of its own, told through data
settings which fold validates (``data.folds``, ``data.fold``, ``data.fold_seed``: the data module
picks its items, ``DataModule.fold_split``). This module only orchestrates:

1. every fold trains (``fold_<k>``; with ``cv.repeats`` > 1, ``r<r>_fold_<k>``), or, resuming
   (``ckpt_path=last``), a finished fold of the earlier run is copied and an interrupted one
   continues from its ``last.ckpt``;
2. every fold's best checkpoint predicts its validation items (``oof_predictions.csv``: each
   training item predicted by the model that did not see it) and the test split;
3. the test split is scored by the mean of the fold models' predictions (an ensemble), or, with
   ``cv.refit=true``, by one more run on the whole pool for the mean best epoch count (``refit/``);
4. ``summary.json`` at the top: the mean of every metric over the folds (what sweeps and Optuna
   read), the spread of the score (std, 95 % interval), the fit verdict on the mean train and val
   scores, every fold's status. Any fold that did not complete makes the run ``failed``.

Kept free of torch/Lightning imports at module level: train.py checks ``cv`` before they load.
"""

import csv
import json
import math
import shutil
import time
from copy import deepcopy
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from .summary import SUMMARY_FILE, Summary, conclude, write_json, write_summary
from .sweep import CV_CONFIG
from .validate import ConfigError

OOF_FILE = "oof_predictions.csv"
FOLDS_FILE = "folds.csv"
FINISHED = ("completed", "failed", "diverged")  # a fold in one of these is not run again
NO_TEST = (
    "no test split (data.test_fraction=0, the default when the data gives its validation "
    "split): nothing is tested; set data.test_fraction to carve a test split out of the items"
)
MEASURED = ("completed", "failed")  # its best checkpoint predicts (a diverged one's is not used)
# Student's t, 97.5 % quantile, for 1..30 degrees of freedom (beyond: the normal 1.96)
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def check_cv(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` for settings a cross-validation cannot run with."""
    cv = cfg.cv
    if "repeats" not in cv:  # cv.folds=3 without cv=kfold: the other settings are missing
        raise ConfigError(f"cv.folds={cv.folds} needs cv=kfold: python train.py cv=kfold ...")
    if not isinstance(cv.folds, int) or cv.folds < 2:
        raise ConfigError(f"cv.folds must be an integer >= 2, got {cv.folds!r}")
    for key in ("repeats", "parallel"):
        if not isinstance(cv[key], int) or cv[key] < 1:
            raise ConfigError(f"cv.{key} must be an integer >= 1, got {cv[key]!r}")
    if cv.parallel > 1 and OmegaConf.select(cfg, "trainer.devices", default=1) != 1:
        raise ConfigError(
            f"cv.parallel={cv.parallel} runs each fold on one device: with "
            "trainer.devices > 1 (DDP) run the folds one after the other (cv.parallel=1)"
        )
    if OmegaConf.select(cfg, "data.overfit_batches", default=0):
        raise ConfigError(
            "cv=kfold cannot run with mode=overfit: the overfit check learns one fixed batch, "
            "there is nothing to validate; run mode=overfit without cv, then cv=kfold"
        )
    ckpt = cfg.get("ckpt_path")
    if ckpt not in (None, "", "last") and not (Path(str(ckpt)).expanduser() / CV_CONFIG).is_file():
        raise ConfigError(
            f"ckpt_path={ckpt}: with cv=kfold, resume with ckpt_path=last or the folder of a "
            f"cross-validation run (it holds {CV_CONFIG})"
        )


def cross_validate(cfg: DictConfig) -> Summary:
    """Every fold, the out-of-fold predictions, the test score and the spread; writes
    ``summary.json``, like ``train()`` whatever happens. Raises only when a fold crashed."""
    start = time.perf_counter()
    run_dir = Path(cfg.paths.output_dir)
    summary = Summary(
        mode=cfg.mode.name, output_dir=str(run_dir), seed=cfg.get("seed"), overrides=_overrides()
    )
    folds: list[dict] = []
    error, reported = None, False
    # with DDP (trainer=ddp_cpu) every rank runs this: all of them train, rank 0 writes
    from lightning.pytorch.utilities import rank_zero_only

    main = rank_zero_only.rank == 0
    try:
        check_cv(cfg)
        _check_data_picks_folds(cfg)
        earlier = _earlier_run(cfg, run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        if main:
            OmegaConf.save(cfg, run_dir / CV_CONFIG)
        predictions = _Predictions()
        plan = [
            {
                "name": f"fold_{fold}" if cfg.cv.repeats == 1 else f"r{repeat}_fold_{fold}",
                "repeat": repeat,
                "fold": fold,
                "data": {"folds": cfg.cv.folds, "fold": fold, "fold_seed": cfg.cv.seed + repeat},
            }
            for repeat in range(cfg.cv.repeats)
            for fold in range(cfg.cv.folds)
        ]
        run_folds = _in_processes if cfg.cv.parallel > 1 else _one_by_one
        folds += run_folds(cfg, run_dir, plan, earlier)
        for result in folds:
            _stop_if_stopped(result)
        for result in folds:
            if main and result["best_checkpoint"] and result["status"] in MEASURED:
                predictions.add(result, result["repeat"], result["fold"])
        _aggregate(cfg, summary, folds, predictions)
        summary.best_checkpoint = _best_fold_checkpoint(folds, summary.task.get("score"))
        tested = (summary.data.get("sizes") or {}).get("test") != 0
        if cfg.cv.refit:  # (without a test split still the model to deploy)
            test = _refit(cfg, run_dir, folds, earlier, summary)
        else:
            test = predictions.ensemble(summary) if tested else {"method": "ensemble"}
        if not tested:
            test["message"] = NO_TEST
        summary.sections["cv"]["test"] = test
        if main:
            predictions.write(run_dir, summary)
    except BaseException as caught:  # every ending is recorded (re-raised below)
        error = caught
        # a fold's (or the refit's) error in this process was printed by its run already
        reported = getattr(caught, "printed_by_run", False)
    finally:
        interrupted = error.fold if isinstance(error, _Interrupted) else None
        if interrupted is not None:  # the fold said how: Ctrl-C (130) or SIGTERM (143)
            error = KeyboardInterrupt()
        summary.sections.setdefault("cv", {})["per_fold"] = [_row(f) for f in folds]
        conclude(summary, error)
        if interrupted is not None:
            summary.exit_code = interrupted["exit_code"]
            summary.message = (
                f"interrupted in {interrupted['name']}; resume with ckpt_path=last (same "
                "overrides): finished folds are kept"
            )
        summary.wall_time_s = round(time.perf_counter() - start, 3)
        from ..console import print_summary

        if main:
            write_summary(run_dir, summary)
            if not reported:  # (an error line once, not once per level)
                print_summary(summary)
    if summary.status == "crashed":
        raise error
    return summary


def _check_data_picks_folds(cfg: DictConfig) -> None:
    """The data module picks its fold in ``DataModule.setup`` (``fold_split``); one that builds
    its split in a ``setup`` of its own says that it calls ``fold_split`` too (``picks_folds``)."""
    from hydra.utils import get_class

    from ..data.base import DataModule

    data = get_class(cfg.data._target_)
    if data.setup is not DataModule.setup and not getattr(data, "picks_folds", False):
        raise ConfigError(
            f"{data.__name__} ({cfg.data._target_}) builds its own split and does not pick "
            "cross-validation folds yet (its setup() does not call DataModule.fold_split): run "
            "it without cv"
        )


class _Interrupted(Exception):
    """A fold was interrupted: the run ends interrupted too, with the fold's exit status."""

    def __init__(self, fold: dict) -> None:
        super().__init__(fold["message"])
        self.fold = fold


def _stop_if_stopped(result: dict) -> None:
    """An interrupted fold (or refit) stops the run as interrupted; a crashed one as crashed,
    with its error (the same error would hit every fold)."""
    if result["status"] == "interrupted":
        raise _Interrupted(result)
    if result["status"] == "crashed":
        raise result.get("raised") or _crash_of(result)


class FoldCrashed(RuntimeError):
    """A fold run in its own process crashed (its summary.json and log say why)."""


def _crash_of(fold: dict) -> Exception:
    """A fold's crash in another process, as this run's error: a mistake in what was asked
    (exit status 2) stays one line."""
    error = f"{fold['name']}: {fold['summary'].get('error') or fold['message']}"
    return ConfigError(error) if fold["exit_code"] == 2 else FoldCrashed(error)


# ---- one fold: an ordinary run of train() --------------------------------------------------------
def _one_by_one(cfg: DictConfig, run_dir: Path, plan: list[dict], earlier: Path | None) -> list:
    """The folds in this process, one after the other (until one is interrupted)."""
    from .run import train

    results = []
    for fold in plan:
        fold_cfg, kept = _prepare_fold(cfg, run_dir, fold, earlier, first=not results)
        try:
            summary = kept or train(fold_cfg).to_dict()
        except Exception as error:  # train() wrote its summary.json and printed the error
            error.printed_by_run = True
            summary = _read_summary(run_dir / fold["name"])
            results.append({**fold, **_fold_result(fold["name"], summary), "raised": error})
            break
        results.append({**fold, **_fold_result(fold["name"], summary)})
        if summary["status"] == "interrupted":
            break
    return results


def _in_processes(cfg: DictConfig, run_dir: Path, plan: list[dict], earlier: Path | None) -> list:
    """``cv.parallel`` folds at once, each a process of its own (``python -m
    <package>.training.cv``, its config on stdin, its output in ``<run>/<fold>.log``) with its
    share of the cores. Ctrl-C or SIGTERM reaches the folds once, from this process (they run in
    sessions of their own, out of reach of the terminal): each ends interrupted and no other
    starts; nor does one after a fold crashed. Whatever ends this loop, no fold outlives it."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from .threads import available_cores, thread_count

    threads = thread_count(available_cores(), cfg.cv.parallel)
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    kept: dict[str, dict] = {}
    started: set[str] = set()
    waiting, running = list(plan), {}
    stopped_by: list[int] = []  # the signal that stops the run, once received
    crashed = False

    def stop(signum: int, frame) -> None:
        if not stopped_by:  # (a second Ctrl-C could land while a fold writes its checkpoint)
            stopped_by.append(signum)
            for process in list(running):
                process.send_signal(signum)

    stops = (signal.SIGINT, signal.SIGTERM)
    main_thread = threading.current_thread() is threading.main_thread()  # (signals: main only)
    previous = {sig: signal.signal(sig, stop) for sig in stops} if main_thread else {}
    try:
        while running or (waiting and not stopped_by and not crashed):
            while waiting and not stopped_by and not crashed and len(running) < cfg.cv.parallel:
                fold = waiting.pop(0)
                fold_cfg, summary = _prepare_fold(cfg, run_dir, fold, earlier, first=False)
                if summary:
                    kept[fold["name"]] = summary
                    continue
                with (run_dir / f"{fold['name']}.log").open("w") as log:
                    process = subprocess.Popen(
                        [sys.executable, "-m", __name__],
                        stdin=subprocess.PIPE,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        text=True,
                        start_new_session=True,
                    )
                running[process] = fold["name"]
                started.add(fold["name"])
                print(f"{fold['name']}: started (process {process.pid})", flush=True)
                process.stdin.write(OmegaConf.to_yaml(fold_cfg, resolve=True))
                process.stdin.close()
            for process in [p for p in running if p.poll() is not None]:
                name = running.pop(process)
                summary = _read_summary(run_dir / name) or {"status": "crashed"}
                crashed = crashed or summary["status"] == "crashed"
                print(f"{name}: {summary.get('message', 'ended')}", flush=True)
            time.sleep(0.1)
    finally:
        for process in running:  # an error here: the folds still running stop as interrupted
            process.terminate()
        for process in running:
            process.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    results = []
    for fold in plan:
        summary = kept.get(fold["name"]) or _read_summary(run_dir / fold["name"])
        if summary is None and fold["name"] in started:  # died before train() could write it
            summary = _no_summary(run_dir, fold["name"], stopped_by)
        elif summary is None and stopped_by:  # not started: the run stops here
            summary = {
                "status": "interrupted",
                "exit_code": 128 + stopped_by[0],
                "message": "interrupted before it started",
            }
        if summary is not None:
            results.append({**fold, **_fold_result(fold["name"], summary)})
    return results


def _no_summary(run_dir: Path, name: str, stopped_by: list[int]) -> dict:
    """A fold process that ended before its run wrote summary.json: stopped (still starting up)
    or crashed."""
    if stopped_by:
        return {"status": "interrupted", "exit_code": 128 + stopped_by[0], "message": "stopped"}
    log = run_dir / f"{name}.log"
    return {"status": "crashed", "exit_code": 1, "message": f"crashed: see {log}"}


def _main() -> None:
    """One fold in a process of its own (``cv.parallel``): its config on stdin, its outcome as
    the exit status."""
    import sys

    from .. import noise  # noqa: F401  (before Lightning: silences known third-party noise)
    from .run import train

    sys.exit(train(OmegaConf.create(sys.stdin.read())).exit_code)


def _prepare_fold(
    cfg: DictConfig, run_dir: Path, fold: dict, earlier: Path | None, first: bool
) -> tuple[DictConfig, dict | None]:
    """The fold's config (``fold["data"]``: the data settings that pick it; resuming, the
    earlier run's interrupted fold as its checkpoint), or, when the earlier run being resumed
    finished this fold, its summary: the fold is copied over, not run again."""
    folder = run_dir / fold["name"]
    fold_cfg = _fold_config(cfg, folder, fold["data"], first)
    before = earlier / fold["name"] if earlier is not None else None
    previous = _read_summary(before) if before is not None else None
    if previous is not None and previous.get("status") in FINISHED:
        return fold_cfg, _take_over(before, folder)
    if before is not None and (before / "checkpoints" / "last.ckpt").is_file():
        with open_dict(fold_cfg):
            fold_cfg.ckpt_path = str(before)
    return fold_cfg, None


def _fold_config(cfg: DictConfig, folder: Path, data: dict, first: bool) -> DictConfig:
    """The run's config for one fold: its own folder, the data settings that pick its items."""
    fold_cfg = deepcopy(cfg)
    with open_dict(fold_cfg):
        fold_cfg.paths.output_dir = str(folder)
        fold_cfg.data.group_by = cfg.cv.group_by
        for key, value in data.items():
            fold_cfg.data[key] = value
        fold_cfg.print_config = bool(cfg.get("print_config")) and first  # once, not per fold
        fold_cfg.ckpt_path = None
    return fold_cfg


def _fold_result(name: str, summary: dict) -> dict:
    best = summary.get("best_checkpoint")
    # epochs trained when the best checkpoint was written (summary.json counts from 0); read
    # from the summary, not the file: the same on every DDP rank, copied or not yet
    epoch = (summary.get("selection") or {}).get("best_epoch") if best else None
    return {
        "name": name,
        "status": summary["status"],
        "exit_code": summary["exit_code"],
        "message": summary["message"],
        "summary": summary,
        "best_checkpoint": best if best and Path(best).is_file() else None,
        "best_epoch": epoch + 1 if epoch is not None else None,
    }


# ---- resuming ------------------------------------------------------------------------------------
def _earlier_run(cfg: DictConfig, run_dir: Path) -> Path | None:
    """The cross-validation run ``ckpt_path`` resumes: ``last`` is the newest sibling run folder
    with the same config (as ``ckpt_path=last`` finds a single run), or the named folder."""
    value = cfg.get("ckpt_path")
    if value in (None, ""):
        return None
    from .resume import _comparable

    wanted = _comparable(cfg)
    if str(value) != "last":
        # its finished folds are copied as they are: they must be folds of this very config
        folder = Path(str(value)).expanduser()
        differing = _differences(_comparable(OmegaConf.load(folder / CV_CONFIG)), wanted)
        if differing:
            raise ConfigError(
                f"ckpt_path={value} is a cross-validation run of another config "
                f"({'; '.join(differing[:3])}{'; ...' if len(differing) > 3 else ''}): resume "
                "with its overrides, or start a new run without ckpt_path"
            )
        return folder
    runs = sorted(
        (d for d in run_dir.parent.glob("*") if d != run_dir and (d / CV_CONFIG).is_file()),
        key=lambda d: (d / CV_CONFIG).stat().st_mtime,
        reverse=True,
    )
    for run in runs:
        if _comparable(OmegaConf.load(run / CV_CONFIG)) == wanted:
            print(f"resuming {run}")
            return run
    raise FileNotFoundError(
        f"ckpt_path=last: no earlier cross-validation run of this config under {run_dir.parent}; "
        "give the folder of one instead (ckpt_path=outputs/<mode>/<date>_<time>)"
    )


def _differences(saved: object, wanted: object, key: str = "") -> list[str]:
    """``model.width 64 -> 128``: every setting whose value differs, as dotted keys."""
    if isinstance(saved, dict) and isinstance(wanted, dict):
        return [
            line
            for name in sorted({*saved, *wanted}, key=str)
            for line in _differences(
                saved.get(name, "(unset)"), wanted.get(name, "(unset)"), f"{key}{name}."
            )
        ]
    return [] if saved == wanted else [f"{key.rstrip('.')} {saved} -> {wanted}"]


def _take_over(before: Path, folder: Path) -> dict:
    """A fold the earlier run finished: copied into this run, its paths pointing here. With DDP
    every rank runs the cross-validation: process 0 alone copies, the others read the same."""
    from lightning.pytorch.utilities import rank_zero_only

    summary = _read_summary(before)
    summary["output_dir"] = str(folder)
    if summary.get("best_checkpoint"):
        summary["best_checkpoint"] = str(
            folder / Path(summary["best_checkpoint"]).relative_to(before)
        )
    if rank_zero_only.rank == 0:
        shutil.copytree(before, folder)
        write_json(folder / SUMMARY_FILE, summary)
    return summary


def _read_summary(folder: Path) -> dict | None:
    path = folder / SUMMARY_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


# ---- what the fold models predict ----------------------------------------------------------------
class _Predictions:
    """Out-of-fold predictions of the training items, and every fold model's test predictions."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.fold_of: dict[int, dict[int, int]] = {}  # repeat -> {data-set position: fold}
        self.oof_metrics = None
        self.test: list = []  # per fold model: what the task's metrics read of its test outputs
        self.test_targets = None
        self.test_indices: list[int] | None = None
        self.task = None
        self.variance_advice: tuple[str, ...] = ()  # what the inputs add to the fit advice

    def add(self, result: dict, repeat: int, fold: int) -> None:
        from ..analysis.predict import load_trained, predict

        module, datamodule = load_trained(result["best_checkpoint"])
        task = module.task
        val = predict(module, datamodule, "val")
        # a given validation split leaves no test split by default (data.test_fraction=0)
        test = predict(module, datamodule, "test") if datamodule.sizes()["test"] else None
        test_indices = test.indices if test is not None else []
        if self.task is None:
            self.task, self.oof_metrics = task, _local_metrics(task)
            self.test_indices = test_indices
            self.variance_advice = datamodule.input.variance_advice
        if test_indices != self.test_indices:
            raise RuntimeError(f"{result['name']}: the test split differs from the first fold's")
        for metric in self.oof_metrics.values():
            metric.update(*task.metric_inputs(val.outputs, val.targets))
        describe = module.report().describe_item
        for j, index in enumerate(val.indices):
            output = val.outputs[j]
            self.rows.append(
                {
                    "index": index,
                    "item": val.paths[j] or "",
                    "repeat": repeat,
                    "fold": fold,
                    "target": describe(val.targets[j]),
                    "prediction": describe(task.decode(output[None])[0]),
                    "loss": round(float(val.losses[j]), 6),
                }
            )
        self.fold_of[repeat] = datamodule.fold_of  # (the same for every fold of a repeat)
        if test is not None:
            inputs, self.test_targets = task.metric_inputs(test.outputs, test.targets)
            self.test.append(inputs)

    def oof_scores(self) -> dict[str, float]:
        return {name: float(metric.compute()) for name, metric in self.oof_metrics.items()}

    def ensemble(self, summary: Summary) -> dict:
        """The test split scored by the fold models together: the mean of what the task's metrics
        read (logits, probabilities, values in the targets' units); discrete predictions (class
        maps) by majority vote."""
        import torch

        if not self.test or self.test_targets is None or not len(self.test_targets):
            return {"method": "ensemble", "models": len(self.test)}
        stacked = torch.stack(self.test)
        combined = (
            stacked.mean(dim=0) if stacked.is_floating_point() else stacked.mode(dim=0).values
        )
        scores = {}
        for name, metric in _local_metrics(self.task).items():
            metric.update(combined, self.test_targets)
            scores[name] = float(metric.compute())
        summary.metrics["test"] = scores
        return {"method": "ensemble", "models": len(self.test), **scores}

    def write(self, run_dir: Path, summary: Summary) -> None:
        """``oof_predictions.csv`` and ``folds.csv`` (the fold of every pooled item)."""
        if not self.rows:
            return
        rows = sorted(self.rows, key=lambda row: (row["repeat"], row["index"]))
        _write_csv(run_dir / OOF_FILE, rows)
        folds = [
            {"index": i, "repeat": repeat, "fold": fold}
            for repeat, fold_of in self.fold_of.items()
            for i, fold in sorted(fold_of.items())
        ]
        tested = [{"index": i, "repeat": "", "fold": "test"} for i in self.test_indices]
        _write_csv(run_dir / FOLDS_FILE, folds + tested)
        scores = self.oof_scores()
        summary.sections["cv"]["oof"] = {
            "file": str(run_dir / OOF_FILE),
            "folds_file": str(run_dir / FOLDS_FILE),
            "items": len(rows),
            **scores,
        }


def _local_metrics(task) -> dict:
    """The task's metrics, computed on this process's values only: after a DDP fold, rank 0
    alone predicts (torchmetrics would wait for the other ranks to gather theirs)."""
    metrics = task.metrics()
    for metric in metrics.values():
        metric.distributed_available_fn = _alone  # (torchmetrics' own option, set after the fact)
    return metrics


def _alone() -> bool:
    return False


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# ---- the aggregate -------------------------------------------------------------------------------
def _aggregate(cfg: DictConfig, summary: Summary, folds: list[dict], predictions) -> None:
    """Mean metrics, the spread of the score, the fit verdict on the means, the folds' check."""
    measured = [f for f in folds if (f["summary"].get("metrics") or {}).get("val")]
    first = (measured or folds)[0]["summary"]
    summary.task, summary.model = first.get("task") or {}, first.get("model") or {}
    summary.data = {**(first.get("data") or {}), "folds": cfg.cv.folds, "repeats": cfg.cv.repeats}
    score = summary.task.get("score")
    # a fold whose val score is NaN/inf (null in its summary.json) is left out of the figures
    unscored = [f for f in measured if not _finite(f["summary"]["metrics"]["val"].get(score))]
    measured = [f for f in measured if all(f is not u for u in unscored)]
    for split in ("train", "val"):
        names = [set(f["summary"]["metrics"].get(split, {})) for f in measured]
        common = set.intersection(*names) if names else set()
        means = {name: _mean_of(measured, split, name) for name in sorted(common)}
        if any(v is not None for v in means.values()):
            summary.metrics[split] = {k: v for k, v in means.items() if v is not None}
    spread = {
        split: _spread(_values(measured, split, score))
        for split in ("train", "val")
        if score in summary.metrics.get(split, {})
    }
    summary.sections["cv"] = {
        "folds": cfg.cv.folds,
        "repeats": cfg.cv.repeats,
        "seed": cfg.cv.seed,
        "group_by": cfg.cv.group_by,
        "score": score,
        "spread": spread,
    }
    if "val" in spread:
        summary.verdicts["cv"] = _spread_verdict(score, spread["val"], cfg.cv)
    fits = [f["summary"].get("verdicts", {}).get("fit") for f in measured]
    if "train" in spread and fits and all(fits):
        summary.verdicts["fit"] = _fit(cfg, summary, measured, predictions)
    done = [f for f in folds if f["status"] == "completed"]
    others = [f"{f['name']} {f['status']}" for f in folds if f["status"] != "completed"]
    others += [f"{f['name']} val {score} not a number" for f in unscored]
    summary.verdicts["folds"] = {
        "completed": len(done),
        "runs": len(folds),
        "unscored": [f["name"] for f in unscored],
        "passed": not others,
        "message": f"{len(done)} of {len(folds)} fold runs completed"
        + (f" ({', '.join(others)}; the mean and spread are over the others)" if others else ""),
    }


def _fit(cfg: DictConfig, summary: Summary, measured: list[dict], predictions) -> dict:
    """The bias/variance verdict on the mean train and val scores (each fold's baseline and
    reference model averaged too)."""
    from ..analysis.fit import fit_verdict

    verdicts = [f["summary"]["verdicts"]["fit"] for f in measured]
    references = [f["summary"].get("reference_model") for f in measured]
    reference = (
        {"name": references[0]["name"], "val": _mean([r["val"] for r in references])}
        if all(r and r.get("val") is not None for r in references)
        else None
    )
    score = summary.task["score"]
    return fit_verdict(
        score,
        summary.metrics["train"][score],
        summary.metrics["val"][score],
        _mean([v["baseline"] for v in verdicts]),
        cfg.evaluate.bias_tolerance,
        cfg.evaluate.variance_tolerance,
        summary.data.get("fraction", 1.0),
        predictions.variance_advice,
        reference,
        bool(cfg.regularize),
    )


def _spread(values: list[float]) -> dict:
    """Mean, sample standard deviation and the 95 % interval of the mean (Student's t; its top
    end at most 1, the perfect score of every task)."""
    n, mean = len(values), _mean(values)
    if n < 2:
        return {"mean": mean, "std": None, "ci95": None, "values": values}
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = T_975[n - 2] if n - 1 <= len(T_975) else 1.96
    half = t * std / math.sqrt(n)
    return {
        "mean": mean,
        "std": std,
        "ci95": [mean - half, min(mean + half, 1.0)],
        "values": values,
    }


def _spread_verdict(score: str, spread: dict, cv: DictConfig) -> dict:
    runs = f"{cv.folds} folds" + (f" x {cv.repeats} repeats" if cv.repeats > 1 else "")
    if spread["std"] is None:
        message = f"val {score} {spread['mean']:.3f} from one fold: no spread to read"
        noise = None
    else:
        # two configurations compared on the same folds: a difference within about two standard
        # deviations of one fold's score is what another seed or split could give
        noise = 2 * spread["std"]
        low, high = spread["ci95"]
        message = (
            f"val {score} {spread['mean']:.3f} +- {spread['std']:.3f} over {runs} "
            f"(95 % interval of the mean [{low:.3f}, {high:.3f}]): differences below ~{noise:.2g} "
            "are noise"
        )
    return {**spread, "metric": score, "noise": noise, "passed": True, "message": message}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _values(folds: list[dict], split: str, name: str) -> list[float]:
    """A metric's finite values over the folds (NaN/inf, null in summary.json, left out)."""
    values = [f["summary"]["metrics"][split].get(name) for f in folds]
    return [v for v in values if _finite(v)]


def _mean_of(folds: list[dict], split: str, name: str) -> float | None:
    values = _values(folds, split, name)
    return _mean(values) if values else None


def _row(fold: dict) -> dict:
    """A fold's line in the top summary."""
    summary = fold["summary"]
    metrics = summary.get("metrics") or {}
    score = (summary.get("task") or {}).get("score")
    return {
        "name": fold["name"],
        "repeat": fold.get("repeat"),
        "fold": fold.get("fold"),
        "status": fold["status"],
        "message": fold["message"],
        **{split: metrics.get(split, {}).get(score) for split in ("train", "val", "test")},
        "val_loss": metrics.get("val", {}).get("loss"),
        "best_epoch": fold["best_epoch"],
        "output_dir": summary.get("output_dir"),
    }


def _best_fold_checkpoint(folds: list[dict], score: str | None) -> str | None:
    """The best checkpoint of the fold with the highest val score: the run's model (the one its
    ``next:`` commands load; the run folder itself holds no checkpoints)."""
    candidates = [f for f in folds if f["best_checkpoint"] and f["status"] in MEASURED]

    def val_score(fold: dict) -> float:
        value = ((fold["summary"].get("metrics") or {}).get("val") or {}).get(score)
        return value if _finite(value) else -math.inf

    return max(candidates, key=val_score)["best_checkpoint"] if candidates else None


# ---- the final model: refit on the whole pool ----------------------------------------------------
def _refit(
    cfg: DictConfig, run_dir: Path, folds: list[dict], earlier: Path | None, summary: Summary
) -> dict:
    """One more run on every pooled item (nothing validates) for the mean best epoch count of
    the folds, tested on the test split."""
    epochs = [f["best_epoch"] for f in folds if f["best_epoch"]]
    if not epochs:
        return {"method": "refit", "status": "skipped: no fold has a best checkpoint"}
    mean_epochs = max(1, round(_mean(epochs)))
    refit_cfg = deepcopy(cfg)
    with open_dict(refit_cfg):
        refit_cfg.trainer.max_epochs = mean_epochs
        refit_cfg.trainer.limit_val_batches = 0
        refit_cfg.callbacks.model_checkpoint.monitor = None  # the last epoch is the model
        refit_cfg.callbacks.early_stopping = None
        refit_cfg.evaluate.splits = ["train", "test"]
        refit_cfg.evaluate.fit_verdict = False
    data = {"folds": cfg.cv.folds, "fold": None, "fold_seed": cfg.cv.seed}
    [result] = _one_by_one(
        refit_cfg, run_dir, [{"name": "refit", "repeat": None, "fold": None, "data": data}], earlier
    )
    _stop_if_stopped(result)
    test = (result["summary"].get("metrics") or {}).get("test", {})
    if test:
        summary.metrics["test"] = test
    if result["status"] == "completed" and result["best_checkpoint"]:
        summary.best_checkpoint = result["best_checkpoint"]  # the model to deploy
    if result["status"] != "completed":
        summary.verdicts["refit"] = {"passed": False, "message": f"refit {result['status']}"}
    return {"method": "refit", "epochs": mean_epochs, "status": result["status"], **test}


def _overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


if __name__ == "__main__":
    _main()
