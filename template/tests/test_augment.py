"""Augmentation: a config group, task-aware, provably off where a fixed batch must stay fixed."""

from types import SimpleNamespace

import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from {{ cookiecutter.package_name }}.data import augment as aug
from {{ cookiecutter.package_name }}.data.image_folder import ImageFolderDataModule

from conftest import compose_config
from pngcheck import assert_png

# the digits of image classification, whatever the project's default task (regression's rotated
# digits, for one, allow no geometric move); configs/data/digits.yaml comes with these tasks
DIGITS = "data=digits"
WITH_DIGITS = pytest.mark.task("classification", "multilabel", "regression")


def training_batches(datamodule, count=3):
    """Batches as ``training_step`` receives them (after the transfer hook, trainer training)."""
    datamodule.setup()
    datamodule.trainer = SimpleNamespace(training=True)
    loader = iter(datamodule.train_dataloader())
    return [datamodule.on_after_batch_transfer(next(loader), 0) for _ in range(count)]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("overfit", "none"), ("fraction", "none"), ("full", "light"), ("smoke", "light")],
)
def test_modes_choose_the_augmentation(mode, expected, tmp_path):
    assert compose_config("train", [f"mode={mode}"], tmp_path).data.augment.name == expected


@WITH_DIGITS
def test_augmentation_is_provably_off_in_overfit(tmp_path):
    cfg = compose_config("train", [DIGITS, "mode=overfit"], tmp_path)
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup()
    first, *rest = training_batches(datamodule)
    raw = datamodule.loaded.inputs[torch.as_tensor(datamodule._overfit_indices())]
    assert torch.equal(first[0], raw)  # exactly the stored images
    assert all(torch.equal(x, first[0]) and torch.equal(y, first[1]) for x, y in rest)
    # the same overfit batch with the default (light) policy does change: the check can fail
    light = compose_config("train", [DIGITS, "mode=overfit", "augment=light"], tmp_path)
    changed = instantiate(light.data, _convert_="all")
    assert not torch.equal(training_batches(changed, 1)[0][0], raw)


@WITH_DIGITS
@pytest.mark.parametrize("name", ["light", "strong"])
def test_tensor_policies_change_training_batches_only(name, tmp_path):
    cfg = compose_config("train", [DIGITS, f"augment={name}"], tmp_path)
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup()
    torch.manual_seed(0)
    x, y = next(iter(datamodule.train_dataloader()))
    datamodule.trainer = SimpleNamespace(training=True)
    ax, ay = datamodule.on_after_batch_transfer((x, y), 0)
    assert ax.shape == x.shape and torch.equal(ay, y) and torch.isfinite(ax).all()
    assert (ax != x).any(dim=(1, 2, 3)).float().mean() > 0.5  # most images moved
    datamodule.trainer = SimpleNamespace(training=False)  # validation/test: untouched
    assert torch.equal(datamodule.on_after_batch_transfer((x, y), 0)[0], x)


def test_digits_are_never_mirrored():
    images = torch.randn(16, 1, 8, 8)
    flip_only = aug.policy({"name": "flip", "flip": True})
    assert torch.equal(aug.batch_augment(images, flip_only, flip_ok=False), images)
    torch.manual_seed(0)
    flipped = aug.batch_augment(images, flip_only, flip_ok=True)
    assert any(
        torch.equal(f, i.flip(-1)) and not torch.equal(f, i)
        for f, i in zip(flipped, images, strict=True)
    )


def test_unknown_policy_keys_are_rejected():
    with pytest.raises(ValueError, match="unknown augmentation option"):
        aug.policy({"name": "light", "shfit": 0.1})
    assert aug.policy(True)["name"] == "light" and aug.policy(False)["name"] == "none"


def test_image_folders_get_torchvision_transforms(tmp_path):
    for c, colour in enumerate(["red", "blue"]):
        (tmp_path / f"class{c}").mkdir()
        for i in range(4):
            Image.new("RGB", (20, 12), colour).save(tmp_path / f"class{c}" / f"{i}.png")
    light = ImageFolderDataModule(
        root=str(tmp_path),
        image_size=16,
        augment=aug.policy("light"),
        val_fraction=0.25,
        test_fraction=0.25,
    )
    steps = [type(t).__name__ for t in light.item_transform(train=True).transforms]
    assert "RandomResizedCrop" in steps and "RandomHorizontalFlip" in steps
    plain = [type(t).__name__ for t in light.item_transform(train=False).transforms]
    assert "RandomResizedCrop" not in plain and "CenterCrop" in plain
    strong = ImageFolderDataModule(
        root=str(tmp_path),
        image_size=16,
        augment={
            "name": "strong",
            "rotate": 10.0,
            "color": 0.3,
            "erase": 0.5,
            "crop_scale": [0.3, 1.0],
        },
        val_fraction=0.25,
        test_fraction=0.25,
    )
    steps = [type(t).__name__ for t in strong.item_transform(train=True).transforms]
    assert {"ColorJitter", "RandomRotation", "RandomErasing"} <= set(steps)
    strong.setup()
    x, _ = next(iter(strong.train_dataloader()))
    assert x.shape[1:] == (3, 16, 16)


def test_show_batch_saves_a_grid_of_augmented_images(run_train):
    summary = run_train("mode=smoke", "show_batch=true", "augment=strong")
    width, height = assert_png(summary["plots"]["augmented_batch"])
    assert width > height  # 8 columns x 4 rows of images


@pytest.mark.task("collab")
def test_show_batch_says_so_when_the_inputs_are_not_images(run_train):
    summary = run_train("task=collab", "mode=smoke", "show_batch=true")
    assert summary["status"] == "completed"
    assert "not drawn as pictures, nothing to show" in summary["plots"]["message"]
