"""Benchmarks of the generated project that print ratios, measured side by side.

Generates the default project (plus the transfer feature: see DEFAULT) into a temporary folder,
then, for each benchmark, alternates the project's way and a plain-PyTorch baseline for several
rounds and prints min / median / max of the ratio (never an absolute time alone: machines differ,
ratios travel).

  loop     default `python train.py` training loop (cnn, digits, batch 64, AdamW + one-cycle, a val
           pass each epoch; progress bar, CSV logger, checkpoints as configured) vs a raw PyTorch
           loop on the same model, split, batches, optimizer and epochs that saves its best state
           (weights, optimizer, schedule) whenever the val accuracy improves. ratio = raw / project
  heavy    the same on a compute-heavy workload: ResNet-18 on 64-px image files
  verdict  `python train.py mode=overfit` wall time minus `python -c "import <package>, torch,
           lightning"` (the package first: it keeps transformers' import lazy, as train.py does)
  images   image-folder loading: the project's loader vs raw PIL decode + the same transforms with
           the same workers; and with the decoded images cached in memory. ratio = project / raw
  gpu      ResNet-18 on a GPU, trainer=gpu (bf16) vs a raw bf16 loop (skipped without a GPU)

loop, heavy and gpu also print where each side's time goes per epoch (data wait, forward+backward,
optimizer, validation, checkpoints, the rest; one more untimed run of each side); loop prints
Lightning's own floor (an empty LightningModule's fit vs an empty raw loop) and the best ratio it
leaves, and the raw loop's work run by a bare Lightning Trainer (loop-bare: Lightning's cost with
this model, apart from the project's parts); heavy prints the peak RSS of each side, each run in
a process of its own. Every figure is printed with the machine's load average (1, 5, 15 min):
other programs move wall-clock ratios. torch runs one thread (``OMP_NUM_THREADS=1`` unless set).

    python benchmarks/bench_workflow.py all              # everything (several minutes)
    python benchmarks/bench_workflow.py loop --rounds 7
    python benchmarks/bench_workflow.py loop --profile   # where the project's loop spends time
    python benchmarks/bench_workflow.py heavy --profile  # the same on ResNet-18
    python benchmarks/bench_workflow.py loop --ablate    # the loop with one part switched off
    python benchmarks/bench_workflow.py verdict --ablate # the same for the time to verdict
    python benchmarks/bench_workflow.py all --smoke      # a few seconds each: checks it runs
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import cProfile
import io
import logging
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

# one torch thread per process unless set: on a shared machine, threads that wait for busy cores
# slowed a run 10-fold and made every ratio noise (the README's figures are measured so)
os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
PACKAGE = "my_vision_project"
# What any start of the project pays: the package first (noise.py keeps torchmetrics from
# importing transformers, about 1.7 s where it is installed, which train.py skips too)
IMPORT_FLOOR = ["-c", f"import {PACKAGE}, torch, lightning"]
GOALS = {"loop": 0.8, "heavy": 0.95, "images": 0.9, "gpu": 0.95}


# ---- the project under test -------------------------------------------------------------------
# The default project plus the `transfer` feature, whose files only add to it: the heavy
# workload trains model=resnet18, which comes with that feature. Everything else passes DEFAULT:
# the transfer feature's one change to the default config undone, so that the loop and the time
# to verdict are the default project's exactly.
DEFAULT = ["~finetune"]


@cache
def project() -> Path:
    """The project under test, generated once per process; its package importable in-process."""
    from cookiecutter.main import cookiecutter

    out = Path(tempfile.mkdtemp(prefix="bench-"))
    path = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(out),
                             extra_context={"features": "transfer"}))
    sys.path.insert(0, str(path / "src"))
    return path


def compose(overrides: list[str], output_dir: Path):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(project() / "configs"), version_base="1.3"):
        return hydra_compose("train", overrides=[f"paths.output_dir={output_dir}",
                                                 "print_config=false", *overrides])


class FitCaptured(Exception):
    """Ends a dry ``project_fit`` once the module and data module are captured."""


SPLIT = ("data wait", "forward+backward", "optimizer", "validation", "checkpoints", "else")


class SplitTimer:
    """Wall seconds of a fit by part (``SPLIT``), summed over its epochs. The project's side is
    read from Lightning's hooks (a callback added for one extra, untimed run); "data wait" is
    then the time between one batch's end and the next one's start (the loader, the batch
    transfer and the hooks in between), "else" what the fit spent outside the parts (setup,
    epoch hooks, logging, callbacks)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(SPLIT, 0.0)
        self.epochs = 0
        self.mark = 0.0

    def add(self, part: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[part] += now - since
        return now

    def timed(self, part: str, function):
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(part, start)

        return timed_call

    def close(self, total: float) -> dict[str, float]:
        """Per epoch, "else" being what ``total`` (the fit's wall time) leaves."""
        self.seconds["else"] = total - sum(v for k, v in self.seconds.items() if k != "else")
        return {k: v / max(self.epochs, 1) for k, v in self.seconds.items()}

    def callback(self):
        from lightning.pytorch import Callback

        timer = self

        class Hooks(Callback):
            def on_train_epoch_start(self, trainer, module):
                timer.epochs += 1
                timer.mark = time.perf_counter()

            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                timer.mark = timer.add("data wait", timer.mark)

            def on_before_optimizer_step(self, trainer, module, optimizer):
                timer.mark = timer.add("forward+backward", timer.mark)

            def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                timer.mark = timer.add("optimizer", timer.mark)

            def on_validation_start(self, trainer, module):
                timer.validation_start = time.perf_counter()

            def on_validation_end(self, trainer, module):
                timer.add("validation", timer.validation_start)

        return Hooks()


class FitCapture:
    """Times ``Trainer.fit`` inside the project's own ``train(cfg)`` and keeps what it was given
    (the module as initialized, the data module), so the raw loop can run the very same model.
    With ``split``, also times the parts of the fit (an extra callback, checkpoint writes)."""

    def __init__(self, split: SplitTimer | None = None, dry: bool = False) -> None:
        self.seconds = 0.0  # wall
        self.after_fit = 0.0  # wall seconds of the train job after fit: the curves plot being
        # finished on its thread, the summary (the final evaluation is off: evaluate.splits=[])
        self.fit_end = 0.0
        self.cpu = 0.0      # CPU time of this process (all its threads): robust on a busy machine
        self.module = None
        self.datamodule = None
        self.split = split
        self.dry = dry  # stop at the start of fit (the raw loop's model and data, untrained)

    @contextlib.contextmanager
    def patch(self):
        from lightning.pytorch import Trainer

        original = Trainer.fit
        split = self.split

        def timed_fit(trainer, model, *args, **kwargs):
            self.module = copy.deepcopy(model)  # initial weights, before any step
            self.datamodule = kwargs.get("datamodule")
            if self.dry:
                raise FitCaptured
            if split is not None:
                trainer.callbacks.append(split.callback())
                for callback in trainer.checkpoint_callbacks:  # the writes, and the wait for them
                    for name in ("_save_checkpoint", "teardown"):
                        setattr(callback, name, split.timed("checkpoints", getattr(callback, name)))
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return original(trainer, model, *args, **kwargs)
            finally:
                self.fit_end = time.perf_counter()
                self.seconds = self.fit_end - start
                self.cpu = time.process_time() - start_cpu

        Trainer.fit = timed_fit
        try:
            yield self
        finally:
            Trainer.fit = original


def project_fit(overrides: list[str], profile: cProfile.Profile | None = None,
                split: SplitTimer | None = None, dry: bool = False) -> FitCapture:
    """Run the project's train job in-process; returns the timed fit. stdout is kept out of the
    benchmark's report (the progress bar still renders, into a buffer)."""
    import importlib

    train = importlib.import_module(f"{PACKAGE}.training.run").train
    capture = FitCapture(split, dry)
    with tempfile.TemporaryDirectory() as out, capture.patch(), \
            contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()) if dry else contextlib.nullcontext():
        cfg = compose(overrides, Path(out))
        if profile is not None:
            profile.enable()
        try:
            train(cfg)
            capture.after_fit = time.perf_counter() - capture.fit_end
        except FitCaptured:
            pass
        finally:
            if profile is not None:
                profile.disable()
    return capture


