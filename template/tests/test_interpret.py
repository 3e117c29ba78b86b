"""The interpretation report: files exist, are valid, and agree with the measured metrics."""

import csv
import math
from pathlib import Path

import pytest

from conftest import compose_config
from pngcheck import assert_png


def read(path: Path) -> list[dict]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.task("classification")
def test_eval_writes_a_report_consistent_with_the_metrics(run_train, tmp_path):
    from {{ cookiecutter.package_name }}.training.run import evaluate

    trained = run_train("mode=full", "trainer.max_epochs=2", "task=classification", "model=mlp")
    cfg = compose_config(
        "eval",
        [
            f"ckpt_path={trained['best_checkpoint']}",
            "+trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
        ],
        tmp_path / "eval",
    )
    summary = evaluate(cfg).to_dict()
    report = summary["interpretation"]
    folder = Path(report["folder"])
    assert report["split"] == "test" and report["items"] == summary["data"]["sizes"]["test"]
    assert report["accuracy"] == pytest.approx(summary["metrics"]["test"]["acc"], abs=1e-6)

    per_class = read(folder / "per_class.csv")
    assert [row["class"] for row in per_class] == [str(d) for d in range(10)]
    support = [int(row["support"]) for row in per_class]
    assert sum(support) == report["items"]
    # accuracy = sum over classes of recall x support / items
    correct = sum(float(row["recall"]) * s for row, s in zip(per_class, support, strict=True))
    assert correct / report["items"] == pytest.approx(report["accuracy"], abs=1e-4)
    for row in per_class:
        p, r, f1 = (float(row[k]) for k in ("precision", "recall", "f1"))
        assert f1 == pytest.approx(0 if p + r == 0 else 2 * p * r / (p + r), abs=1e-4)

    confused = read(folder / "most_confused.csv")
    wrong = round(report["items"] * (1 - report["accuracy"]))
    assert sum(int(row["count"]) for row in confused) == wrong  # every error, once
    counts = [int(row["count"]) for row in confused]
    assert counts == sorted(counts, reverse=True) and all(
        r["true"] != r["predicted"] for r in confused
    )

    top = read(folder / "top_losses.csv")
    assert len(top) == 16 and list(top[0]) == [
        "index",
        "path",
        "label",
        "prediction",
        "probability",
        "label_probability",
        "loss",
    ]
    losses = [float(row["loss"]) for row in top]
    assert losses == sorted(losses, reverse=True)
    for row in top:  # loss is the cross-entropy of the label's probability
        assert float(row["loss"]) == pytest.approx(
            -math.log(float(row["label_probability"])), rel=1e-3, abs=1e-4
        )
    assert len({row["index"] for row in top}) == 16

    width, height = assert_png(folder / "confusion_matrix.png", min_side=300)
    assert abs(width - height) < 0.3 * width  # roughly square
    width, height = assert_png(folder / "top_losses.png")
    assert width > height  # 8 columns x 2 rows


def test_eval_without_interpretation(run_train, tmp_path):
    from {{ cookiecutter.package_name }}.training.run import evaluate

    trained = run_train("mode=smoke")
    cfg = compose_config(
        "eval",
        [
            f"ckpt_path={trained['best_checkpoint']}",
            "interpret=false",
            "+trainer.enable_progress_bar=false",
        ],
        tmp_path / "eval",
    )
    assert "interpretation" not in evaluate(cfg).to_dict()
    assert not (tmp_path / "eval" / "interpret").exists()
