"""The split of data read from files is a stored fact: the checkpoint lists which file went to
which split, so files added or removed later never move a val/test item into training, and a
checkpoint is refused on data whose class names differ."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from {{ cookiecutter.package_name }}.analysis.predict import load_trained
from {{ cookiecutter.package_name }}.data.image_folder import ImageFolderDataModule
from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import facts_config, model_config
from {{ cookiecutter.package_name }}.tasks.classification import ClassificationTask
from {{ cookiecutter.package_name }}.training.checkpoints import CheckpointError
from {{ cookiecutter.package_name }}.training.errors import generated
from {{ cookiecutter.package_name }}.training.module import TaskModule

CLASSES = ("cat", "dog", "owl")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # image verdicts


def add_images(root: Path, name: str, count: int, start: int = 0) -> None:
    rng = np.random.default_rng(start + len(name))
    (root / name).mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / name / f"{i:03d}.png")


def folder(root: Path, classes=CLASSES, per_class: int = 10) -> Path:
    for name in classes:
        add_images(root, name, per_class)
    return root


def data_module(root: Path) -> ImageFolderDataModule:
    return ImageFolderDataModule(
        root=str(root),
        image_size=8,
        batch_size=4,
        num_workers=0,
        val_fraction=0.2,
        test_fraction=0.2,
    )


def split_files(datamodule) -> dict[str, set[str]]:
    keys = datamodule.loaded.item_keys
    return {split: {keys[i] for i in indices} for split, indices in datamodule.indices.items()}


def test_added_and_removed_files_move_no_item_between_splits(tmp_path):
    root = folder(tmp_path / "pets")
    before = data_module(root)
    before.setup()
    stored, state = split_files(before), before.state_dict()
    assert set(state["split_items"]) == {"train", "val", "test"}

    add_images(root, "cat", 3, start=100)  # new files: a fresh split would reshuffle
    removed = sorted(stored["val"])[0]
    (root / removed).unlink()
    fresh = data_module(root)
    fresh.setup()
    assert split_files(fresh) != stored  # without the stored split, items move

    after = data_module(root)
    after.load_state_dict(state)
    after.setup()
    now = split_files(after)
    assert now["train"] == stored["train"] and now["test"] == stored["test"]
    assert now["val"] == stored["val"] - {removed}
    changes = after.describe()["split_changes"]
    assert changes["appeared"] == 3 and changes["disappeared"] == 1
    assert changes["disappeared_examples"] == [removed]
    assert all(key.startswith("cat/1") for key in changes["appeared_examples"])


def test_eval_uses_the_checkpoints_split_and_refuses_other_classes(tmp_path, run_train):
    root = folder(tmp_path / "pets")
    trained = run_train(
        "data=image_folder",
        f"data.root={root}",
        "data.image_size=8",
        "data.num_workers=0",
        "data.batch_size=8",
        "model=linear",
        "trainer.max_epochs=1",
    )
    best = trained["best_checkpoint"]
    _, original = load_trained(best)
    stored = split_files(original)

    add_images(root, "dog", 4, start=200)
    _, datamodule = load_trained(best)
    assert split_files(datamodule) == stored
    assert datamodule.describe()["split_changes"]["appeared"] == 4

    other = folder(tmp_path / "two", classes=("cat", "dog"))
    with pytest.raises(CheckpointError, match=r"trained on 3 targets .* has 2 .* missing now: owl"):
        load_trained(best, data_overrides={"root": str(other)})

    if not generated("training.resume"):  # (resuming: the resume feature)
        return
    from {{ cookiecutter.package_name }}.training.resume import check_resumable

    # resuming with data whose classes differ: refused before any weight is loaded
    task = TaskModule.for_task(
        ClassificationTask,
        model_config("linear"),
        {"names": ["cat", "dog", "emu"]},
        facts_config(InputFacts("image", (3, 8, 8))),
        {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1},
        {
            "_target_": "{{ cookiecutter.package_name }}.training.optim.constant",
            "_partial_": True,
        },
    )
    last = Path(trained["output_dir"]) / "checkpoints" / "last.ckpt"
    with pytest.raises(CheckpointError, match="missing now: owl; new: emu"):
        check_resumable(last, module=task)
