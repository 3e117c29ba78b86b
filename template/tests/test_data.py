"""The data module owns the split, the fraction subset and the overfit batch: check each."""

import numpy as np
import pytest
import torch

from {{ cookiecutter.package_name }}.data.digits import DigitsDataModule


def digits(**kwargs) -> DigitsDataModule:
    datamodule = DigitsDataModule(**kwargs)
    datamodule.setup()
    return datamodule


def class_share(datamodule, indices) -> np.ndarray:
    labels = datamodule.loaded.targets[torch.as_tensor(indices)]
    return np.bincount(labels.numpy(), minlength=10) / len(indices)


def test_split_is_disjoint_complete_stratified_and_seeded():
    dm = digits()
    train, val, test = (set(dm.indices[s]) for s in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)
    assert len(train | val | test) == 1797
    assert abs(len(val) - 0.15 * 1797) <= 1 and abs(len(test) - 0.15 * 1797) <= 1
    overall = class_share(dm, list(range(1797)))
    for split in ("train", "val", "test"):
        assert np.abs(class_share(dm, dm.indices[split]) - overall).max() < 0.02
    assert digits().indices == dm.indices  # same split_seed, same split
    assert digits(split_seed=1).indices["val"] != dm.indices["val"]


def test_fraction_is_a_fixed_stratified_subset_of_train_only():
    full, part = digits(), digits(fraction=0.1)
    assert set(part.indices["train"]) < set(full.indices["train"])
    assert abs(len(part.indices["train"]) - 0.1 * len(full.indices["train"])) <= 1
    assert part.indices["val"] == full.indices["val"]
    assert part.indices["test"] == full.indices["test"]
    assert (
        np.abs(
            class_share(part, part.indices["train"]) - class_share(full, full.indices["train"])
        ).max()
        < 0.03
    )
    assert digits(fraction=0.1).indices["train"] == part.indices["train"]  # fixed, not per epoch
    assert part.sizes()["train"] == len(part.indices["train"])


def test_overfit_serves_the_same_batch_every_step_without_augmentation():
    dm = digits(overfit_batches=1, batch_size=32, augment=True)
    batches = list(dm.train_dataloader())
    assert len(batches) == dm.hparams.overfit_repeats
    first_x, first_y = batches[0]
    assert first_x.shape == (32, 1, 8, 8)
    for x, y in batches:
        assert torch.equal(x, first_x) and torch.equal(y, first_y)
    assert dm.sizes()["train"] == 32
    assert set(dm._overfit_indices()) <= set(dm.indices["train"])


def test_tensor_batches_cover_the_split_once_per_epoch():
    dm = digits(batch_size=100)
    seen = torch.cat([y for _, y in dm.val_dataloader()])
    assert len(seen) == len(dm.indices["val"])
    assert torch.equal(seen, dm.loaded.targets[torch.as_tensor(dm.indices["val"])])
    shuffled = torch.cat([y for _, y in dm.train_dataloader()])
    assert sorted(shuffled.tolist()) == sorted(
        dm.loaded.targets[torch.as_tensor(dm.indices["train"])].tolist()
    )


@pytest.mark.task("classification")  # the run trains the digits' classes
def test_a_lone_last_training_item_waits_for_the_next_epoch(run_train):
    """A training batch of one item stops BatchNorm; evaluation still sees every item."""
    train_size = digits().sizes()["train"]
    lone = next(b for b in range(100, 2, -1) if train_size % b == 1)
    dm = digits(batch_size=lone)
    sizes = [len(y) for _, y in dm.train_dataloader()]
    assert min(sizes) == lone and sum(sizes) == train_size - 1
    assert sum(len(y) for _, y in dm.eval_dataloaders(["train"])[0]) == train_size
    summary = run_train(
        "task=classification", f"data.batch_size={lone}", "model=mlp", "trainer.max_epochs=1"
    )
    assert summary["status"] == "completed", summary.get("message")


