"""Figures as PNG files: matplotlib imported lazily (runs without plots never pay for it)."""

import textwrap
from pathlib import Path
from types import SimpleNamespace

import torch


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: works without a display, in CI and over ssh
    import matplotlib.pyplot as plt

    return plt


def new_figure(width: float, height: float, columns: int = 1):  # (figure, axes)
    return _pyplot().subplots(1, columns, figsize=(width, height), dpi=100)


def save_figure(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:  # (a figure with a layout engine keeps its own)
        fig.tight_layout()
    fig.savefig(path)
    _pyplot().close(fig)
    return path


def panel_figure(rows: int, columns: int, titles: list[str], title="", side=1.4, fontsize=7):
    """Image panels titled row by row, sized for the titles, by constrained layout: fixed cell
    sizes let a three-line title run into the row above, a long one into its neighbours."""
    # a long line (many labels) wraps at 40 characters rather than widening every panel
    titles = ["\n".join(textwrap.fill(line, 40) for line in t.split("\n")) for t in titles]
    lines = max((t.count("\n") + 1 for t in titles if t), default=0)
    widest = max((len(line) for t in titles for line in t.split("\n")), default=0)
    width = max(side, 0.55 * fontsize / 72 * widest)  # (a character is ~0.5 em wide)
    height = side + 1.3 * fontsize / 72 * lines
    size = (columns * (width + 0.1) + 0.1, rows * (height + 0.1) + (0.5 if title else 0.1))
    fig = _pyplot().figure(figsize=size, dpi=100, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(titles):
            ax.set_title(titles[i], fontsize=fontsize)
    if title:
        fig.suptitle(title, fontsize=fontsize + 2)
    return fig, axes


def show_image(ax, image: torch.Tensor) -> None:  # (C, H, W), stretched to its own min..max
    image = image.detach().float().cpu()
    image = (image - image.min()) / (image.max() - image.min()).clamp_min(1e-8)
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image[:3].permute(1, 2, 0).numpy())


def grid_figure(images: torch.Tensor, titles: list[str], columns: int = 8, title: str = ""):
    n = max(1, len(images))
    columns = min(columns, n)
    fig, axes = panel_figure((n + columns - 1) // columns, columns, titles, title)
    for ax, image in zip(axes.flat, images, strict=False):
        show_image(ax, image)
    return fig


def image_grid(images, titles: list[str], path: str | Path, columns: int = 8, title="") -> Path:
    return save_figure(grid_figure(images, titles, columns, title), path)


def show_batch(datamodule, path: str | Path, describe=str, count: int = 32) -> Path:
    """A training batch as the model sees it, augmentation on; ``describe``: a target's title."""
    x, y = next(iter(datamodule.train_dataloader()))
    trainer = datamodule.trainer
    datamodule.trainer = SimpleNamespace(training=True)  # as during fit: augmentation on
    try:
        x, y = datamodule.on_after_batch_transfer((x, y), 0)
    finally:
        datamodule.trainer = trainer
    titles = [describe(t) for t in y[:count]]
    title = f"training batch, augment={datamodule.augment_policy['name']}"
    return datamodule.input.show_batch(x[:count], titles, Path(path), title=title)
