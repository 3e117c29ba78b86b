{%- set merged = cookiecutter.__tasks.split(",") | select("in", ["multilabel", "regression", "segmentation"]) | list -%}
"""Data sets (sources): each says what its items and targets are; ``base.DataModule`` the rest."""

from .base import DataModule, LoadedData

__all__ = ["DataModule", "LoadedData", "upgrade_config"]
{%- if merged %}

# classes since merged into one source, as older checkpoints' data configs name them (module.class
# under this package -> the source now, and the target kind that selects them)
MERGED = {
    "digits_multilabel.DigitsMultiLabelDataModule": ("digits.DigitsDataModule", "multilabel"),
    "digits_regression.DigitsRegressionDataModule": ("digits.DigitsDataModule", "continuous"),
    "digits_segmentation.DigitsSegmentationDataModule": ("digits.DigitsDataModule", "mask"),
}


def upgrade_config(config: dict) -> dict:
    """A checkpoint's data config naming the source as it is now called; others as they are."""
    prefix, target = f"{__name__}.", str(config.get("_target_", ""))
    merged = MERGED.get(target.removeprefix(prefix)) if target.startswith(prefix) else None
    if merged is None:
        return config
    return {**config, "_target_": prefix + merged[0], "target_kind": merged[1]}
{%- else %}


def upgrade_config(config: dict) -> dict:
    """A checkpoint's data config as this version names its source: no source was renamed."""
    return config
{%- endif %}
