"""The bias/variance verdict: the rule itself, and real runs that must be judged correctly."""

import pytest

from {{ cookiecutter.package_name }}.analysis import fit
from {{ cookiecutter.package_name }}.inputs.base import Input

OVERFIT_ADVICE, UNDERFIT_ADVICE = fit.OVERFIT_ADVICE, fit.UNDERFIT_ADVICE
NOTHING_LEARNED_ADVICE = fit.NOTHING_LEARNED_ADVICE
fit_verdict = fit.fit_verdict


def test_rule():
    assert fit_verdict("acc", 0.70, 0.68, 0.1)["diagnosis"] == "underfitting"
    assert fit_verdict("acc", 1.00, 0.85, 0.1)["diagnosis"] == "overfitting"
    assert fit_verdict("acc", 0.99, 0.97, 0.1)["diagnosis"] == "good fit"
    assert fit_verdict("acc", 0.80, 0.60, 0.1)["diagnosis"] == "underfitting and overfitting"
    # val no better than the baseline: underfitting too
    assert fit_verdict("acc", 0.99, 0.10, 0.1)["diagnosis"] == "underfitting and overfitting"
    assert (
        fit_verdict("acc", 0.99, 0.95, 0.1, variance_tolerance=0.03)["diagnosis"] == "overfitting"
    )


def test_the_advice_names_pretrained_backbones_as_this_project_has_them():
    """Pretrained backbones come with the transfer feature, and with segmentation (U-Net timm
    encoders) and texts (hf_text) without it: elsewhere the advice that suggests one says how
    to add them; where the project has them it names them plainly."""
    from {{ cookiecutter.package_name }}.training.errors import CHOSEN

    has = "transfer" in CHOSEN["features"] or bool({"segmentation", "text"} & {*CHOSEN["tasks"]})
    good = fit_verdict("acc", 0.99, 0.98, 0.1)["advice"]
    overfit = fit_verdict("acc", 1.0, 0.8, 0.1)["advice"]
    for advice in (good, overfit):
        suggests = [line for line in advice if "pretrained backbone" in line]
        assert len(suggests) == 1, advice
        assert ("the transfer feature adds them" in suggests[0]) is not has, suggests


@pytest.mark.task("classification", "multilabel", "regression", "segmentation")
def test_advice_in_fastai_order():
    from {{ cookiecutter.package_name }}.inputs.image import ImageInput

    # an image input's own advice (augmentation) comes second, after more data
    advice = fit_verdict("acc", 1.0, 0.8, 0.1, input_advice=ImageInput.variance_advice)["advice"]
    words = ["more data", "augmentation", "architecture", "regularization", "smaller model"]
    assert [w for w in words for a in advice if w in a] == words
    words = ["bigger model", "longer", "learning rate", "regularization"]
    assert [w for w in words for a in UNDERFIT_ADVICE if w in a] == words


@pytest.mark.task("classification", "multilabel", "regression", "segmentation")
def test_inputs_that_are_not_images_get_no_augmentation_advice():
    from {{ cookiecutter.package_name }}.inputs.image import ImageInput

    images = fit.fit_verdict("r2", 0.99, 0.7, 0.0, input_advice=ImageInput.variance_advice)
    rows = fit.fit_verdict("r2", 0.99, 0.7, 0.0, input_advice=Input.variance_advice)
    assert images["diagnosis"] == rows["diagnosis"] == "overfitting"
    assert any("augmentation" in a for a in images["advice"])
    assert not any("augment" in a for a in rows["advice"]) and len(rows["advice"]) == 4


