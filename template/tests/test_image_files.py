"""Bad image files: verified before training, skipped and listed, verdicts cached; an empty
class folder is named; the input size follows the images unless a pretrained model needs its own."""

from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.data import image_folder


def make_folder(root: Path, per_class: int = 6, shape=(12, 16)) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 255, (*shape, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{'jpg' if i % 2 else 'png'}")


def data_module(root: Path) -> image_folder.ImageFolderDataModule:
    return image_folder.ImageFolderDataModule(
        root=str(root),
        image_size=8,
        batch_size=4,
        num_workers=0,
        val_fraction=0.25,
        test_fraction=0.25,
    )


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_unreadable_files_are_skipped_listed_and_training_data_is_whole(tmp_path, caplog):
    root = tmp_path / "pets"
    make_folder(root)
    bad = {
        root / "cat" / "random.jpg": bytes(range(256)) * 4,  # not an image at all
        root / "dog" / "empty.jpg": b"",
        root / "dog" / "cut.jpg": (root / "dog" / "1.jpg").read_bytes()[:150],
    }
    for path, data in bad.items():
        path.write_bytes(data)
    dm = data_module(root)
    dm.setup()
    assert sorted(dm.skipped_files) == sorted(str(p) for p in bad)
    assert sum(dm.sizes().values()) == 12
    assert not set(dm.skipped_files) & set(dm.paths)
    assert "3 unreadable image file(s) skipped" in caplog.text
    for loader in (dm.train_dataloader(), *dm.eval_dataloaders(["train", "val", "test"])):
        assert sum(len(y) for _, y in loader) > 0  # every batch decodes: no worker crash


def test_verdicts_are_cached_and_a_changed_file_is_checked_again(tmp_path, monkeypatch):
    root = tmp_path / "pets"
    make_folder(root)
    (root / "cat" / "bad.jpg").write_bytes(b"junk")
    paths = sorted(str(p) for p in root.rglob("*.*"))
    first = image_folder.verify_images(paths)
    checked = []
    real = image_folder.is_readable_image
    monkeypatch.setattr(
        image_folder, "is_readable_image", lambda path: checked.append(path) or real(path)
    )
    assert image_folder.verify_images(paths) == first and checked == []  # all from the cache
    (root / "cat" / "bad.jpg").write_bytes((root / "cat" / "1.jpg").read_bytes())  # repaired
    again = image_folder.verify_images(paths)
    assert checked == [str(root / "cat" / "bad.jpg")] and all(again.values())


def test_a_read_only_cache_location_only_costs_time(tmp_path, monkeypatch):
    root = tmp_path / "pets"
    make_folder(root)
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # cannot hold a folder
    paths = [str(p) for p in root.rglob("*.*")]
    assert all(image_folder.verify_images(paths).values())


def test_an_empty_class_folder_says_to_remove_it_or_add_images(tmp_path):
    root = tmp_path / "pets"
    make_folder(root)
    (root / "bird").mkdir()
    with pytest.raises(FileNotFoundError, match=rf"{root / 'bird'}\. Remove the folder"):
        data_module(root).setup()
    (root / "bird").rmdir()
    (root / "fish").mkdir()
    (root / "fish" / "broken.jpg").write_bytes(b"\xff\xd8 not really")  # nothing readable
    with pytest.raises(FileNotFoundError, match=r"without readable images: .*fish"):
        data_module(root).setup()


def test_a_folder_of_images_without_class_folders_says_how_to_lay_them_out(tmp_path):
    root = tmp_path / "pets"
    make_folder(root)
    for image in [*root.glob("*/*")]:  # every image in the folder itself, no class folders
        image.rename(root / f"{image.parent.name}-{image.name}")
    for folder in ("cat", "dog"):
        (root / folder).rmdir()
    with pytest.raises(FileNotFoundError, match=r"no class sub-folders \(12 image\(s\)") as error:
        data_module(root).setup()
    assert f"{root}/cat/1" in str(error.value)


@pytest.mark.task("classification")  # class folders
def test_small_images_train_at_their_own_size(tmp_path, run_train):
    make_folder(tmp_path / "faces", per_class=10, shape=(25, 25))
    faces = f"data.root={tmp_path / 'faces'}"
    summary = run_train("task=classification", "data=image_folder", faces, "mode=smoke")
    assert summary["status"] == "completed"
    data = summary["data"]
    assert data["input"]["shape"] == [3, 25, 25] and data["image_size"] == 25  # not 224
    assert data["image_size_from"].startswith("the images' median shorter side, 25 px")
    assert "images at 25x25 px" in data["notes"][0]


def test_the_size_a_pretrained_model_or_the_user_asks_for_wins(tmp_path):
    from {{ cookiecutter.package_name }}.inputs.image import IMAGENET
    from {{ cookiecutter.package_name }}.models import model_config, model_data_config

    make_folder(tmp_path / "faces", shape=(25, 25))
    cls = image_folder.ImageFolderDataModule
    settings = {"root": str(tmp_path / "faces"), "batch_size": 4, "num_workers": 0}
    # what a pretrained backbone's data_config says (models/registry.py: model_data_config)
    pretrained = {**IMAGENET, "input_size": 16}
    for extra, config, size, why in [
        ({}, pretrained, 16, "the model's pretrained input size"),
        ({"image_size": 12}, pretrained, 12, "data.image_size"),
        ({}, model_data_config(model_config("cnn")), 25, "the images' median shorter side"),
    ]:
        given = {**settings, **extra}
        datamodule = cls(**given, **cls.settings_from_model(given, config))
        datamodule.setup()
        assert datamodule.input_shape == [3, size, size]
        assert datamodule.describe()["image_size_from"].startswith(why)
        rebuilt = cls(**{k: v for k, v in datamodule.config().items() if k != "_target_"})
        assert rebuilt.hparams.image_size_from == datamodule.hparams.image_size_from  # kept


def test_large_photos_are_capped_at_the_pretrained_default(tmp_path):
    from PIL import Image

    paths = []
    for i, size in enumerate([(300, 260), (400, 280), (500, 250)]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", size).save(paths[-1])
    size, why = image_folder.size_from_files(paths)
    assert size == 224 and why.endswith("260 px over 3 files, capped at 224")