def raw_fit(capture: FitCapture, cfg, device: str = "cpu", bf16: bool = False,
            split: SplitTimer | None = None) -> tuple[float, float]:
    """The same model (initial weights), batches, optimizer, schedule and epochs in plain
    PyTorch: train steps, then a val pass (loss + accuracy) each epoch, and the best state so far
    (weights, optimizer, schedule) saved to a file whenever the val accuracy improves, as a raw
    loop that keeps its best model does (the project keeps best.ckpt the same way, plus last.ckpt).
    Returns (wall, CPU). ``split``: times its parts too (a clock read between them: nothing
    measurable)."""
    from types import SimpleNamespace

    import torch
    import torch.nn.functional as F

    module, dm = copy.deepcopy(capture.module), capture.datamodule
    net = getattr(module, "model", module).to(device)
    dm.trainer = SimpleNamespace(training=True)  # its batch hook augments as in training
    torch.manual_seed(cfg.seed or 0)
    start, start_cpu = time.perf_counter(), time.process_time()
    train_loader, val_loader = dm.train_dataloader(), dm.val_dataloader()
    epochs = cfg.trainer.max_epochs
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.optimizer.lr,
                                  weight_decay=cfg.optimizer.weight_decay,
                                  betas=tuple(cfg.optimizer.betas))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.optimizer.lr, total_steps=epochs * len(train_loader),
        pct_start=cfg.scheduler.pct_start, div_factor=cfg.scheduler.div_factor,
        final_div_factor=cfg.scheduler.final_div_factor)
    autocast = (lambda: torch.autocast(device, dtype=torch.bfloat16)) if bf16 else \
        contextlib.nullcontext
    split = split or SplitTimer()
    best, folder = -1.0, tempfile.TemporaryDirectory()
    for epoch in range(epochs):
        split.epochs += 1
        net.train()
        mark = time.perf_counter()
        for batch in train_loader:
            x, y = dm.on_after_batch_transfer(batch, 0)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            mark = split.add("data wait", mark)
            with autocast():
                loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            mark = split.add("forward+backward", mark)
            optimizer.step()
            schedule.step()
            mark = split.add("optimizer", mark)
        net.eval()
        correct, total, loss_sum = 0, 0, 0.0
        with torch.no_grad(), autocast():
            for x, y in val_loader:
                x, y = x.to(device), y.to(device)
                logits = net(x)
                loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
                correct += (logits.argmax(1) == y).sum().item()
                total += len(y)
        mark = split.add("validation", mark)
        if correct / max(total, 1) > best:
            best = correct / max(total, 1)
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "epoch": epoch, "val_acc": best},
                       Path(folder.name) / "best.pt")
            split.add("checkpoints", mark)
    if device == "cuda":
        torch.cuda.synchronize()
    del train_loader, val_loader  # their workers stop here, as in Lightning's teardown of fit
    seconds = time.perf_counter() - start, time.process_time() - start_cpu
    folder.cleanup()
    return seconds


