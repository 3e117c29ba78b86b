"""Bad image files: verified before training, skipped and listed, verdicts cached; an empty
class folder is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.data import image_folder


def make_folder(root: Path, per_class: int = 6) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
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
