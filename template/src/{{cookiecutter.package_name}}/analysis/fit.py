"""Bias or variance? The train/val gap of the task's score (higher is better, 1 is perfect: one pair
of tolerances reads every task), with advice in the order worth trying."""

from collections.abc import Sequence

from ..training.errors import generated

# pretrained backbones as this project has them, or how to add them
PRETRAINED = "a pretrained backbone"
if not (generated("models.weights") or generated("models.hub")):
    PRETRAINED += " (the transfer feature adds them: docs/maintenance.md)"

# high variance (the input's augmentation advice comes second); options every model has, named
OVERFIT_ADVICE = [
    "get more data (label more items)",
    f"try an architecture that generalizes better (one made for these inputs, or {PRETRAINED})",
    "add regularization (model.dropout where the model has it, optimizer.weight_decay)",
    "use a smaller model (the size options of its configs/model/ file)",
]
# high bias
UNDERFIT_ADVICE = [
    "use a bigger model (the size options of its configs/model/ file, or the next model up the "
    "ladder)",
    "train longer (trainer.max_epochs)",
    "raise the learning rate (optimizer.lr){{ ', or find one with lr_find=report' if 'lr_find' in cookiecutter.__features.split(',') }}",
    "reduce regularization (model.dropout, optimizer.weight_decay)",
]
# nothing learned: the learning rate and the pipeline, which a bigger model would not fix
NOTHING_LEARNED_ADVICE = [
{%- if "lr_find" in cookiecutter.__features.split(",") %}
    "check the learning rate with lr_find=report (too high makes the loss jump or climb, too low "
    "leaves it flat)",
{%- else %}
    "check the learning rate, optimizer.lr (too high makes the loss jump or climb, too low "
    "leaves it flat)",
{%- endif %}
    "run mode=overfit: a model that cannot fit one batch has a bug or a bad learning rate",
]


def fit_verdict(
    score: str,
    train: float,
    val: float,
    baseline: float,
    bias_tolerance: float = 0.05,
    variance_tolerance: float = 0.05,
    fraction: float = 1.0,
    input_advice: Sequence[str] = (),
    reference: dict | None = None,
    regularized: bool = True,
) -> dict:
    """``train``: measured in eval mode; ``fraction``: the share of the training split used;
    ``reference``: a reference model's ``name`` and ``val``."""
    gap = train - val
    overfit_advice = [OVERFIT_ADVICE[0], *input_advice, *OVERFIT_ADVICE[1:]]
    underfit_advice = [a for a in UNDERFIT_ADVICE if regularized or "regularization" not in a]
    # (a preset may set data.fraction below 1 in mode=full too)
    all_data = f"use all the data (mode=full, data.fraction=1.0): this run saw {fraction:.1%} of it"
    more_data = [all_data] if fraction < 1.0 else []
    variance_advice = [*(more_data or overfit_advice[:1]), *overfit_advice[1:]]
    underfit = (1.0 - train) > bias_tolerance or val <= baseline
    overfit = gap > variance_tolerance
    if underfit and overfit and gap > 1.0 - train:
        # the gap outweighs what training misses: a bigger model or longer training would widen
        # it (noisy targets, such as ratings, never reach a train score near 1)
        diagnosis, advice = "underfitting and overfitting", variance_advice
        note = (
            f"fix the variance first: val {score} is {gap:.3f} below train, more than train "
            f"is below 1 ({1.0 - train:.3f}), so more capacity or training would widen the gap"
        )
    elif underfit and overfit:
        diagnosis, advice = "underfitting and overfitting", underfit_advice[:2] + overfit_advice[:2]
        note = (
            f"fix the bias first: train {score} is {1.0 - train:.3f} below 1, more than val is "
            f"below train ({gap:.3f}); a model that cannot fit the training data cannot generalize"
        )
    elif underfit:
        diagnosis, advice = "underfitting", underfit_advice
        # nothing learned (e.g. a rate so high that the loss never settled): the learning rate
        # first, not a bigger model, and never "raise the learning rate"
        barely = train - baseline < bias_tolerance
        if val <= baseline or barely:
            advice = [*NOTHING_LEARNED_ADVICE, *(a for a in advice if "learning rate" not in a)]
        if val <= baseline:
            note = f"val {score} is no better than the trivial baseline"
        elif barely:
            note = (
                f"train {score} {train:.3f} is barely above the trivial baseline "
                f"{baseline:.3f}: the model learned next to nothing"
            )
        else:
            note = f"train {score} {train:.3f} is low (high bias)"
    elif overfit:
        diagnosis, advice = "overfitting", variance_advice
        note = f"val {score} is {gap:.3f} below train (high variance)"
    else:
        diagnosis = "good fit"
        advice = [
            *more_data,
            "read the interpretation report for label noise and hard cases (python eval.py ...)",
            f"try a bigger model, or {PRETRAINED}, to go further",
        ]
        note = f"train and val {score} are both high and close"
    message = (
        f"{diagnosis} ({score}: train {train:.4f}, val {val:.4f}, gap {gap:+.4f}, "
        f"trivial baseline {baseline:.4f}): {note}"
    )
    compared = {}
    if reference and reference.get("val") is not None:
        name, other = reference["name"], reference["val"]
        compared = {"reference": name, "reference_val": other, "reference_gap": val - other}
        points, where = 100 * (val - other), "level with"
        if round(points, 1):
            where = f"{abs(points):.1f} points {'below' if points < 0 else 'above'}"
        message += f"; the network is {where} the {name} (val {score} {other:.4f})"
    return {
        **compared,
        "diagnosis": diagnosis,
        "note": note,
        "metric": score,
        "train": train,
        "val": val,
        "gap": gap,
        "baseline": baseline,
        "bias_tolerance": bias_tolerance,
        "variance_tolerance": variance_tolerance,
        "advice": advice,
        "passed": True,
        "message": message,
    }
