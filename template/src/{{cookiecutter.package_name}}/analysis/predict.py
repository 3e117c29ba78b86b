"""Predictions of a trained task on one split, in eval mode, with what each item is.

Shared by the interpretation report and the data cleaner: per item its index in the data set,
its file path (image folders) or None (in-memory data), label, predicted probabilities and loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Predictions:
    split: str
    indices: list[int]             # positions in the full data set
    paths: list[str | None]        # image files, or None for in-memory data
    targets: torch.Tensor          # (N,)
    probs: torch.Tensor            # (N, C)
    losses: torch.Tensor           # (N,) cross-entropy per item
    class_names: list[str]

    @property
    def preds(self) -> torch.Tensor:
        return self.probs.argmax(dim=1)


@torch.no_grad()
def predict(task, datamodule, split: str) -> Predictions:
    """Run ``task`` over ``split`` (no shuffling, no augmentation) on the task's device."""
    datamodule.setup()  # (once; later calls return at once)
    was_training = task.training
    task.eval()
    device = next(task.parameters()).device
    logits, targets = [], []
    try:
        for x, y in datamodule.eval_dataloaders([split])[0]:
            logits.append(task(x.to(device)).float().cpu())
            targets.append(y.cpu())
    finally:
        task.train(was_training)
    logits_all, targets_all = torch.cat(logits), torch.cat(targets)
    indices = list(datamodule._split_indices(split))
    paths = getattr(datamodule, "paths", None)
    return Predictions(
        split=split, indices=indices,
        paths=[paths[i] for i in indices] if paths else [None] * len(indices),
        targets=targets_all, probs=logits_all.softmax(dim=1),
        losses=torch.nn.functional.cross_entropy(logits_all, targets_all, reduction="none"),
        class_names=list(datamodule.class_names))


def item_images(datamodule, indices: list[int]) -> torch.Tensor:
    """The (non-augmented) input tensors of the given data-set positions, for image grids."""
    inputs = datamodule.loaded.inputs
    if isinstance(inputs, torch.Tensor):
        return inputs[torch.as_tensor(indices, dtype=torch.long)]
    transform = datamodule.item_transform(train=False)
    return torch.stack([transform(inputs[i][0]) for i in indices])


def load_trained(ckpt_path, data_overrides: dict | None = None):
    """(task, datamodule) from a checkpoint: the weights, and the data split they were trained on
    (the checkpoint carries the data module's settings; ``data_overrides`` change single ones)."""
    from pathlib import Path

    from hydra.utils import get_class

    from ..tasks import ClassificationTask

    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={path} does not exist (checkpoints are in "
                                "<run dir>/checkpoints/, e.g. outputs/full/<date>/checkpoints/)")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # read once, for both
    task = ClassificationTask(**checkpoint["hyper_parameters"])
    task.load_state_dict(checkpoint["state_dict"])
    config = {**checkpoint["datamodule"], **(data_overrides or {})}
    datamodule = get_class(config.pop("_target_"))(**config)
    datamodule.setup()
    return task, datamodule
