"""Task-agnostic pieces of the interpretation reports: tables, the confusion matrix, image grids."""

import csv
from pathlib import Path

import torch

from .plots import image_grid, new_figure, save_figure
from .predict import item_images


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_per_class(path: Path, first: str, names, scores: dict[str, torch.Tensor], support):
    """One row per class (or label): its name (column ``first``), each of ``scores``, support."""
    rows = []
    for c, name in enumerate(names):
        rows.append([name, *(round(float(v[c]), 6) for v in scores.values()), int(support[c])])
    return write_csv(path, [first, *scores, "support"], rows)


def most_confused(matrix: torch.Tensor, names: list[str], min_count: int = 1) -> list[list]:
    n = len(names)
    pairs = [[names[t], names[q], int(matrix[t, q])] for t in range(n) for q in range(n) if t != q]
    return sorted([row for row in pairs if row[2] >= min_count], key=lambda row: -row[2])


def plot_confusion_matrix(matrix, names: list[str], path: Path, split: str, unit="items") -> Path:
    n = len(names)
    side = min(12.0, 2.0 + 0.45 * n)
    fig, ax = new_figure(side + 1, side)
    image = ax.imshow(matrix.numpy(), cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), names, rotation=90 if n > 10 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({split}, {int(matrix.sum())} {unit})")
    if n <= 30:
        high = float(matrix.max()) or 1.0
        for t, q in matrix.nonzero().tolist():
            value = int(matrix[t, q])
            colour = "white" if value > high / 2 else "black"
            ax.text(q, t, str(value), ha="center", va="center", fontsize=7, color=colour)
    return save_figure(fig, path)


def image_rows(datamodule, indices: list[int], titles: list[str], path: Path, title: str):
    """The items ``indices`` (data-set positions) as an image grid; items described in words
    (table rows, texts) as ``<name>_inputs.csv`` and ``<name>.md``; else None."""
    images = item_images(datamodule, indices)
    if images is not None and images.dim() == 4:
        return image_grid(images, titles, path, title=title)
{%- if cookiecutter.__inputs.split(",") | select("in", ["table", "text"]) | list %}
    texts = [datamodule.describe_input(i) for i in indices]
    if not any(texts):
        return None
    rows = [[i, t.replace("\n", " "), d] for i, t, d in zip(indices, titles, texts, strict=True)]
    header = ["index", "shown as", "input"]
    write_markdown(path.with_suffix(".md"), title, header, rows)
    return write_csv(path.with_name(f"{path.stem}_inputs.csv"), header, rows)


def write_markdown(path: Path, title: str, header: list[str], rows: list[list]) -> Path:
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
{%- else %}
    return None
{%- endif %}