def test_inputs_are_standardized_on_the_training_split():
    dm = digits()
    train = dm.loaded.inputs[torch.as_tensor(dm.indices["train"])]
    assert abs(float(train.mean())) < 1e-4 and abs(float(train.std()) - 1) < 1e-3


def test_every_mode_sees_the_same_inputs_whatever_the_fraction():
    # the statistics come from the full training split, not from the fraction's subset
    assert torch.equal(digits(fraction=0.1).loaded.inputs, digits().loaded.inputs)


def test_bad_values_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match=r"data\.fraction"):
        DigitsDataModule(fraction=0.0)
    with pytest.raises(ValueError, match="val_fraction"):
        DigitsDataModule(val_fraction=0.6, test_fraction=0.5)


def test_image_folder(tmp_path):
    from PIL import Image

    from {{ cookiecutter.package_name }}.data import image_folder

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(10):
            pixels = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    dm = image_folder.ImageFolderDataModule(
        root=str(tmp_path),
        image_size=8,
        batch_size=4,
        num_workers=0,
        val_fraction=0.2,
        test_fraction=0.2,
    )
    dm.setup()
    assert dm.class_names == ["cat", "dog"] and dm.input_shape == [3, 8, 8]
    assert sum(dm.sizes().values()) == 20
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 8, 8) and y.dtype == torch.long
    with pytest.raises(FileNotFoundError, match="one sub-folder per class"):
        image_folder.ImageFolderDataModule(root=str(tmp_path / "missing")).setup()


def test_image_folder_follows_the_backbone_unless_told(tmp_path):
    """Input size and statistics left at null come from the model's pretrained config."""
    from PIL import Image

    from {{ cookiecutter.package_name }}.data import image_folder

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    grey = np.full((20, 20, 3), 128, dtype=np.uint8)  # 128/255 in every channel
    for name in ("a", "b"):
        for i in range(6):
            Image.fromarray(grey).save(tmp_path / name / f"{i}.png")

    def first_pixel(dm) -> torch.Tensor:
        x, _ = next(iter(dm.val_dataloader()))
        return x[0, :, 0, 0]

    # what a pretrained backbone's data_config says (models/registry.py: model_data_config)
    config = {
        "input_size": 16,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.25, 0.25, 0.25],
    }
    assert config["input_size"] == 16
    cls = image_folder.ImageFolderDataModule
    plain = cls(root=str(tmp_path), batch_size=4, num_workers=0)
    plain.setup()
    assert plain.input_shape == [3, 20, 20]  # no model preference: the images' own size
    settings = {"root": str(tmp_path), "batch_size": 4, "num_workers": 0}
    dm = cls(**settings, **cls.settings_from_model(settings, config))  # known before building
    dm.setup()
    assert dm.hparams.image_size == 16 and dm.input_shape == [3, 16, 16]
    expected = (128 / 255 - 0.5) / 0.25
    assert torch.allclose(first_pixel(dm), torch.full((3,), expected), atol=1e-4)
    assert dm.config()["mean"] == [0.5, 0.5, 0.5]  # what checkpoints store

    settings = {**settings, "image_size": 8, "mean": [0.0] * 3, "std": [1.0] * 3}
    told = cls(**settings, **cls.settings_from_model(settings, config))  # explicit values win
    told.setup()
    assert told.input_shape == [3, 8, 8]
    assert torch.allclose(first_pixel(told), torch.full((3,), 128 / 255), atol=1e-4)


