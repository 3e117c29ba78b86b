"""Using a trained model: training curves, predicting files, exporting (ONNX, torch.export)."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from {{ cookiecutter.package_name }}.analysis.predict import load_trained, predict

from conftest import QUICK, compose_config, serving
from pngcheck import assert_png


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A smoke-trained digits classifier (2 short epochs), shared by the tests of this file."""
    from {{ cookiecutter.package_name }}.training.run import train

    output_dir = tmp_path_factory.mktemp("train")
    cfg = compose_config(
        "train",
        [
            *QUICK,
            "task=classification",
            "mode=smoke",
            "trainer.max_epochs=2",
            "trainer.limit_train_batches=10",
        ],
        output_dir,
    )
    summary = train(cfg).to_dict()
    return output_dir, summary


@pytest.mark.task("classification")
def test_every_run_draws_its_training_curves(trained):
    output_dir, _ = trained
    width, height = assert_png(output_dir / "plots" / "curves.png")
    assert (width, height) == (1300, 360)
    curves = json.loads((output_dir / "plots" / "curves.json").read_text())
    for key in ("train/loss", "val/loss", "train/acc", "val/acc"):
        assert len(curves["epochs"][key]) == 2, key  # one value per epoch
        assert all(isinstance(v, float) for v in curves["epochs"][key]), key
    assert len(curves["steps"]) == 20 and curves["epoch_steps"] == [10, 20]
    assert all(lr > 0 for _, _, lr in curves["steps"])


def _write_digit(path, image_8x8: np.ndarray) -> None:
    """A digits image (values 0..16) as an 8-bit grey PNG, as a user would have it."""
    pixels = np.clip(np.round(image_8x8 * 255.0 / 16.0), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, mode="L").save(path)


