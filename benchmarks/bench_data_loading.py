"""Benchmark: tensor batches vs item-by-item loading, and Lightning's share of a training step.

Generates the default project into a temporary folder and measures, side by side in one run:
  1. one epoch of the digits training split served by the project's tensor-batch loader, against
     a standard ``DataLoader(TensorDataset)`` that collates item by item;
  2. optimizer steps per second of the default CNN in a raw PyTorch loop, against the same steps
     through the project's ``ClassificationTask`` and a Lightning ``Trainer``.
Prints ratios; no assertion (timings belong in benchmarks, not in tests).

    python benchmarks/bench_data_loading.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[1]


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    out = Path(tempfile.mkdtemp())
    project = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(out)))
    sys.path.insert(0, str(project / "src"))
    import lightning as L
    import torch
    from my_vision_project import noise  # noqa: F401
    from my_vision_project.data.digits import DigitsDataModule
    from my_vision_project.inputs.base import InputFacts
    from my_vision_project.models import facts_config, model_config
    from my_vision_project.tasks.classification import ClassificationTask
    from my_vision_project.training.module import TaskModule
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    dm = DigitsDataModule(batch_size=64, augment=False)
    dm.setup()
    index = torch.as_tensor(dm.indices["train"])
    x, y = dm.loaded.inputs[index], dm.loaded.targets[index]
    ours = dm.train_dataloader()
    standard = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)

    def epoch(loader) -> None:
        for _ in loader:
            pass

    t_ours, t_std = best_of(20, lambda: epoch(ours)), best_of(20, lambda: epoch(standard))
    print(f"data: one epoch ({len(y)} items, batch 64): tensor batches {t_ours * 1e3:.2f} ms, "
          f"item-by-item DataLoader {t_std * 1e3:.2f} ms -> {t_std / t_ours:.1f}x faster")

    steps = 200

    def make_task() -> TaskModule:
        return TaskModule.for_task(
            ClassificationTask,
            model_config("cnn", width=16, depth=2, dropout=0.0),
            {"names": [str(d) for d in range(10)]},
            facts_config(InputFacts("image", (1, 8, 8))),
            {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 1e-3},
            {"_target_": "my_vision_project.training.optim.constant", "_partial_": True},
        )

    def raw_loop() -> None:
        model = make_task().model
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        done = 0
        while done < steps:
            for xb, yb in ours:
                loss = torch.nn.functional.cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                done += 1
                if done == steps:
                    break

    def lightning_loop() -> None:
        trainer = L.Trainer(max_steps=steps, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            num_sanity_val_steps=0, limit_val_batches=0, accelerator="cpu")
        trainer.fit(make_task(), train_dataloaders=dm.train_dataloader())

    t_raw, t_pl = best_of(3, raw_loop), best_of(3, lightning_loop)
    print(f"training: {steps} steps of the default CNN: raw loop {steps / t_raw:.0f} steps/s, "
          f"Lightning {steps / t_pl:.0f} steps/s -> Lightning costs {t_pl / t_raw:.2f}x")


if __name__ == "__main__":
    main()