def test_image_folder_measures_train_without_augmentation_and_keeps_fixed_batches(tmp_path):
    from PIL import Image

    from {{ cookiecutter.package_name }}.data import augment as aug
    from {{ cookiecutter.package_name }}.data import image_folder

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(
                tmp_path / name / f"{i}.png"
            )
    dm = image_folder.ImageFolderDataModule(
        root=str(tmp_path),
        image_size=8,
        batch_size=4,
        num_workers=0,
        augment=aug.policy("light"),
        val_fraction=0.2,
        test_fraction=0.2,
    )
    dm.setup()
    first, again = (next(iter(dm.eval_dataloaders(["train"])[0])) for _ in range(2))
    assert torch.equal(first[0], again[0])  # eval loaders never augment, the train split too
    augmented = [next(iter(dm.train_dataloader()))[0] for _ in range(2)]
    assert augmented[0].shape == first[0].shape  # (and the training loader does augment)

    fixed = image_folder.ImageFolderDataModule(
        root=str(tmp_path), image_size=8, batch_size=64, num_workers=0, overfit_batches=1
    )
    fixed.setup()
    batches = fixed.overfit_batches()
    train_size = len(fixed.indices["train"])  # fewer than one batch of 64
    assert len(batches) == 1 and len(batches[0][1]) == fixed.sizes()["train"] == train_size
    assert all(len(y) == train_size for _, y in fixed.train_dataloader())  # not re-chunked


# (the transfer demo pretrains on digits 0-4 and fine-tunes on 5-9)
def test_classes_keeps_and_relabels_a_subset_of_the_labels():
    data = DigitsDataModule(classes=[7, 5])
    data.setup()
    assert data.class_names == ["7", "5"] and len(data.class_names) == 2
    assert set(data.loaded.targets.tolist()) == {0, 1}
    everything = DigitsDataModule()
    everything.setup()
    sevens = (everything.loaded.targets == 7).sum()
    assert (data.loaded.targets == 0).sum() == sevens
    with pytest.raises(ValueError, match=r"data\.classes"):
        DigitsDataModule(classes=[10]).setup()


def test_a_split_too_small_for_every_class_says_so():
    dm = DigitsDataModule(classes=[0, 1], val_fraction=0.001, test_fraction=0.001)
    with pytest.raises(ValueError, match="every class in each split"):
        dm.setup()


# ---- the input kind: one object per data module, built from the data config's `input:` -----
def test_the_image_statistics_learnt_on_train_travel_in_the_state_and_are_not_learnt_again():
    learnt = digits()
    state = learnt.state_dict()["input"]
    train = learnt.loaded.inputs[torch.as_tensor(learnt.indices["train"])]
    assert abs(float(train.mean())) < 1e-4  # standardized with what it learnt
    shifted = {"mean": state["mean"] + 1.0, "std": state["std"]}
    restored = DigitsDataModule()
    restored.load_state_dict({"input": shifted})  # as eval and predict do, before setup
    restored.setup()
    assert torch.allclose(restored.loaded.inputs, learnt.loaded.inputs - 1.0 / state["std"])


def test_a_size_measured_on_the_images_is_kept_by_the_input_not_written_into_the_settings(
    tmp_path, monkeypatch
):
    from PIL import Image

    from {{ cookiecutter.package_name }}.data import image_folder

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.new("RGB", (14, 10)).save(tmp_path / name / f"{i}.png")
    settings = {"root": str(tmp_path), "batch_size": 4, "num_workers": 0}
    measured = image_folder.ImageFolderDataModule(**settings)
    measured.setup()
    assert measured.input_shape == [3, 10, 10] and measured.hparams.image_size is None
    assert measured.state_dict()["input"]["image_size"] == 10  # (in the checkpoint)

    def never(paths):
        raise AssertionError("measured again")

    monkeypatch.setattr(image_folder, "size_from_files", never)
    rebuilt = image_folder.ImageFolderDataModule(**settings)
    rebuilt.load_state_dict(measured.state_dict())
    rebuilt.setup()
    assert rebuilt.input_shape == [3, 10, 10]
    assert rebuilt.describe()["image_size_from"] == measured.describe()["image_size_from"]