@pytest.mark.task("classification")
def test_predict_files_matches_eval_and_lists_unreadable(trained, tmp_path):
    from sklearn.datasets import load_digits

    from {{ cookiecutter.package_name }}.analysis.predict_files import run

    output_dir, _ = trained
    task, datamodule = load_trained(output_dir / "checkpoints" / "best.ckpt")
    evaluated = predict(task, datamodule, "test")  # what eval.py measures on the test split
    images = load_digits().images
    folder = tmp_path / "images"
    folder.mkdir()
    picked = list(range(40))
    for i in picked:
        _write_digit(folder / f"item{i:03d}.png", images[evaluated.indices[i]])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    cfg = compose_config(
        "predict",
        [f"ckpt_path={output_dir}", f"inputs={folder}", "batch_size=16"],
        tmp_path / "predict",
    )
    result = run(cfg)
    assert result["predicted"] == 40 and result["unreadable"] == 1
    listed = (tmp_path / "predict" / "unreadable.txt").read_text().splitlines()
    assert len(listed) == 1 and listed[0].startswith(str(folder / "broken.png"))
    with open(tmp_path / "predict" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40
    names = task.task.class_names
    assert list(rows[0]) == ["file", "label", "probability", *(f"p_{c}" for c in names)]
    probs = evaluated.outputs.softmax(dim=1)
    compared = 0
    for row, i in zip(rows, picked, strict=True):
        assert row["file"].endswith(f"item{i:03d}.png")
        got = torch.tensor([float(row[f"p_{c}"]) for c in names])
        assert got.sum() == pytest.approx(1.0, abs=1e-4)
        # 8-bit PNGs round the pixel values a little: probabilities agree closely, and the label
        # agrees wherever eval's top two classes are not a near tie
        # (measured: within 3e-4 of eval's on a smoke model)
        assert torch.allclose(got, probs[i], atol=2e-3), (row, probs[i])
        top2 = probs[i].topk(2).values
        if top2[0] - top2[1] > 5e-3:
            assert row["label"] == names[int(probs[i].argmax())]
            compared += 1
    assert compared >= 30  # the label check was not vacuous


@pytest.mark.task("text")
def test_texts_from_a_table_keep_their_row_and_other_columns(tmp_path):
    """predictions.csv of a CSV of texts: beside the task's columns, each text's row (from 0;
    an empty text, left out, leaves a gap) and the file's other columns as it spells them, so
    that every prediction joins back to its row; the user's "label" makes way for the task's."""
    from types import SimpleNamespace

    from {{ cookiecutter.package_name }}.analysis.predict_files import predict_items
    from {{ cookiecutter.package_name }}.inputs.text import TextInput

    class Even(torch.nn.Module):  # a stand-in model: two classes, equally likely
        def __init__(self):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(2))

        def forward(self, x):
            return self.bias.expand(len(x), 2)

        def report(self):
            row = {"label": "positive", "probability": 0.5}
            return SimpleNamespace(prediction_row=lambda output, folder=None, name="": row)

    text = TextInput(min_frequency=1)
    text.fit(["the food was great", "not good at all"])
    reviews = tmp_path / "reviews.csv"
    reviews.write_text(
        "id,review,label\n007,the food was great,positive\n008,,negative\n"
        '009,"not good,\nat all",\n'
    )
    names, ids, notes = text.read_items(reviews, "review")
    assert names == ["reviews.csv line 2", "reviews.csv line 4"] and len(ids) == 2
    assert notes["left_out"] == ["reviews.csv line 3: empty text"]
    result = predict_items(Even(), names, ids, notes, tmp_path / "predict")
    assert result["predicted"] == 2 and result["left_out"] == notes["left_out"]
    assert "rows" not in result and "columns" not in result  # (in the file, not the notes)
    with open(result["predictions"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["item", "row", "id", "input_label", "label", "probability"]
    assert [(r["row"], r["id"], r["input_label"]) for r in rows] == [
        ("0", "007", "positive"),
        ("2", "009", ""),
    ]
    # the same rows as a Parquet file: the same rows and cells beside the predictions
    import pandas as pd

    parquet = tmp_path / "reviews.parquet"
    pd.read_csv(reviews, dtype=str, keep_default_na=False).to_parquet(parquet)
    _, _, same = text.read_items(parquet, "review")
    assert (same["rows"], same["columns"]) == (notes["rows"], notes["columns"])
    assert notes["columns"] == {"id": ["007", "009"], "label": ["positive", ""]}


def test_predict_reads_file_lists_and_csv_tables(tmp_path):
    from {{ cookiecutter.package_name }}.analysis.predict_files import list_inputs

    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "list.txt").write_text("# files\na.png\n\nmissing.png\n")
    (tmp_path / "table.csv").write_text("id,path\n1,a.png\n2,/abs/b.jpg\n")
    listed = list_inputs(tmp_path / "list.txt")
    assert listed[0] == tmp_path / "a.png" and listed[1].name == "missing.png"
    assert list_inputs(tmp_path / "table.csv") == [tmp_path / "a.png", tmp_path / "/abs/b.jpg"]
    with pytest.raises(ValueError, match="column"):
        list_inputs(tmp_path / "table.csv", column="image_path")
    with pytest.raises(FileNotFoundError):
        list_inputs(tmp_path / "nope")


@pytest.mark.task("classification")
def test_export_onnx_and_torch_export_match_pytorch(trained, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from {{ cookiecutter.package_name }}.analysis.export import run

    output_dir, _ = trained
    cfg = compose_config("export", [f"ckpt_path={output_dir}"], tmp_path / "export")
    result = run(cfg)
    folder = tmp_path / "export"
    assert {"model.onnx", "model.pt2", "preprocessing.json"} <= {p.name for p in folder.iterdir()}
    assert result["model.onnx"]["max_difference"] <= 1e-4
    info = json.loads((folder / "preprocessing.json").read_text())
    assert info["input"]["input_shape"] == [1, 8, 8] and len(info["input"]["mean"]) == 1
    assert info["target_names"] == [str(d) for d in range(10)]
    assert info["task"].endswith("ClassificationTask") and "argmax" in info["decode"]

    task, datamodule = load_trained(output_dir / "checkpoints" / "best.ckpt")
    task.eval()
    x = datamodule.loaded.inputs[torch.as_tensor(datamodule.indices["test"][:7])]
    with torch.no_grad():
        expected = task(x)
    session = ort.InferenceSession(str(folder / "model.onnx"))
    program = torch.export.load(folder / "model.pt2").module()
    for count in (3, 7):  # the batch axis is dynamic
        got = session.run(None, {"input": x[:count].numpy()})[0]
        assert got.shape == (count, 10)
        np.testing.assert_allclose(got, expected[:count].numpy(), atol=1e-4, rtol=1e-4)
        with torch.no_grad():
            torch.testing.assert_close(program(x[:count]), expected[:count], atol=1e-4, rtol=1e-4)


@pytest.mark.task("classification")
def test_serve_answers_an_image_and_rejects_a_bad_payload(trained, tmp_path):
    import urllib.error
    import urllib.request

    output_dir, _ = trained
    task, datamodule = load_trained(output_dir / "checkpoints" / "best.ckpt")
    with serving(task, datamodule) as url:
        with urllib.request.urlopen(f"{url}/health", timeout=10) as answer:
            assert json.loads(answer.read())["target_names"] == task.task.class_names
        from sklearn.datasets import load_digits

        index = datamodule.indices["test"][0]
        _write_digit(tmp_path / "digit.png", load_digits().images[index])
        request = urllib.request.Request(
            f"{url}/predict", method="POST", data=(tmp_path / "digit.png").read_bytes()
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            row = json.loads(answer.read())
        with torch.no_grad():
            probs = task.eval()(datamodule.loaded.inputs[index][None]).softmax(dim=1)[0]
        assert row["label"] in task.task.class_names
        assert row["probability"] == pytest.approx(float(probs.max()), abs=2e-3)
        bad = urllib.request.Request(f"{url}/predict", method="POST", data=b"not an image")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(bad, timeout=10)
        assert error.value.code == 422
        assert "not a readable image" in json.loads(error.value.read())["detail"]


@pytest.mark.slow
@pytest.mark.task("classification")
def test_predict_and_export_from_the_command_line(trained, tmp_path):
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    from conftest import PROJECT

    def run(script, *overrides):
        return subprocess.run(
            [sys.executable, str(PROJECT / script), *overrides],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    output_dir, _ = trained
    for i, image in enumerate(load_digits().images[:3]):
        _write_digit(tmp_path / f"{i}.png", image)
    (tmp_path / "files.txt").write_text("0.png\n1.png\n2.png\nmissing.png\n")
    result = run(
        "predict.py",
        f"ckpt_path={output_dir}",
        f"inputs={tmp_path / 'files.txt'}",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    assert result.returncode == 0, result.stderr
    assert "3 predicted" in result.stdout and "1 unreadable" in result.stdout
    assert len((tmp_path / "out" / "predictions.csv").read_text().splitlines()) == 4
    result = run("export.py", f"ckpt_path={tmp_path / 'nope'}", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.task("classification", "multilabel", "regression", "segmentation")
def test_image_files_are_read_with_the_evaluation_transform(tmp_path):
    from {{ cookiecutter.package_name }}.data.image_folder import ImageFolderDataModule

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(3):
            pixels = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    datamodule = ImageFolderDataModule(
        root=str(tmp_path),
        image_size=16,
        mean=[0.5] * 3,
        std=[0.25] * 3,
        val_fraction=0.3,
        test_fraction=0.0,
        stratify="none",
    )
    path = tmp_path / "dog" / "1.png"
    x = datamodule.read_input(path)
    assert x.shape == (3, 16, 16)
    expected = datamodule.item_transform(train=False)(Image.open(path).convert("RGB"))
    torch.testing.assert_close(x, expected)
    info = datamodule.preprocessing()
    assert info["input_shape"] == [3, 16, 16] and info["mean"] == [0.5] * 3
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(OSError):
        datamodule.read_input(tmp_path / "bad.png")
