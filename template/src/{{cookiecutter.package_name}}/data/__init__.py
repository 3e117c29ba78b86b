"""Data sets (sources). ``base.DataModule`` owns splitting, the fraction subset and the overfit
batch; a concrete source only says what its items and targets are (and which kind of targets);
what one item is belongs to its input (``inputs/``)."""

from .base import DataModule, LoadedData

__all__ = ["DataModule", "LoadedData", "upgrade_config"]

# data classes merged into one source since: the data config an older checkpoint stores names
# them (module.class under this package -> the source now, and the settings that select them)
MERGED = {
    "digits_multilabel.DigitsMultiLabelDataModule": ("digits.DigitsDataModule", "multilabel"),
    "digits_regression.DigitsRegressionDataModule": ("digits.DigitsDataModule", "continuous"),
    "digits_segmentation.DigitsSegmentationDataModule": ("digits.DigitsDataModule", "mask"),
}


def upgrade_config(config: dict) -> dict:
    """A data config as stored in a checkpoint, naming the source as it is now called (the same
    items, split and targets); other configs are returned as they are."""
    prefix = f"{__name__}."
    target = str(config.get("_target_", ""))
    merged = MERGED.get(target.removeprefix(prefix)) if target.startswith(prefix) else None
    if merged is None:
        return config
    source, target_kind = merged
    return {**config, "_target_": prefix + source, "target_kind": target_kind}
