"""Segmentation beyond the task contract (overfit, lr=0, fraction verdict, checkpoint round trip
and eval interpretation come from test_tasks.py): the embedded masks, joint augmentation, the
mean-IoU baseline, the U-Net over a timm encoder (fine-tuned with the transfer feature), and the
head check."""

from pathlib import Path

import pytest
import torch

from {{ cookiecutter.package_name }}.analysis.interpret import interpret
from {{ cookiecutter.package_name }}.analysis.predict import load_trained
from {{ cookiecutter.package_name }}.data.augment import joint_augment
from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule
from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import create_model, model_config
from {{ cookiecutter.package_name }}.tasks.base import TaskError
from {{ cookiecutter.package_name }}.tasks.reports import segmentation

from conftest import PROJECT_FEATURES

SMALL = ["task=segmentation", "model.width=8", "model.depth=2"]


def test_embedded_masks_are_seeded_and_label_the_ink():
    first, second = (DigitsDataModule(target_kind="mask").load() for _ in range(2))
    assert torch.equal(first.inputs, second.inputs) and torch.equal(first.targets, second.targets)
    assert first.inputs.shape[1:] == (1, 16, 16) and first.targets.shape[1:] == (16, 16)
    assert first.target_names[0] == "background" and len(first.target_names) == 11
    # each image: background plus exactly one digit class, on bright pixels
    for image, mask in zip(first.inputs[:20], first.targets[:20], strict=True):
        classes = torch.unique(mask).tolist()
        assert classes[0] == 0 and len(classes) == 2
        assert image[0][mask > 0].mean() > image[0][mask == 0].mean() + 0.3


def test_joint_augmentation_moves_image_and_mask_together():
    images = torch.zeros(8, 1, 16, 16)
    images[:, :, 4:8, 4:8] = 1.0
    masks = (images[:, 0] > 0.5).long() * 3
    policy = {"shift": 0.25, "rotate": 0.0, "scale": [1.0, 1.0], "flip": True}
    moved, moved_masks = joint_augment(images, masks, policy, flip_ok=True, ignore_index=255)
    assert moved.shape == images.shape and moved_masks.shape == masks.shape
    assert set(torch.unique(moved_masks).tolist()) <= {0, 3, 255}  # nearest: no new classes
    assert not torch.equal(moved_masks, masks)  # something moved
    labelled = moved_masks == 3
    assert labelled.any() and moved[:, 0][labelled].mean() > 0.5  # the ink moved with its mask


def test_a_pooled_model_is_refused_with_a_clear_error(run_train):
    with pytest.raises(TaskError, match="per pixel"):
        run_train("task=segmentation", "model=cnn", "mode=smoke")


def test_full_run_beats_the_majority_class_mean_iou(run_train):
    """The trivial predictor (background everywhere) scores mean IoU 0.078 on this split. Three
    epochs of a small U-Net already separate ink from background and start naming the digits
    (measured: test mean IoU 0.16); naming every digit right takes more epochs."""
    summary = run_train(*SMALL, "trainer.max_epochs=3")
    fit = summary["verdicts"]["fit"]
    assert summary["status"] == "completed" and fit["metric"] == "miou"
    assert 0.05 < fit["baseline"] < 0.1
    assert summary["metrics"]["test"]["miou"] > fit["baseline"] + 0.04
    assert summary["metrics"]["test"]["pixel_acc"] > 0.3


def test_unet_over_timm_encoder_fine_tunes_with_only_the_encoder_frozen(run_train):
    # the schedule where the project has it (the transfer feature); the layer groups everywhere
    tune = ["finetune=fine_tune"] if "transfer" in PROJECT_FEATURES else []
    summary = run_train(
        "task=segmentation",
        "model=unet",
        "model.encoder=resnet10t",
        *tune,
        "mode=smoke",
        "trainer.max_epochs=2",
    )
    assert summary["status"] == "completed"
    model = create_model(
        model_config("unet", encoder="resnet10t", decoder_width=16),  # as configs/model/unet.yaml
        11,
        InputFacts("image", (1, 32, 32)),
    )
    groups = model.layer_groups()
    assert groups[-1] is model.head and any(True for _ in model.head.blocks.parameters())
    # stage one trains the decoder + head and only the encoder's norm layers (train_bn)
    decoder_and_head = sum(p.numel() for p in model.head.parameters())
    encoder_norms = sum(
        p.numel()
        for m in model.backbone.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        for p in m.parameters()
    )
    if tune:
        stages = summary["verdicts"]["finetune"]["stages"]
        assert [s["stage"] for s in stages] == ["frozen", "unfrozen"]
        assert stages[0]["params_trainable"] == decoder_and_head + encoder_norms
        assert stages[1]["params_trainable"] == stages[1]["params_total"]
    out = model(torch.zeros(2, 1, 32, 32))
    assert out.shape == (2, 11, 32, 32)  # full resolution, whatever the encoder's strides


def test_interpretation_writes_iou_table_confusion_matrix_and_worst_images(run_train, tmp_path):
    trained = run_train(*SMALL, "trainer.max_epochs=1", "+trainer.limit_train_batches=3")
    task, datamodule = load_trained(trained["best_checkpoint"])
    report = interpret(task, datamodule, tmp_path, "val", top_k=4)
    folder = Path(report["folder"])
    assert {
        "per_class_iou.csv",
        "confusion_matrix.png",
        "worst_images.csv",
        "worst_images.png",
    } <= set(report["files"])
    rows = (folder / "per_class_iou.csv").read_text().splitlines()
    assert rows[0] == "class,iou,pixels,predicted_pixels" and len(rows) == 12
    assert len((folder / "worst_images.csv").read_text().splitlines()) == 5
    assert "mean IoU" in report["message"]


def test_loss_weights_that_leave_no_loss_are_a_task_error(run_train):
    """A user's mistake in a task option: one line (TaskError), not a traceback."""
    with pytest.raises(TaskError, match=r"task\.ce_weight and task\.dice_weight must be >= 0"):
        run_train("task=segmentation", "task.ce_weight=0", "task.dice_weight=0")


def test_mask_legend_names_exactly_the_classes_shown_and_void():
    from test_pictures import assert_titles_clear  # the layout check of every report figure

    names = ["background", "cat", "dog", "bird"]
    targets = torch.zeros(2, 6, 6, dtype=torch.long)
    targets[0, :2] = 1
    targets[1, 0, 0] = 255  # void
    preds = torch.zeros(2, 6, 6, dtype=torch.long)
    preds[1, 3:] = 3
    fig = segmentation.mask_figure(
        torch.rand(2, 3, 6, 6), targets, preds, names, 255, ["#0", "#1"], "worst images"
    )
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "background",
        "cat",
        "bird",
        "void (no label)",
    ]
    colours = [tuple(h.get_facecolor()) for h in legend.legend_handles]
    assert len(set(colours)) == 4  # one colour per class
    assert_titles_clear(fig)