def test_each_digits_config_pairs_the_source_with_an_image_input_whose_options_it_sets(tmp_path):
    from hydra.utils import instantiate

    from conftest import CONFIGS, compose_config

    expected = {  # data config -> (name, what augmentation may do to the images)
        "digits": ("digits", {"hflip_ok": False}),
        "digits_multilabel": ("digits_multilabel", {"hflip_ok": False}),
        "digits_regression": ("digits_regression", {"geometric_ok": False}),
        "digits_segmentation": ("digits_segmentation", {"masks": True, "ignore_index": 255}),
    }
    present = {config for config in expected if (CONFIGS / "data" / f"{config}.yaml").exists()}
    assert present  # the image tasks' digits
    for config in present:
        name, options = expected[config]
        cfg = compose_config("train", [f"data={config}"], tmp_path)
        datamodule = instantiate(cfg.data, _convert_="all")  # hydra builds the input first
        assert type(datamodule).__name__ == "DigitsDataModule" and datamodule.name == name
        stored = datamodule.config()["input"]  # plain values, for the checkpoint
        assert stored["_target_"].endswith("inputs.image.ImageInput")
        assert {k: stored[k] for k in options} == options
        assert {k: getattr(datamodule.input, k) for k in options} == options


def shifting(target_kind: str) -> DigitsDataModule:
    """Digits of ``target_kind`` set up with a shifting augmentation, in training."""
    from types import SimpleNamespace

    from {{ cookiecutter.package_name }}.data import augment as aug

    datamodule = DigitsDataModule(
        target_kind=target_kind, augment=aug.policy({"name": "shift", "shift": 0.25})
    )
    datamodule.setup()
    datamodule.trainer = SimpleNamespace(training=True)
    return datamodule


@pytest.mark.task("regression")
def test_regression_digits_keep_their_geometry():
    angles = shifting("continuous")
    x, y = next(iter(angles.train_dataloader()))
    assert torch.equal(angles.on_after_batch_transfer((x, y), 0)[0], x)  # no shift: true angles


@pytest.mark.task("segmentation")
def test_masks_move_with_their_images():
    masks = shifting("mask")
    torch.manual_seed(0)
    x, y = next(iter(masks.train_dataloader()))
    moved, moved_masks = masks.on_after_batch_transfer((x, y), 0)
    assert not torch.equal(moved_masks, y)  # the masks moved too
    ink = (moved_masks > 0) & (moved_masks != 255)
    assert moved[:, 0][ink].mean() > moved[:, 0][~ink & (moved_masks != 255)].mean() + 0.3


@pytest.mark.task("multilabel")  # an older multi-label digits checkpoint
def test_a_data_config_of_an_older_checkpoint_names_the_merged_source():
    from {{ cookiecutter.package_name }}.data import upgrade_config

    package = DigitsDataModule.__module__.rsplit(".", 2)[0]
    old = {
        "_target_": f"{package}.data.digits_multilabel.DigitsMultiLabelDataModule",
        "batch_size": 64,
    }
    new = upgrade_config(old)
    assert new["_target_"] == f"{package}.data.digits.DigitsDataModule"
    datamodule = DigitsDataModule(**{k: v for k, v in new.items() if k != "_target_"})
    assert datamodule.name == "digits_multilabel" and datamodule.target_kind == "multilabel"
    current = DigitsDataModule().config()
    assert upgrade_config(current) == current


def test_an_input_option_or_kind_that_does_not_exist_is_one_line():
    from {{ cookiecutter.package_name }}.inputs.base import build_input
    from {{ cookiecutter.package_name }}.training.validate import ConfigError

    package = DigitsDataModule.__module__.rsplit(".", 2)[0]
    with pytest.raises(ConfigError, match="ImageInput has no option flip; it takes hflip_ok"):
        DigitsDataModule(input={"_target_": f"{package}.inputs.image.ImageInput", "flip": True})
    with pytest.raises(ConfigError, match=r"data\.input\._target_=.*Nowhere: no such class"):
        build_input({"_target_": f"{package}.inputs.Nowhere"})
    with pytest.raises(ConfigError, match="not an input kind"):
        build_input({"_target_": f"{package}.data.digits.DigitsDataModule"})