def report(name: str, ratios: list[float], goal: float | None, what: str,
           higher_is_better: bool = True) -> None:
    low, mid, high = min(ratios), statistics.median(ratios), max(ratios)
    verdict = ""
    if goal is not None:
        met = mid >= goal if higher_is_better else mid <= goal
        sign = ">=" if higher_is_better else "<="
        verdict = f"  goal {sign} {goal}: {'met' if met else 'MISSED'}"
    print(f"{name}: {what} median {mid:.2f} (min {low:.2f}, max {high:.2f}, "
          f"{len(ratios)} rounds){verdict}  [{load()}]", flush=True)


def load() -> str:
    """The machine's load average (1, 5, 15 min): printed beside every figure, since other
    programs on the cores move wall-clock ratios."""
    return "load " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def side_by_side(overrides: list[str], rounds: int, **raw) -> dict[str, list[float]]:
    """Alternate project and raw loop (which one goes first alternates too). Returns raw /
    project per round, by wall clock and by CPU time (the CPU ratio is the steadier one where
    other programs share the cores; it can't see loader worker processes)."""
    ratios: dict[str, list[float]] = {"wall": [], "cpu": [], "raw seconds": []}
    capture = None
    for index in range(rounds + 1):  # round 0 warms up caches and lazy imports: not counted
        timings = {}
        for side in (("project", "raw") if index % 2 else ("raw", "project")):
            if side == "project" or capture is None:
                capture = project_fit(overrides)
                timings["project"] = capture.seconds, capture.cpu
            if side == "raw":
                timings["raw"] = raw_fit(capture, compose(overrides, Path(tempfile.gettempdir())),
                                         **raw)
        if index:
            for clock, i in (("wall", 0), ("cpu", 1)):
                ratios[clock].append(timings["raw"][i] / timings["project"][i])
            ratios["raw seconds"].append(timings["raw"][0])
            print(f"  round {index}: raw {timings['raw'][0]:.2f} s (CPU {timings['raw'][1]:.2f}),"
                  f" project {timings['project'][0]:.2f} s (CPU {timings['project'][1]:.2f})"
                  f" -> {ratios['wall'][-1]:.2f}x (CPU {ratios['cpu'][-1]:.2f}x)  [{load()}]",
                  flush=True)
    print_split(overrides, **raw)
    return ratios


