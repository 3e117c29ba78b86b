"""Figures as PNG files: one place that sets matplotlib up for files only (Agg, no window) and
draws image grids. matplotlib is imported lazily: runs without plots never pay for it."""

from __future__ import annotations

from pathlib import Path

import torch


def new_figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")  # files only: works without a display, in CI and over ssh
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def save_figure(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def image_grid(
    images: torch.Tensor, titles: list[str], path: str | Path, columns: int = 8, title: str = ""
) -> Path:
    """``images``: (N, C, H, W), any scale (each image is stretched to its own min..max)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(images))
    columns = min(columns, n)
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(
        rows, columns, figsize=(1.6 * columns, 1.8 * rows + 0.4), dpi=100, squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        image = images[i].detach().float().cpu()
        image = (image - image.min()) / (image.max() - image.min()).clamp_min(1e-8)
        if image.shape[0] == 1:
            ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(image[:3].permute(1, 2, 0).numpy())
        ax.set_title(titles[i], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def show_batch(datamodule, path: str | Path, describe=str, count: int = 32) -> Path:
    """Training images as the model sees them, augmentation included (``show_batch=true``);
    ``describe`` turns a target into a title (the task's ``describe_item``)."""
    from types import SimpleNamespace

    x, y = next(iter(datamodule.train_dataloader()))
    trainer = datamodule.trainer
    datamodule.trainer = SimpleNamespace(training=True)  # as during fit: augmentation on
    try:
        x, y = datamodule.on_after_batch_transfer((x, y), 0)
    finally:
        datamodule.trainer = trainer
    policy = datamodule.augment_policy["name"]
    return image_grid(
        x[:count], [describe(t) for t in y[:count]], path, title=f"training batch, augment={policy}"
    )
