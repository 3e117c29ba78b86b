"""Bias or variance? The train/val gap read the way practitioners do, with advice in the
order worth trying (cheapest and most effective first)."""

from __future__ import annotations

# For overfitting (high variance), in this order.
OVERFIT_ADVICE = [
    "get more data (label more images)",
    "add data augmentation (augment=light, or augment=strong if it already has some)",
    "try a more generalizable architecture (a CNN instead of an MLP, a pretrained backbone)",
    "add regularization (model.dropout, optimizer.weight_decay, label smoothing)",
    "use a smaller model (model.width / model.depth)",
]
# For underfitting (high bias).
UNDERFIT_ADVICE = [
    "use a bigger model (model.width / model.depth, or the next model up the ladder)",
    "train longer (trainer.max_epochs)",
    "raise the learning rate (optimizer.lr)",
    "reduce regularization (model.dropout, optimizer.weight_decay)",
]


def fit_verdict(train_acc: float, val_acc: float, baseline_acc: float,
                bias_tolerance: float = 0.05, variance_tolerance: float = 0.05,
                fraction: float = 1.0) -> dict:
    """``train_acc`` must be measured in eval mode (no dropout/augmentation) to be comparable.
    ``fraction``: the share of the training split used (more data is at hand when < 1).

    Underfitting: train error above ``bias_tolerance`` (or no better than the majority baseline).
    Overfitting: val accuracy more than ``variance_tolerance`` below train accuracy.
    """
    gap = train_acc - val_acc
    underfit = (1.0 - train_acc) > bias_tolerance or val_acc <= baseline_acc
    overfit = gap > variance_tolerance
    if underfit and overfit:
        diagnosis, advice = "underfitting and overfitting", UNDERFIT_ADVICE[:2] + OVERFIT_ADVICE[:2]
        note = "fix the bias first: a model that cannot fit the training data cannot generalize"
    elif underfit:
        diagnosis, advice = "underfitting", UNDERFIT_ADVICE
        note = f"train accuracy {train_acc:.1%} is low (high bias)"
    elif overfit:
        diagnosis, advice = "overfitting", list(OVERFIT_ADVICE)
        if fraction < 1.0:
            advice[0] = f"use all the data (mode=full): this run saw {fraction:.1%} of it"
        note = f"val accuracy is {gap:.1%} below train accuracy (high variance)"
    else:
        diagnosis, advice = "good fit", [
            "check the confusion matrix and top losses for label noise (python eval.py ...)",
            "try a bigger or pretrained model to go further",
        ]
        if fraction < 1.0:
            advice.insert(0, "train on all the data (mode=full)")
        note = "train and val accuracy are both high and close"
    return {"diagnosis": diagnosis, "note": note, "train_acc": train_acc, "val_acc": val_acc,
            "gap": gap, "baseline_acc": baseline_acc, "bias_tolerance": bias_tolerance,
            "variance_tolerance": variance_tolerance, "advice": advice, "passed": True}