def print_split(overrides: list[str], **raw) -> None:
    """One more (untimed) run of each side with clocks between the parts: seconds per epoch."""
    project_split, raw_split = SplitTimer(), SplitTimer()
    capture = project_fit(overrides, split=project_split)
    wall = raw_fit(capture, compose(overrides, Path(tempfile.gettempdir())), split=raw_split,
                   **raw)[0]
    sides = {"project": project_split.close(capture.seconds), "raw": raw_split.close(wall)}
    print(f"  per epoch, wall seconds   {'project':>8} {'raw':>8}  [{load()}]", flush=True)
    for part in SPLIT:
        print(f"    {part:<22} {sides['project'][part]:8.3f} {sides['raw'][part]:8.3f}")
    print(f"    {'total':<22} {capture.seconds / project_split.epochs:8.3f} "
          f"{wall / raw_split.epochs:8.3f}", flush=True)
    print(f"  after fit, not timed above (the curves plot finishing on its thread, summary.json):"
          f" {capture.after_fit:.2f} s per run", flush=True)


# ---- benchmarks ------------------------------------------------------------------------------
def loop_overrides(smoke: bool) -> list[str]:
    # the configured epochs (30 by default): fixed costs per fit weigh as they do for a user;
    # the final evaluation is not part of the loop (evaluate.splits=[])
    return [*DEFAULT, "mode=full", *(["trainer.max_epochs=1"] if smoke else []),
            "evaluate.splits=[]"]


def bench_loop(rounds: int, smoke: bool) -> None:
    overrides = loop_overrides(smoke)
    ratios = side_by_side(overrides, rounds)
    report("loop", ratios["wall"], GOALS["loop"], "raw/project speed (digits, cnn, default loop)")
    report("loop-cpu", ratios["cpu"], GOALS["loop"], "raw/project CPU time")
    cfg = compose(overrides, Path(tempfile.gettempdir()))
    dm = project_fit(overrides, dry=True).datamodule
    train_steps, val_steps = len(dm.train_dataloader()), len(dm.val_dataloader())
    epochs = cfg.trainer.max_epochs
    bare = []
    for index in range(rounds):  # alternating pairs, as above
        pair = {}
        for side in ("raw", "bare") if index % 2 else ("bare", "raw"):
            pair[side] = (raw_fit if side == "raw" else bare_lightning_fit)(capture_of(overrides),
                                                                           cfg)
        bare.append(pair["raw"][1] / pair["bare"][1])
    # the same work in a bare Trainer: Lightning's cost with this model, without the project's
    # callbacks, logger, metric objects and progress bar (loop-cpu vs this: the project's share)
    report("loop-bare", bare, None, "raw/bare-Lightning CPU time (the raw loop in a Trainer)")
    overheads = [lightning_floor(epochs, train_steps, val_steps) for _ in range(3)]
    overhead = statistics.median(overheads)
    raw = statistics.median(ratios["raw seconds"])
    print(f"loop-floor: an empty LightningModule's fit costs {overhead:.2f} s more than an empty "
          f"raw loop ({epochs} epochs of {train_steps} train + {val_steps} val steps, "
          f"{1000 * overhead / (epochs * train_steps):.2f} ms per train step, median of 3): the "
          f"best ratio with Lightning here is raw / (raw + that) = {raw / (raw + overhead):.2f}"
          f"  [{load()}]",
          flush=True)


def capture_of(overrides: list[str]) -> FitCapture:
    """The project's untrained module and data module, without training (the raw side's input)."""
    return project_fit(overrides, dry=True)


def bare_lightning_fit(capture: FitCapture, cfg) -> tuple[float, float]:
    """``raw_fit``'s work (the same network, batches, AdamW + one-cycle per step, val loss and
    accuracy each epoch, the best state saved when val accuracy improves) run by a bare Lightning
    Trainer: what Lightning's loop costs with this model, apart from what the project adds.
    Returns (wall, CPU)."""
    import lightning as L
    import torch
    import torch.nn.functional as F

    dm, epochs = capture.datamodule, cfg.trainer.max_epochs
    steps = epochs * len(dm.train_dataloader())
    folder = tempfile.TemporaryDirectory()

    class Bare(L.LightningModule):
        def __init__(self, net) -> None:
            super().__init__()
            self.net, self.best, self.correct, self.total = net, -1.0, 0, 0

        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def validation_step(self, batch, batch_idx):
            x, y = batch
            logits = self.net(x)
            F.cross_entropy(logits, y, reduction="sum").item()
            self.correct += (logits.argmax(1) == y).sum().item()
            self.total += len(y)

        def on_validation_epoch_end(self) -> None:
            accuracy, self.correct, self.total = self.correct / max(self.total, 1), 0, 0
            if accuracy > self.best:
                self.best = accuracy
                optimizer, schedule = self.optimizers(), self.lr_schedulers()
                torch.save({"model": self.net.state_dict(), "optimizer": optimizer.state_dict(),
                            "schedule": schedule.state_dict(), "val_acc": accuracy},
                           Path(folder.name) / "best.pt")

        def configure_optimizers(self):
            optimizer = torch.optim.AdamW(self.parameters(), lr=cfg.optimizer.lr,
                                          weight_decay=cfg.optimizer.weight_decay,
                                          betas=tuple(cfg.optimizer.betas))
            schedule = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=cfg.optimizer.lr, total_steps=steps,
                pct_start=cfg.scheduler.pct_start, div_factor=cfg.scheduler.div_factor,
                final_div_factor=cfg.scheduler.final_div_factor)
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    module = Bare(copy.deepcopy(getattr(capture.module, "model", capture.module)))
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    torch.manual_seed(cfg.seed or 0)
    start, start_cpu = time.perf_counter(), time.process_time()
    trainer.fit(module, datamodule=dm)  # (its batch hook augments, as in the project's fit)
    seconds = time.perf_counter() - start, time.process_time() - start_cpu
    folder.cleanup()
    return seconds


