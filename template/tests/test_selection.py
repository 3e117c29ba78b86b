"""The validation figure is the one the best checkpoint was selected on: summary.json and the
console say so, with the last epoch's figure beside it."""

import csv
from pathlib import Path

from default_task import QUICK_MODEL, SCORE

from {{ cookiecutter.package_name }}.console import print_summary
from {{ cookiecutter.package_name }}.training.summary import checkpoint_selection

from conftest import compose_config

SHORT = [
    "mode=fraction",
    *QUICK_MODEL,
    "trainer.max_epochs=4",
    "+trainer.limit_train_batches=2",
    "evaluate.fit_verdict=false",
]


def val_scores(run_dir: Path) -> list[float]:
    """val/<score> of each epoch, as logged during training."""
    with (run_dir / "csv" / "metrics.csv").open() as f:
        return [float(row[f"val/{SCORE}"]) for row in csv.DictReader(f) if row.get(f"val/{SCORE}")]


def test_summary_records_the_best_and_the_last_epoch_on_val(run_train, capsys):
    summary = run_train(*SHORT)
    selection = summary["selection"]
    scores = val_scores(Path(summary["output_dir"]))
    assert len(scores) == 4 and selection["monitor"] == f"val/{SCORE}"
    assert selection["last_epoch"] == 3 and selection["last"] == scores[-1]
    assert selection["best"] == max(scores)
    assert scores[selection["best_epoch"]] == max(scores)
    assert "the test split is the honest figure" in selection["message"]

    print_summary(summary)
    lines = capsys.readouterr().out.splitlines()
    val_line = next(line for line in lines if line.startswith("val "))
    last = f"last epoch {SCORE} {scores[-1]:.4f}"
    assert f"(best epoch {selection['best_epoch']}; {last})" in val_line


def test_without_a_test_split_nothing_is_tested_and_the_message_says_so(run_train, tmp_path):
    summary = run_train(*SHORT, "data.test_fraction=0")
    assert summary["data"]["sizes"]["test"] == 0
    assert set(summary["metrics"]) == {"train", "val"}  # no empty test pass
    assert "no test split: hold one out" in summary["selection"]["message"]
    # eval.py's interpretation (of the test split by default) falls back to val, and says so
    from {{ cookiecutter.package_name }}.training.run import evaluate

    cfg = compose_config("eval", [f"ckpt_path={summary['best_checkpoint']}"], tmp_path / "eval")
    measured = evaluate(cfg).to_dict()
    assert set(measured["metrics"]) == {"train", "val"}
    assert measured["interpretation"]["message"].startswith("interpret_split=test is empty")


def test_a_best_epoch_before_the_last_is_said_to_flatter():
    from types import SimpleNamespace

    trainer = SimpleNamespace(  # what checkpoint_selection reads after fit
        current_epoch=30,
        callback_metrics={"val/acc": 0.794},
        checkpoint_callback=SimpleNamespace(
            monitor="val/acc", best_model_score=0.817, best_epoch=12
        ),
    )
    selection = checkpoint_selection(trainer)
    assert selection["best_epoch"] == 12 and selection["last_epoch"] == 29
    assert selection["best"] == 0.817 and selection["last"] == 0.794
    assert "flatters the model: the last epoch reached 0.7940" in selection["message"]
