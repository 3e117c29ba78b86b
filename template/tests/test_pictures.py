"""Figures read as they should: titles clear of the images and of each other, a legend where
colours stand for classes, named axes, whole-number ticks, per-step curves where epochs mean
nothing. Asserted on the figure objects as drawn (layout and image aspect applied), not on
pixels."""

import importlib
import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class
from matplotlib.backends.backend_agg import FigureCanvasAgg

from {{ cookiecutter.package_name }}.analysis import plots
from {{ cookiecutter.package_name }}.analysis.interpret import interpret
from {{ cookiecutter.package_name }}.training.curves import TrainingCurves
from {{ cookiecutter.package_name }}.training.run import build_datamodule, build_module

from conftest import compose_config
from pngcheck import assert_png


def drawn(fig):
    """(text boxes, image boxes) in pixels: every non-empty title, the figure's own texts and
    its legends; the axes that show an image."""
    canvas = FigureCanvasAgg(fig)  # (a figure already saved and closed has lost its own)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = [t for t in (*fig.texts, *(ax.title for ax in fig.axes)) if t.get_text()]
    boxes = [t.get_window_extent(renderer) for t in texts]
    boxes += [legend.get_window_extent(renderer) for legend in fig.legends]
    images = [ax.get_window_extent(renderer) for ax in fig.axes if ax.images]
    return boxes, images