def lightning_floor(epochs: int, train_steps: int, val_steps: int) -> float:
    """Wall seconds an empty Lightning fit (a one-weight model, in-memory batches, no logger,
    checkpoint, progress bar or summary) takes above the same loop in plain PyTorch: the
    trainer's own per-step and per-epoch machinery, which no project on Lightning can remove."""
    import lightning as L
    import torch
    from torch.utils.data import DataLoader

    batch = (torch.zeros(64, 1), torch.zeros(64, 1))
    train_batches, val_batches = [batch] * train_steps, [batch] * val_steps

    def loader(batches):
        return DataLoader(batches, batch_size=None)

    class Empty(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Linear(1, 1)

        def training_step(self, batch, batch_idx):
            return self.weight(batch[0]).mean()

        def validation_step(self, batch, batch_idx):
            self.weight(batch[0]).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.0)

    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    start = time.perf_counter()
    trainer.fit(Empty(), loader(train_batches), loader(val_batches))
    lightning = time.perf_counter() - start

    net = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.0)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for x, _ in loader(train_batches):
            loss = net(x).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            for x, _ in loader(val_batches):
                net(x).mean()
    return lightning - (time.perf_counter() - start)


def make_images(root: Path, per_class: int, size: int, fmt: str = "png") -> Path:
    """Class folders of image files made from the digits (upscaled, coloured): real files."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    for label in range(10):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        images = digits.images[digits.target == label][:per_class]
        for index, image in enumerate(images):
            grey = (image / 16 * 255).astype(np.uint8)
            rgb = np.stack([grey, grey[::-1], grey.T], axis=-1)
            noise = rng.integers(0, 30, (size, size, 3), dtype=np.uint8)
            big = np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR)) | noise
            Image.fromarray(big).save(folder / f"{index:04d}.{fmt}")
    return root


def heavy_overrides(root: Path, smoke: bool, extra: list[str] = ()) -> list[str]:
    return ["mode=full", "data=image_folder", f"data.root={root}", "data.image_size=64",
            "model=resnet18", "model.input_size=64", "augment=none",
            f"trainer.max_epochs={1 if smoke else 2}", "evaluate.splits=[]", *extra]


def bench_heavy(rounds: int, smoke: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # smoke: 10 per class, the fewest that give every split one image of each class
        root = make_images(Path(tmp) / "images", 10 if smoke else 40, 64)
        ratios = side_by_side(heavy_overrides(root, smoke), rounds)
        rss = peak_rss(heavy_overrides(root, smoke))
    report("heavy", ratios["wall"], GOALS["heavy"], "raw/project speed (ResNet-18, 64-px files)")
    report("heavy-cpu", ratios["cpu"], GOALS["heavy"], "raw/project CPU time (main process)")
    print(f"heavy-rss: peak RSS of the main process, project {rss['project']:.0f} MiB, raw "
          f"{rss['raw']:.0f} MiB -> project/raw {rss['project'] / rss['raw']:.2f}  goal <= 1.1: "
          f"{'met' if rss['project'] <= 1.1 * rss['raw'] else 'MISSED'}  [{load()}]", flush=True)


def peak_rss(overrides: list[str]) -> dict[str, float]:
    """Peak resident memory (MiB) of the project's run and of the raw loop, each in a process of
    its own that imports the same and builds the same model and data (loader workers apart)."""
    rss = {}
    for side in ("project", "raw"):
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        result = subprocess.run([sys.executable, __file__, "_rss", side, *overrides],
                                check=True, capture_output=True, text=True, env=env)
        rss[side] = float(result.stdout.strip().splitlines()[-1])
    return rss


def rss_child(side: str, overrides: list[str]) -> None:
    """In a child process: one run of ``side``; prints the process's peak RSS in MiB (VmHWM:
    getrusage's maximum would include the parent's, kept across fork and exec)."""
    capture = project_fit(overrides, dry=side == "raw")
    if side == "raw":
        raw_fit(capture, compose(overrides, Path(tempfile.gettempdir())))
    status = Path("/proc/self/status").read_text()
    print(int(status.split("VmHWM:")[1].split()[0]) / 1024)


def bench_gpu(rounds: int, smoke: bool) -> None:
    import torch

    if not torch.cuda.is_available():
        print("gpu: skipped (no GPU)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = make_images(Path(tmp) / "images", 10 if smoke else 100, 64)
        overrides = heavy_overrides(root, smoke, ["trainer=gpu", "data.num_workers=4"])
        ratios = side_by_side(overrides, rounds, device="cuda", bf16=True)
    report("gpu", ratios["wall"], GOALS["gpu"], "raw/project speed (ResNet-18, bf16)")


def bench_verdict(rounds: int, smoke: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(project() / "src"), "OMP_NUM_THREADS": "1"}

    def timed(*args: str) -> tuple[float, float]:
        return child_times([sys.executable, *args], cwd=project(), env=env)

    gaps, cpu_gaps = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(rounds):  # (smoke: the same run; each in a new folder)
            overfit = ["train.py", *DEFAULT, "mode=overfit", f"hydra.run.dir={tmp}/run{index}"]
            order = ("floor", "overfit") if index % 2 else ("overfit", "floor")
            times = {side: timed(*overfit) if side == "overfit" else
                     timed(*IMPORT_FLOOR) for side in order}
            gaps.append(times["overfit"][0] - times["floor"][0])
            cpu_gaps.append(times["overfit"][1] - times["floor"][1])
            print(f"  round {index + 1}: overfit {times['overfit'][0]:.2f} s (CPU "
                  f"{times['overfit'][1]:.2f}), import floor {times['floor'][0]:.2f} s (CPU "
                  f"{times['floor'][1]:.2f}) -> {gaps[-1]:.2f} s above (CPU {cpu_gaps[-1]:.2f})"
                  f"  [{load()}]", flush=True)
    report("verdict", gaps, 2.0, "seconds above the import floor,", higher_is_better=False)
    report("verdict-cpu", cpu_gaps, 2.0, "CPU seconds above the import floor's,",
           higher_is_better=False)


def child_times(command: list[str], **kwargs) -> tuple[float, float]:
    """(wall, CPU) seconds of a child process; its CPU time (user + system) barely depends on
    what else runs on the machine."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ablate_verdict(rounds: int, smoke: bool) -> None:
    """Where the seconds above the import floor go: overfit runs with one part switched off, and
    the project's own imports, as CPU time above `import torch, lightning`'s (alternating)."""
    env = {**os.environ, "PYTHONPATH": str(project() / "src"), "OMP_NUM_THREADS": "1"}
    floor = IMPORT_FLOOR
    variants = {
        "overfit (default)": [],
        "print_config=false": ["print_config=false"],
        "no model summary": ["trainer.enable_model_summary=false"],
        "no shape check": ["shape_check=false"],
        "no progress bar": ["++trainer.enable_progress_bar=false"],
        "no curves plot": ["callbacks.curves=null"],
    }
    imports = ["-c", f"import torch, lightning, hydra; import {PACKAGE}.training.run"]
    gaps: dict[str, list[float]] = {name: [] for name in [*variants, "imports of train.py"]}
    with tempfile.TemporaryDirectory() as tmp:
        def wall(args: list[str]) -> float:  # CPU seconds: the parts are small, the machine busy
            return child_times([sys.executable, *args], cwd=project(), env=env)[1]

        for index in range(rounds):
            base = wall(floor)
            names = list(gaps) if index % 2 == 0 else list(gaps)[::-1]
            for name in names:
                args = imports if name == "imports of train.py" else [
                    "train.py", *DEFAULT, "mode=overfit",
                    f"hydra.run.dir={tmp}/{index}-{len(name)}", *variants[name]]
                gaps[name].append(wall(args) - base)
            print(f"  round {index + 1}: floor {base:.2f} CPU s; above it: "
                  + ", ".join(f"{n} {g[-1]:.2f}" for n, g in gaps.items()), flush=True)
    for name, values in gaps.items():
        report(f"verdict-ablate [{name}]", values, None, "CPU seconds above the import floor,")


