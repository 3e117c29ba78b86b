"""Segmentation data in fastai's CamVid layout, from real PNG files: bad pairs are listed by file
name before training and left out, the void code is ignored, valid.txt is the val split."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from {{ cookiecutter.package_name }}.data.mask_folder import MaskFolderDataModule

CODES = ["Background", "Square", "Disc", "Void"]  # code 3 = void


def camvid_folder(root: Path, count: int = 14) -> Path:
    """Images with a bright square (code 1) or disc (code 2) on noise; masks as 8-bit PNGs with a
    void border; plus three bad pairs."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    yy, xx = np.mgrid[:24, :24]
    for i in range(count):
        top, left = rng.integers(2, 12, size=2)
        if i % 2:
            shape = (yy - top - 5) ** 2 + (xx - left - 5) ** 2 <= 25
        else:
            shape = (yy >= top) & (yy < top + 10) & (xx >= left) & (xx < left + 10)
        pixels = rng.integers(0, 80, (24, 24, 3), dtype=np.uint8)
        pixels[shape] = [230, 200 if i % 2 else 40, 40]
        mask = np.where(shape, 2 if i % 2 else 1, 0).astype(np.uint8)
        mask[0, :] = 3  # void
        Image.fromarray(pixels).save(root / "images" / f"img{i:02d}.png")
        Image.fromarray(mask, mode="L").save(root / "labels" / f"img{i:02d}_P.png")
    bad_values = np.asarray(Image.open(root / "labels" / "img00_P.png")).copy()
    bad_values[5, 5] = 9  # not a code
    Image.fromarray(bad_values, mode="L").save(root / "labels" / "img00_P.png")
    (root / "labels" / "img01_P.png").unlink()  # an image without a mask
    Image.new("L", (20, 24)).save(root / "labels" / "img02_P.png")  # another size
    (root / "codes.txt").write_text("\n".join(CODES) + "\n")
    (root / "valid.txt").write_text("img03.png\nimg04.png\nimg05.png\n")
    return root


def test_bad_pairs_are_listed_void_is_ignored_and_valid_txt_is_the_val_split(tmp_path, caplog):
    root = camvid_folder(tmp_path / "camvid")
    datamodule = MaskFolderDataModule(root=str(root), image_size=16, batch_size=4)
    datamodule.setup()
    skipped = "\n".join(datamodule.skipped_files)
    assert len(datamodule.skipped_files) == 3
    assert "img00.png: mask values 9 are not codes of codes.txt (0..3)" in skipped
    assert "img01.png: no mask (labels/img01_P.png not found)" in skipped
    assert "img02.png: mask img02_P.png is 20x24, the image 24x24" in skipped
    assert "skipped 3 of 14" in caplog.text
    assert datamodule.target_names == ["Background", "Square", "Disc"]
    masks = datamodule.loaded.targets
    assert masks.shape[1:] == (16, 16) and set(masks.unique().tolist()) == {0, 1, 2, 255}
    keys = datamodule.loaded.item_keys
    assert sorted(keys[i] for i in datamodule.indices["val"]) == [
        "img03.png",
        "img04.png",
        "img05.png",
    ]
    assert datamodule.describe()["skipped_files"] == 3

    with pytest.raises(ValueError, match="3 of 14 image/mask pairs are unusable"):
        MaskFolderDataModule(root=str(root), image_size=16, on_bad="fail").setup()


def test_a_camvid_folder_trains_and_reports_what_it_skipped(tmp_path, run_train):
    root = camvid_folder(tmp_path / "camvid")
    summary = run_train(
        "task=segmentation",
        "data=mask_folder",
        f"data.root={root}",
        "data.image_size=16",
        "trainer.max_epochs=2",
    )
    assert summary["status"] == "completed", summary["message"]
    assert summary["data"]["skipped_files"] == 3 and summary["data"]["sizes"]["val"] == 3
    assert summary["data"]["sizes"]["test"] == 0  # valid.txt given: no test split unless asked
    assert 0.0 <= summary["metrics"]["val"]["miou"] <= 1.0


@pytest.mark.feature("clean")
def test_review_rows_name_image_and_mask_and_delete_quarantines_both(tmp_path):
    """clean.py on segmentation data: each row names its image and its mask; ``delete`` moves
    both (an image without its mask would be skipped anyway), undo brings both back."""
    import csv

    from torch import nn

    from {{ cookiecutter.package_name }}.analysis import clean_data
    from {{ cookiecutter.package_name }}.inputs.base import InputFacts
    from {{ cookiecutter.package_name }}.models import facts_config, model_config
    from {{ cookiecutter.package_name }}.tasks.segmentation import SegmentationTask
    from {{ cookiecutter.package_name }}.training.module import TaskModule

    root = camvid_folder(tmp_path / "camvid")
    datamodule = MaskFolderDataModule(root=str(root), image_size=16, batch_size=4)
    datamodule.setup()
    keys = datamodule.loaded.item_keys
    assert datamodule.paths == [str(root / "images" / key) for key in keys]
    task = TaskModule.for_task(
        SegmentationTask,
        model_config("unet_small"),
        {"names": datamodule.class_names},
        facts_config(InputFacts("image", (3, 16, 16))),
        {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1},
        {
            "_target_": "{{ cookiecutter.package_name }}.training.optim.constant",
            "_partial_": True,
        },
    )
    task.model = nn.Conv2d(3, len(datamodule.class_names), 1)
    rows = clean_data.find_suspicious(task, datamodule, top_k=2)
    assert rows and all(Path(row["path"]).is_file() and Path(row["mask"]).is_file() for row in rows)
    path = clean_data.write_review(rows, tmp_path / "review", datamodule, "model.ckpt")
    with path.open(newline="") as file:
        edited = list(csv.DictReader(file))
    edited[0]["action"] = "delete"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, list(edited[0]))
        writer.writeheader()
        writer.writerows(edited)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    report = clean_data.apply_decisions(path)
    assert report["moved"] == 2 and report["delete"] == 1
    image, mask = Path(edited[0]["path"]), Path(edited[0]["mask"])
    assert not image.exists() and not mask.exists()
    quarantined = sorted(p.name for p in Path(report["quarantine"]).rglob("*.png"))
    assert quarantined == sorted([image.name, mask.name])

    assert clean_data.undo_applied(path)["restored"] == 2
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