def overlap(a, b) -> bool:
    """More than half a pixel of common area (boxes that merely touch do not overlap)."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5


def assert_titles_clear(fig) -> None:
    texts, images = drawn(fig)
    assert images, "no image drawn"
    for text, image in itertools.product(texts, images):
        assert not overlap(text, image), f"a title {text} covers an image {image}"
    for a, b in itertools.combinations(texts, 2):
        assert not overlap(a, b), f"titles overlap: {a} {b}"
    for box in (*texts, *images):  # nothing cut off at the figure's edges
        assert box.x0 >= -0.5 and box.y0 >= -0.5, box
        assert box.x1 <= fig.bbox.x1 + 0.5 and box.y1 <= fig.bbox.y1 + 0.5, box


# ---- image grids: every task's top losses, the segmentation's worst images ---------------------
@pytest.mark.parametrize(
    "titles",
    [
        ["7/1\n2.31/0.17"] * 16,  # classification: prediction/label, loss/probability
        ["-\neven greater_than_4 closed_loop prime\n1.05"] * 13,  # multi-label, 2 rows not full
        ["a much longer class name than any image is wide"] * 3,
        ["cat dog person chair bottle dining_table potted_plant sofa tv_monitor\n0.93"] * 9,
    ],
)
def test_image_grid_titles_stay_clear_of_images_and_each_other(titles):
    fig = plots.grid_figure(torch.rand(len(titles), 1, 8, 8), titles, title="top losses")
    assert_titles_clear(fig)
    assert fig.get_figwidth() < 8 * 3  # many labels wrap rather than widen every column


FIGURES = {  # task -> its image-grid file in the interpretation report
    "classification": "top_losses.png",
    "multilabel": "top_losses.png",
    "regression": "worst.png",
    "segmentation": "worst_images.png",
}


@pytest.mark.parametrize(
    "task_name", [pytest.param(name, marks=pytest.mark.task(name)) for name in sorted(FIGURES)]
)
def test_every_task_s_report_figure_is_laid_out_clear(task_name, tmp_path, monkeypatch):
    """The real report (an untrained model on the task's default data): the titles it writes,
    with the layout it gets."""
    saved = {}
    save = plots.save_figure

    def keep(fig, path):
        saved[Path(path).name] = fig
        return save(fig, path)

    monkeypatch.setattr(plots, "save_figure", keep)
    package = "{{ cookiecutter.package_name }}"
    report = importlib.import_module(f"{package}.tasks.reports.{task_name}")
    if hasattr(report, "save_figure"):  # a report that draws its own figures
        monkeypatch.setattr(report, "save_figure", keep)
    cfg = compose_config("train", [f"task={task_name}"], tmp_path)
    task_cls = get_class(cfg.task._target_)
    datamodule = build_datamodule(cfg, task_cls)
    module = build_module(cfg, task_cls, datamodule)
    interpret(module, datamodule, tmp_path, "val", top_k=16)
    name = FIGURES[task_name]
    assert_png(tmp_path / "interpret" / name)
    fig = saved[name]
    assert_titles_clear(fig)
    if task_name == "segmentation":  # the mask colours are named
        (legend,) = fig.legends
        named = [text.get_text() for text in legend.get_texts()]
        assert set(named) <= {*module.task.class_names, "void (no label)"} and len(named) >= 2


# ---- training curves -------------------------------------------------------------------------
def curves(epochs: int = 2, steps_per_epoch: int = 5, step_metric=None) -> TrainingCurves:
    recorded = TrainingCurves("unused.png", step_metric=step_metric)
    recorded.steps = [(s, 2.0 / s, 1e-3) for s in range(1, epochs * steps_per_epoch + 1)]
    recorded.epoch_steps = [steps_per_epoch * (e + 1) for e in range(epochs)]
    for key in ("train/loss", "val/loss", "train/acc", "val/acc"):
        recorded.epochs[key] = [0.5 + 0.2 * e for e in range(epochs)]
    if step_metric:
        recorded.step_scores = [(s, min(1.0, 0.1 * s)) for s, _, _ in recorded.steps]
    return recorded


def visible_ticks(axis, limits) -> list[float]:
    low, high = sorted(limits)
    return [t for t in axis.get_majorticklocs() if low - 1e-9 <= t <= high + 1e-9]


def test_curves_name_every_axis_and_count_epochs_and_steps_in_whole_numbers():
    fig = curves(epochs=2).figure("acc")
    fig.canvas.draw()
    _, score_ax, lr_ax = fig.axes
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "acc", "learning rate"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["step", "epoch", "step"]
    for ax in fig.axes:  # 2 epochs once read 1.0, 1.2, ..., 2.0
        ticks = visible_ticks(ax.xaxis, ax.get_xlim())
        assert ticks and all(t == int(t) for t in ticks), (ax.get_xlabel(), ticks)
    assert visible_ticks(score_ax.xaxis, score_ax.get_xlim()) == [1, 2]
    assert lr_ax.get_ylim()[0] == 0  # a constant rate reads as one


def test_per_step_curves_draw_only_steps():
    fig = curves(epochs=3, step_metric="acc").figure("acc")
    loss_ax, score_ax, _ = fig.axes
    assert score_ax.get_xlabel() == "step" and score_ax.get_ylabel() == "acc"
    (line,) = score_ax.lines  # the metric per step, no epoch means beside it
    assert list(line.get_xdata()) == list(range(1, 16)) and max(line.get_ydata()) == 1.0
    assert len(loss_ax.lines) == 1  # the per-step loss only


def test_overfit_curves_follow_the_batch_to_the_target(run_train):
    """mode=overfit measures the check's metric on the batch every step: the curve ends where the
    check stopped, at the target (an epoch mean once showed 0.90 for a run that reached 100 %)."""
    summary = run_train("mode=overfit")
    verdict = summary["verdicts"]["overfit"]
    assert verdict["reached"]
    plotted = json.loads((Path(summary["output_dir"]) / "plots" / "curves.json").read_text())
    assert plotted["step_metric"] == verdict["metric"] == summary["task"]["overfit_metric"]
    steps, values = zip(*plotted["step_scores"], strict=True)
    assert list(steps) == list(range(1, verdict["steps"] + 1))
    assert values[-1] >= verdict["target"] and max(values[:-1]) < verdict["target"]
    assert not math.isclose(values[0], values[-1])
    assert_png(Path(summary["output_dir"]) / "plots" / "curves.png")