def bench_images(rounds: int, smoke: bool) -> None:
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    from_module = __import__(f"{PACKAGE}.data.image_folder", fromlist=["ImageFolderDataModule"])

    class RawFiles(Dataset):
        """Plain PIL decode + the project's transforms: the baseline."""

        def __init__(self, paths, labels, transform, cached=False) -> None:
            self.paths, self.labels, self.transform = paths, labels, transform
            self.images = [self.decode(p) for p in paths] if cached else None

        @staticmethod
        def decode(path):
            with Image.open(path) as image:
                return image.convert("RGB")

        def __len__(self) -> int:
            return len(self.paths)

        def __getitem__(self, i):
            image = self.images[i] if self.images is not None else self.decode(self.paths[i])
            return self.transform(image), self.labels[i]

    def images_per_second(loader, epochs: int) -> float:
        count, start = 0, time.perf_counter()
        for _ in range(epochs):
            for x, _ in loader:
                count += len(x)
        return count / (time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        root = make_images(Path(tmp) / "images", 8 if smoke else 120, 128, fmt="jpg")
        dm = from_module.ImageFolderDataModule(root=str(root), image_size=64, augment="none",
                                               batch_size=32, num_workers=2)
        dm.setup()
        ours = dm.train_dataloader()
        indices = list(dm.indices["train"]) if hasattr(dm, "indices") else None
        paths = [dm.paths[i] for i in indices] if indices else list(dm.paths)
        labels = [int(dm.loaded.targets[i]) for i in indices] if indices else None
        transform = dm.item_transform(train=False)
        settings = {"batch_size": 32, "shuffle": True, "num_workers": 2, "persistent_workers": True}
        raw = DataLoader(RawFiles(paths, labels, transform), **settings)
        decode_start = time.perf_counter()
        cached = DataLoader(RawFiles(paths, labels, transform, cached=True), **settings)
        decode_seconds = time.perf_counter() - decode_start
        epochs = 1 if smoke else 3
        ratios, cached_ratios = [], []
        for _ in range(2):  # warm-up: worker start-up, file cache
            images_per_second(ours, 1), images_per_second(raw, 1), images_per_second(cached, 1)
        for index in range(rounds):
            order = [ours, raw, cached] if index % 2 else [cached, raw, ours]
            speed = {id(loader): images_per_second(loader, epochs) for loader in order}
            ratios.append(speed[id(ours)] / speed[id(raw)])
            cached_ratios.append(speed[id(cached)] / speed[id(raw)])
            print(f"  round {index + 1}: project {speed[id(ours)]:.0f} img/s, raw PIL "
                  f"{speed[id(raw)]:.0f} img/s, decoded-cache {speed[id(cached)]:.0f} img/s",
                  flush=True)
    report("images", ratios, GOALS["images"], "project/raw images per second")
    report("images-cached", cached_ratios, None,
           f"decoded-cache/raw images per second (one-time decode {decode_seconds:.2f} s,"
           f" {len(paths)} images)")


def profile_fit(which: str, smoke: bool, top: int = 30) -> None:
    """cProfile of the project's fit on the loop (or heavy) workload, by cumulative and by own
    time."""
    if which == "heavy":
        with tempfile.TemporaryDirectory() as tmp:
            root = make_images(Path(tmp) / "images", 10 if smoke else 40, 64)
            profile_overrides(heavy_overrides(root, smoke), top)
    else:
        profile_overrides(loop_overrides(smoke), top)


def profile_overrides(overrides: list[str], top: int) -> None:
    project_fit(overrides)  # warm-up: lazy imports and first-call costs are not the loop's
    profile = cProfile.Profile()
    capture = project_fit(overrides, profile)
    print(f"profile: project fit {capture.seconds:.2f} s ({' '.join(overrides)})")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


# What each part of the default loop costs: the same workload with one part switched off.
# Configuration switches first; then the task's per-step work replaced at run time (monkeypatched
# methods, to size what a change in tasks/ would save; checkpoints monitor val/<score>, so a
# variant that stops logging it also turns checkpoints off).
PARTS_OFF = ["++trainer.enable_progress_bar=false", "logger=none",
             "callbacks.model_checkpoint=null", "++trainer.enable_checkpointing=false",
             "trainer.enable_model_summary=false", "callbacks.curves=null"]
ABLATIONS = {
    "default": ([], {}),
    "no progress bar": (["++trainer.enable_progress_bar=false"], {}),
    "no logger": (["logger=none"], {}),
    "no checkpoints": (["callbacks.model_checkpoint=null", "++trainer.enable_checkpointing=false"],
                       {}),
    "last.ckpt every epoch (before 2026-11-23)": (
        ["callbacks.model_checkpoint.last_min_interval_s=0"], {}),
    "no model summary": (["trainer.enable_model_summary=false"], {}),
    "no curves plot": (["callbacks.curves=null"], {}),
    "all five off": (PARTS_OFF, {}),
    "self.log every step (before 2026-11-23)": ([], {"training_step": "step_log_every_step",
                                                     "validation_step": "val_log_every_step"}),
    "no train metric": ([], {"training_step": "step_no_metric"}),
    "bare steps, five off": (PARTS_OFF, {"training_step": "step_bare",
                                        "validation_step": "val_bare"}),
}


def step_log_every_step(self, batch, batch_idx):
    x, y = batch
    outputs = self(x)
    loss = self.task.loss(outputs, y)
    self.train_score.update(*self.task.metric_inputs(outputs.detach(), y))
    self.log("train/loss", loss, prog_bar=True, batch_size=len(y))
    self.log(f"train/{self.task.score}", self.train_score, on_step=False, on_epoch=True,
             batch_size=len(y))
    return loss


def val_log_every_step(self, batch, batch_idx):
    x, y = batch
    outputs = self(x)
    self.val_metrics.update(*self.task.metric_inputs(outputs, y))
    self.log("val/loss", self.task.item_losses(outputs, y).mean(), prog_bar=True,
             batch_size=len(y))
    self.log_dict(self.val_metrics, batch_size=len(y))


def step_no_metric(self, batch, batch_idx):
    x, y = batch
    loss = self.task.loss(self(x), y)
    if self.trainer._logger_connector.should_update_logs:
        self.log("train/loss", loss, prog_bar=True, batch_size=len(y))
    return loss


def step_bare(self, batch, batch_idx):
    x, y = batch
    return self.task.loss(self(x), y)


def val_bare(self, batch, batch_idx):
    x, y = batch
    self.task.item_losses(self(x), y)


@contextlib.contextmanager
def patched_module(patches: dict[str, str]):
    """The training module's steps replaced by the variants above, for one fit."""
    import importlib

    if not patches:
        yield
        return
    module = importlib.import_module(f"{PACKAGE}.training.module").TaskModule
    saved = {name: module.__dict__[name] for name in patches}
    for name, replacement in patches.items():
        setattr(module, name, globals()[replacement])
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(module, name, method)


def ablate_loop(rounds: int, smoke: bool) -> None:
    """CPU time of the fit for each variant against the raw loop's, the order of the variants
    alternating every round (CPU time: the parts cost milliseconds, a busy machine's wall clock
    varies by more)."""
    base = loop_overrides(smoke)
    capture = project_fit(base)  # warm-up, and the model for the raw loop
    cfg = compose(base, Path(tempfile.gettempdir()))
    names = list(ABLATIONS)
    cpu: dict[str, list[float]] = {name: [] for name in [*names, "raw"]}
    for index in range(rounds):
        cpu["raw"].append(raw_fit(capture, cfg)[1])
        for name in names if index % 2 == 0 else names[::-1]:
            overrides, patches = ABLATIONS[name]
            with patched_module(patches):
                cpu[name].append(project_fit(base + overrides).cpu)
        print(f"  round {index + 1}: CPU s " + ", ".join(f"{n} {cpu[n][-1]:.2f}" for n in cpu),
              flush=True)
    raw = statistics.median(cpu["raw"])
    default = statistics.median(cpu["default"])
    for name in names:
        ratios = [r / p for r, p in zip(cpu["raw"], cpu[name], strict=True)]
        saved = default - statistics.median(cpu[name])
        report(f"ablate [{name}]", ratios, None,
               f"raw/project CPU ({saved:+.2f} s of {default:.2f} s saved; raw {raw:.2f} s)")


def setup() -> None:
    import torch

    project()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    from importlib import import_module

    import_module(f"{PACKAGE}.noise").silence()
    logging.disable(logging.INFO)  # Lightning's "GPU available: ..." once per run


BENCHMARKS = {"loop": bench_loop, "heavy": bench_heavy, "verdict": bench_verdict,
              "images": bench_images, "gpu": bench_gpu}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_rss"]:  # a child of peak_rss
        setup()
        rss_child(argv[1], argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", nargs="?", default="all", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks it runs")
    parser.add_argument("--profile", action="store_true",
                        help="loop or heavy: profile the project's fit instead")
    parser.add_argument("--ablate", action="store_true",
                        help="loop or verdict: with one part at a time switched off")
    args = parser.parse_args(argv)
    setup()
    if args.profile:
        profile_fit(args.which, args.smoke)
        return
    rounds = 1 if args.smoke else args.rounds
    if args.ablate:
        {"loop": ablate_loop, "verdict": ablate_verdict}[args.which](rounds, args.smoke)
        return
    for name in BENCHMARKS if args.which == "all" else [args.which]:
        BENCHMARKS[name](rounds, args.smoke)


if __name__ == "__main__":
    main()