@pytest.mark.task("classification")
def test_a_crippled_model_is_underfitting(run_train):
    # a linear model with a learning rate far too small, for two epochs of a fraction
    summary = run_train(
        "task=classification",
        "mode=fraction",
        "model=linear",
        "optimizer.lr=1e-5",
        "trainer.max_epochs=2",
    )
    fit = summary["verdicts"]["fit"]
    assert fit["diagnosis"] == "underfitting"
    assert fit["metric"] == "acc" and fit["train"] == summary["metrics"]["train"]["acc"] < 0.5
    assert fit["message"].startswith("underfitting (acc: train ")
    # no better than the trivial baseline: the learning rate first (it is the cause here); and
    # mode=fraction trains unregularized: nothing to reduce
    assert fit["val"] <= fit["baseline"]
    assert fit["advice"] == [
        *NOTHING_LEARNED_ADVICE,
        *(a for a in UNDERFIT_ADVICE if "regularization" not in a and "learning rate" not in a),
    ]


@pytest.mark.task("classification")
def test_a_deliberately_overfit_run_is_overfitting(run_train):
    from {{ cookiecutter.package_name }}.inputs.image import ImageInput

    # 5 % of the training data (63 images), no augmentation or regularization, 60 epochs
    summary = run_train(
        "task=classification",
        "mode=fraction",
        "mode.fraction=0.05",
        "model=mlp",
        "trainer.max_epochs=60",
    )
    fit = summary["verdicts"]["fit"]
    assert fit["diagnosis"] == "overfitting", fit
    assert fit["train"] >= 0.99 and fit["gap"] > 0.05
    # it trained on a fraction, so "more data" means: use the rest first
    assert fit["advice"][0] == (
        "use all the data (mode=full, data.fraction=1.0): this run saw 5.0% of it"
    )
    assert fit["advice"][1:] == [*ImageInput.variance_advice, *OVERFIT_ADVICE[1:]]
    assert fit_verdict("acc", 1.0, 0.8, 0.1)["advice"] == OVERFIT_ADVICE  # all data: label more


def test_a_gap_wider_than_the_train_shortfall_says_fix_the_variance_first():
    """Noisy targets (ratings) never reach a train score near 1: when val falls further below
    train than train falls below 1, more capacity or training would only widen the gap."""
    ratings = fit_verdict("r2", 0.87, 0.70, 0.0)
    assert ratings["diagnosis"] == "underfitting and overfitting"
    assert ratings["note"].startswith("fix the variance first")
    assert ratings["advice"] == OVERFIT_ADVICE
    assert not any("bigger model" in a or "longer" in a for a in ratings["advice"])
    weak = fit_verdict("acc", 0.70, 0.60, 0.1)
    assert weak["note"].startswith("fix the bias first") and weak["advice"][0] == UNDERFIT_ADVICE[0]


def test_advice_follows_what_the_run_did():
    """No advice to reduce regularization that was off; a model no better than the trivial
    baseline is sent to its learning rate and the overfit check before a bigger model; a run on
    a fraction (mode=fraction, or a preset's data.fraction) is told how to use all the data."""
    assert fit_verdict("acc", 0.7, 0.68, 0.1)["advice"] == UNDERFIT_ADVICE
    off = fit_verdict("acc", 0.7, 0.68, 0.1, regularized=False)["advice"]
    assert off == [a for a in UNDERFIT_ADVICE if "regularization" not in a] and len(off) == 3
    nothing = fit_verdict("acc", 0.1, 0.1, 0.1)
    assert nothing["diagnosis"] == "underfitting"
    assert nothing["advice"][:2] == NOTHING_LEARNED_ADVICE
    assert not any("raise the learning rate" in a for a in nothing["advice"])
    # a little above the baseline (measured: optimizer.lr=10 on the digits, train 0.121, val
    # 0.115, baseline 0.100): next to nothing learned, the same advice
    little = fit_verdict("acc", 0.121, 0.115, 0.1)
    assert little["advice"][:2] == NOTHING_LEARNED_ADVICE and "next to nothing" in little["note"]
    assert not any("raise the learning rate" in a for a in little["advice"])
    good = fit_verdict("acc", 0.99, 0.98, 0.1, fraction=0.05)["advice"]
    assert good[0].startswith("use all the data (mode=full, data.fraction=1.0)")
