"""Every option of every config group composes (and every model builds and runs)."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from conftest import CONFIGS, compose_config

GROUPS = sorted(p.name for p in CONFIGS.iterdir() if p.is_dir())
OPTIONS = [(group, f.stem) for group in GROUPS for f in sorted((CONFIGS / group).glob("*.yaml"))]


def test_every_group_has_options():
    assert {"mode", "data", "model", "optimizer", "scheduler", "trainer", "logger", "callbacks",
            "experiment", "augment"} <= set(GROUPS)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes(group, option, tmp_path):
    cfg = compose_config("train", [f"{group}={option}"], tmp_path)
    plain = OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    assert plain["paths"]["output_dir"] == str(tmp_path)
    if group in ("mode", "model", "data"):
        assert cfg[group]["name" if group != "data" else "_target_"]


@pytest.mark.parametrize("mode", ["overfit", "fraction", "full", "smoke"])
def test_modes_are_configuration(mode, tmp_path):
    cfg = compose_config("train", [f"mode={mode}"], tmp_path)
    assert cfg.mode.name == mode
    regularized = mode in ("full", "smoke")
    assert cfg.regularize == regularized  # one switch: dropout, weight decay, label smoothing
    assert (cfg.data.augment.name != "none") == regularized
    assert (cfg.data.overfit_batches > 0) == (mode == "overfit")
    assert (cfg.data.fraction < 1.0) == (mode == "fraction")


def test_eval_config_composes(tmp_path):
    cfg = compose_config("eval", ["ckpt_path=some.ckpt"], tmp_path)
    assert cfg.ckpt_path == "some.ckpt" and list(cfg.splits) == ["train", "val", "test"]


@pytest.mark.parametrize("option", sorted(f.stem for f in (CONFIGS / "model").glob("*.yaml")))
def test_every_model_config_builds_and_runs(option, tmp_path):
    from {{ cookiecutter.package_name }}.models import create_model, model_head

    cfg = OmegaConf.to_container(compose_config("train", [f"model={option}"], tmp_path).model)
    try:
        model = create_model(num_outputs=10, inputs={"shape": [1, 8, 8]}, **cfg)
    except ValueError as error:  # made for other inputs (ratings, tables): tested with its data
        if "does not provide" not in str(error):
            raise
        pytest.skip(f"model={option} needs other inputs than images")
    # pooled: one output vector per item; dense: one per pixel (segmentation)
    expected = (4, 10) if model_head(**cfg) == "pooled" else (4, 10, 8, 8)
    assert model(torch.randn(4, 1, 8, 8)).shape == expected
    groups = model.layer_groups()
    assert groups[-1] is model.head  # groups run from input to output, head last
    assert sum(p.numel() for g in groups for p in g.parameters()) == \
        model.parameter_counts()["total"]
