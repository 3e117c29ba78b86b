"""The baseline a network on a table has to beat: gradient boosting on the same rows.

scikit-learn's ``HistGradientBoostingClassifier``/``Regressor`` (seconds on these sizes) is fitted
on the training rows the network trains on (after ``fraction``), with the same preprocessed
features (category indices declared categorical), and scored with the task's own score, so the
two numbers compare directly.
"""

import numpy as np
import torch


def gradient_boosting_scores(datamodule, task, splits) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    data = datamodule.loaded
    x = data.inputs.numpy()
    y = data.targets
    train = datamodule.indices["train"]
    categorical = np.zeros(x.shape[1], dtype=bool)
    categorical[: len(datamodule.input_facts().cardinalities)] = True
    # scikit-learn's defaults, except leaves of 20 rows: on a few dozen rows (mode=fraction) the
    # trees could not split at all and the baseline would be the mean
    options = {
        "categorical_features": categorical,
        "random_state": datamodule.hparams.split_seed,
        "min_samples_leaf": max(2, min(20, len(train) // 10)),
    }
    if datamodule.target_kind == "class":
        model = HistGradientBoostingClassifier(**options)
        model.fit(x[train], y[train].numpy())
        classes = model.classes_

        def outputs(rows):  # log-probabilities over every class (absent ones: ~0)
            probs = np.full((len(rows), len(data.target_names)), 1e-12)
            probs[:, classes] = model.predict_proba(x[rows])
            return torch.tensor(np.log(probs), dtype=torch.float32)

        name = type(model).__name__
    else:
        targets = y.numpy()
        models = [
            HistGradientBoostingRegressor(**options).fit(x[train], targets[train, k])
            for k in range(targets.shape[1])
        ]
        info = task.target_info  # the network's outputs are standardized targets
        mean, std = np.asarray(info.get("mean", 0.0)), np.asarray(info.get("std", 1.0))

        def outputs(rows):
            values = np.stack([m.predict(x[rows]) for m in models], axis=1)
            return torch.tensor((values - mean) / std, dtype=torch.float32)

        name = type(models[0]).__name__
    scores = {}
    for split in splits:
        rows = datamodule.indices[split]
        if not rows:
            continue
        metric = task.metrics()[task.score]
        metric.update(*task.metric_inputs(outputs(rows), y[torch.as_tensor(rows)]))
        scores[split] = float(metric.compute())
    return {"name": name, "metric": task.score, **scores}
