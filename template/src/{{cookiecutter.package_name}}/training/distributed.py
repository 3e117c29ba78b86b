"""What DDP needs beyond Lightning's defaults in this project.

Training: Lightning wraps our loaders' batch samplers (``batch_size=None``) in
``DistributedSamplerWrapper``: each rank gets every ``world_size``-th batch, padded so that all
ranks step together. Final measurement: padding would count a few samples twice, so eval loaders
get ``UnrepeatedDistributedSamplerWrapper`` (each batch once). A split with fewer batches than
ranks is replicated on every rank instead: a rank without a batch would skip the end-of-epoch
metric sync and hang the others, and identical copies leave the metrics unchanged.
"""

import contextlib
import os
import sys
from collections.abc import Iterator

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSamplerWrapper
from omegaconf import read_write
from torch.utils.data import DataLoader, DistributedSampler

from .sweep import in_multirun


class _Replicated(DistributedSampler):
    """All of ``sampler`` on every rank (a DistributedSampler, so Lightning leaves it alone)."""

    def __init__(self, sampler) -> None:  # no super().__init__: it needs a process group
        self.sampler = sampler

    def __iter__(self) -> Iterator:
        return iter(self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        pass


def eval_loaders(loaders: list[DataLoader], trainer: L.Trainer) -> list[DataLoader]:
    """Eval loaders that count every sample exactly once across ranks (unchanged on 1 device)."""
    world, rank = trainer.world_size, trainer.global_rank
    if world == 1:
        return loaders
    result = []
    for loader in loaders:
        if len(loader.sampler) >= world:
            sampler = UnrepeatedDistributedSamplerWrapper(
                loader.sampler, num_replicas=world, rank=rank, shuffle=False
            )
        else:
            sampler = _Replicated(loader.sampler)
        kept = ("batch_size", "collate_fn", "num_workers", "pin_memory")
        options = {name: getattr(loader, name) for name in kept}
        result.append(DataLoader(loader.dataset, sampler=sampler, **options))
    return result


def launched_rank() -> int:
    """This process's rank when a DDP launcher started it (0 otherwise); known before any
    Trainer exists, so it also holds while one-device helper Trainers run (the LR range test)."""
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))


@contextlib.contextmanager
def relaunchable() -> Iterator[None]:
    """Lightning starts the other DDP ranks by re-running the command line with
    ``hydra.run.dir``; under ``-m`` that would start a whole new sweep. In a multirun job:
    ``sys.argv`` = this job's overrides, ``hydra.run.dir`` = its folder."""
    if not in_multirun():
        yield
        return
    hydra_cfg = HydraConfig.get()
    argv, run_dir = sys.argv, hydra_cfg.run.dir
    sys.argv = [argv[0], *hydra_cfg.overrides.task]
    with read_write(hydra_cfg):
        hydra_cfg.run.dir = hydra_cfg.runtime.output_dir
    try:
        yield
    finally:
        sys.argv = argv
        with read_write(hydra_cfg):
            hydra_cfg.run.dir = run_dir
