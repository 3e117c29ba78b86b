"""Text: bad rows listed by line, batches padded per batch and grouped by length, the tokenizer
learnt on the training split and kept in the checkpoint, IMDB's folder layout, the ladder's step
from bag of words to a sequence model, and a local pretrained model fine-tuned offline.
(The task contract over task=text runs in test_tasks.py.)"""

import csv
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from {{ cookiecutter.package_name }}.analysis.predict import load_trained
{%- if "deploy" in cookiecutter.__features.split(",") %}
from {{ cookiecutter.package_name }}.analysis.predict_files import run as predict_run
{%- endif %}
from {{ cookiecutter.package_name }}.data import text as text_data
from {{ cookiecutter.package_name }}.data.text_reviews import make_reviews
from {{ cookiecutter.package_name }}.inputs.text import TextFacts, TextInput
from {{ cookiecutter.package_name }}.models.hf_text import HubModelError, check_available
from {{ cookiecutter.package_name }}.training.run import evaluate
from {{ cookiecutter.package_name }}.training.summary import is_user_error

from conftest import PROJECT, PROJECT_FEATURES, compose_config


def write_csv(path, rows, header=("text", "label", "is_valid")):
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def review_rows(count: int = 120, seed: int = 1):
    texts, labels = make_reviews(count, seed)
    return [
        [t, ["neg", "pos"][y], i % 6 == 0]
        for i, (t, y) in enumerate(zip(texts, labels, strict=True))
    ]


# the text input, keeping the words seen once (the corpora here are small)
TOKENIZE_RARE_WORDS = {
    "_target_": "{{ cookiecutter.package_name }}.inputs.text.TextInput",
    "min_frequency": 1,
}


def text_csv(path, **options) -> text_data.TextDataModule:
    datamodule = text_data.TextDataModule(path=str(path), input=TOKENIZE_RARE_WORDS, **options)
    datamodule.setup()
    return datamodule


def test_bad_rows_are_listed_by_line_and_skipped_or_stop_the_run(tmp_path):
    rows = review_rows(40)
    rows[3][0] = "   "  # line 5: empty text
    rows[7][1] = ""  # line 9: missing label
    path = write_csv(tmp_path / "t.csv", rows)
    data = path.read_bytes().replace(rows[10][0].encode(), b"caf\xe9 was " + rows[10][0].encode())
    path.write_bytes(data)  # line 12: Latin-1 bytes, not UTF-8
    datamodule = text_csv(path, valid_column="is_valid")
    assert datamodule.skipped_files == [
        "line 5: empty text",
        "line 9: missing label",
        "line 12: not valid UTF-8 (save the file as UTF-8)",
    ]
    assert len(datamodule.texts) == 37 and datamodule.describe()["skipped_files"] == 3
    with pytest.raises(text_data.TextError) as raised:
        text_csv(path, on_bad="fail")
    assert is_user_error(raised.value)
    assert "3 bad item(s): line 5: empty text; line 9: missing label; line 12" in str(raised.value)


@pytest.mark.parametrize(
    ("rows", "options", "words"),
    [
        ([["good", "pos"], ["bad", "pos"]], {}, ["every text has the label 'pos'", "two classes"]),
        ([["good", "pos"]], {"text_column": "review"}, ["no column(s) ['review']", "'text'"]),
    ],
)
def test_unusable_text_data_is_one_clear_error(tmp_path, rows, options, words):
    path = write_csv(tmp_path / "t.csv", rows, header=("text", "label"))
    with pytest.raises(text_data.TextError) as raised:
        text_csv(path, **options)
    assert is_user_error(raised.value)
    assert all(word in str(raised.value) for word in words), str(raised.value)


@pytest.mark.parametrize("kind", ["csv", "csv with blank lines", "parquet"])
def test_a_table_with_a_header_but_no_rows_is_one_clear_error(tmp_path, kind):
    if kind == "parquet":
        import pandas as pd

        path = tmp_path / "t.parquet"
        pd.DataFrame({"text": [], "label": []}, dtype=str).to_parquet(path)
    else:
        path = tmp_path / "t.csv"
        path.write_text("text,label\n" + ("\n\n" if "blank" in kind else ""))
    with pytest.raises(text_data.TextError) as raised:  # as read, before anything is built
        text_data.read_table(path, "text", "label", None)
    message = str(raised.value)
    assert is_user_error(raised.value) and "\n" not in message
    assert str(path) in message and "no rows" in message and "add one row" in message


@pytest.mark.parametrize(
    ("rows", "reasons"),
    [
        ([["", "pos"], ["  ", "neg"]], "line 2: empty text; line 3: empty text"),
        ([["good", ""], ["bad", " "]], "line 2: missing label; line 3: missing label"),
    ],
    ids=["empty texts", "missing labels"],
)
def test_rows_that_are_all_skipped_are_one_clear_error_with_their_reasons(tmp_path, rows, reasons):
    path = write_csv(tmp_path / "t.csv", rows, header=("text", "label"))
    with pytest.raises(text_data.TextError) as raised:
        text_data.TextDataModule(path=str(path)).load()
    message = str(raised.value)
    assert is_user_error(raised.value) and "\n" not in message
    assert f"data.path={path}: all 2 item(s) are bad" in message and reasons in message


def test_parquet_reads_like_csv(tmp_path):
    import pandas as pd

    csv_path = write_csv(tmp_path / "t.csv", review_rows(60))
    pd.read_csv(csv_path).to_parquet(tmp_path / "t.parquet")
    from_csv, from_parquet = text_csv(csv_path), text_csv(tmp_path / "t.parquet")
    assert from_parquet.texts == from_csv.texts
    assert from_parquet.loaded.targets.equal(from_csv.loaded.targets)
    assert from_parquet.loaded.inputs.equal(from_csv.loaded.inputs)


def test_one_text_source_reads_a_file_a_folder_or_the_embedded_reviews(tmp_path):
    targets = {
        name: compose_config("train", ["task=text", f"data={name}"], tmp_path).data._target_
        for name in ("reviews", "text_csv", "text_folder")
    }
    source = "{{ cookiecutter.package_name }}.data.text.TextDataModule"
    assert set(targets.values()) == {source}
    reviews = text_data.TextDataModule(embedded="reviews", size=40, input=TOKENIZE_RARE_WORDS)
    reviews.setup()
    assert reviews.name == "reviews" and len(reviews.texts) == 40
    assert reviews.describe_input(0) == " ".join(make_reviews(40)[0][0].split())
    for settings in ({}, {"path": "a.csv", "root": "b"}, {"path": "a.csv", "embedded": "reviews"}):
        with pytest.raises(text_data.TextError) as raised:
            text_data.TextDataModule(**settings)
        assert is_user_error(raised.value) and "one of data.path" in str(raised.value)


def test_the_text_input_keeps_its_tokenizer_and_says_what_a_model_needs(tmp_path):
    datamodule = text_csv(write_csv(tmp_path / "t.csv", review_rows(60)))
    facts = datamodule.input_facts()
    assert isinstance(facts, TextFacts) and facts.kind == "text" and facts.shape is None
    assert facts.vocab_size == datamodule.input.tokenizer.get_vocab_size() > 2
    assert facts.max_length == 128 and facts.pad_id == datamodule.input.state_dict()["pad_id"]
    restored = TextInput(min_frequency=1)  # eval/predict: the checkpoint's tokenizer, no refit
    restored.load_state_dict(datamodule.input.state_dict())
    ids, lengths = restored.encode(datamodule.texts)
    assert ids.equal(datamodule.loaded.inputs) and lengths.equal(datamodule.lengths)
{%- if "deploy" in cookiecutter.__features.split(",") %}
    assert restored.dynamic_axes == {0: "batch", 1: "length"}  # exports take any length
{%- endif %}
    pretrained = text_data.TextDataModule.settings_from_model(
        {"input": TOKENIZE_RARE_WORDS}, {"tokenizer": "my-bert"}
    )
    assert pretrained["input"] == {**TOKENIZE_RARE_WORDS, "tokenizer": "my-bert"}
    with pytest.raises(text_data.TextError, match="max_length=1"):
        TextInput(max_length=1)


def test_batches_are_padded_to_their_longest_text_and_grouped_by_length(tmp_path):
    datamodule = text_csv(write_csv(tmp_path / "t.csv", review_rows(300)), batch_size=16)
    pad = datamodule.input.state_dict()["pad_id"]
    for x, _ in datamodule.eval_dataloaders(["train"])[0]:  # (in the split's order)
        lengths = (x != pad).sum(1)
        assert x.dtype == torch.long and x.shape[1] == int(lengths.max())  # no wasted column
    # sort-ish training batches: far less length spread within a batch than a plain shuffle
    lengths = datamodule.lengths
    train = datamodule.indices["train"]
    torch.manual_seed(0)
    sortish = list(text_data.SortishBatches(train, lengths, 16, chunk=50))
    assert sorted(i for batch in sortish for i in batch) == sorted(train)  # each item once
    shuffled = torch.as_tensor(train)[torch.randperm(len(train))].split(16)

    def spread(batches) -> float:
        return sum(
            float(lengths[torch.as_tensor(b)].float().std()) for b in batches if len(b) > 1
        ) / len(batches)

    assert spread(sortish) < 0.5 * spread([b.tolist() for b in shuffled])


def test_the_tokenizer_is_learnt_on_the_training_split_and_kept_in_the_checkpoint(
    tmp_path, run_train
):
    rows = review_rows(120)
    for i in range(0, 120, 6):  # validation rows only: a word training never sees
        rows[i][0] += " zyzzyva"
    path = write_csv(tmp_path / "t.csv", rows)
    datamodule = text_csv(path, valid_column="is_valid")
    assert datamodule.input.tokenizer.token_to_id("zyzzyva") is None
    summary = run_train(
        "task=text",
        "data=text_csv",
        f"data.path={path}",
        "data.valid_column=is_valid",
        "data.input.min_frequency=1",
        "trainer.max_epochs=2",
    )
    assert (
        summary["status"] == "completed"
        and summary["data"]["tokenizer"] == "trained on the training split"
    )
    # the file changes (new rows), the tokenizer does not: it comes from the checkpoint
    write_csv(path, rows + [["the zyzzyva was zyzzyva .", "pos", False]] * 40)
    _, reloaded = load_trained(summary["best_checkpoint"])
    assert reloaded.input.state_dict() == datamodule.input.state_dict()


def test_imdb_folder_layout_with_its_test_folder_as_validation(tmp_path):
    root = tmp_path / "aclImdb"
    texts, labels = make_reviews(48, seed=3)
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        split = "test" if i % 4 == 0 else "train"
        folder = root / split / ("pos" if label else "neg")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}_{7 if label else 2}.txt").write_text(text, encoding="utf-8")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("no label here")
    (root / "train" / "neg" / "bad_1.txt").write_bytes(b"\xff\xfe broken")
    datamodule = text_data.TextDataModule(
        root=str(root), input=TOKENIZE_RARE_WORDS, test_fraction=0.2
    )
    datamodule.setup()
    assert datamodule.class_names == ["neg", "pos"]
    assert datamodule.skipped_files == [
        "train/neg/bad_1.txt: not valid UTF-8 (save the file as UTF-8)"
    ]
    keys = datamodule.loaded.item_keys
    assert len(keys) == 48 and not any("unsup" in k for k in keys)
    val = {keys[i] for i in datamodule.indices["val"]}
    assert val == {k for k in keys if k.startswith("test/")}  # IMDB's test folder
    assert all(keys[i].startswith("train/") for i in datamodule.indices["test"])
    assert set(datamodule.state_dict()["split_items"]) == {"train", "val", "test"}


@pytest.mark.task("multilabel")
def test_multilabel_texts_train_through_the_multilabel_task(tmp_path, run_train):
    texts, labels = make_reviews(160, seed=2)
    rows = [
        [t, ("positive" if y else "negative") + (" food" if "food" in t else ""), False]
        for t, y in zip(texts, labels, strict=True)
    ]
    path = write_csv(tmp_path / "t.csv", rows)
    datamodule = text_csv(path, target_kind="multilabel")
    assert datamodule.target_names == ["food", "negative", "positive"]
    assert datamodule.loaded.targets.sum(1).max() == 2
    summary = run_train(
        "task=multilabel",
        "data=text_csv",
        f"data.path={path}",  # (its target_kind, null, follows the task: multilabel)
        "data.input.min_frequency=1",
        "model=text_transformer",
        "trainer.max_epochs=2",
    )
    assert summary["status"] == "completed" and summary["exit_code"] == 0
    assert "f1_micro" in summary["metrics"]["test"]


@pytest.mark.slow
def test_the_sequence_model_beats_bag_of_words_by_a_wide_margin(run_train):
    """The corpus's labels hang on negation and word order, which a bag of words cannot read."""
    scores = {}
    for model in ("text_bow", "text_transformer"):
        summary = run_train("task=text", f"model={model}", "trainer.max_epochs=15")
        assert summary["status"] == "completed"
        scores[model] = summary["metrics"]["test"]["acc"]
    assert scores["text_transformer"] >= 0.85, scores  # (0.997 with the default 30 epochs)
    assert scores["text_transformer"] - scores["text_bow"] >= 0.25, scores


@pytest.mark.slow
def test_a_local_pretrained_model_fine_tunes_offline_and_rebuilds_without_its_files(
    tiny_text_model, tmp_path, run_train, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "my-bert"
    shutil.copytree(tiny_text_model, folder)
    model = ["model=hf_text", f"model.name={folder}"]
    overfit = run_train("task=text", *model, "mode=overfit")
    assert overfit["status"] == "completed" and overfit["verdicts"]["overfit"]["reached"]
    assert overfit["data"]["tokenizer"] == str(folder)  # the model's own tokenizer
    failed = run_train(
        "task=text", *model, "mode=overfit", "optimizer.lr=0", "trainer.max_steps=20"
    )
    assert failed["status"] == "failed" and failed["exit_code"] == 1

    # fine-tuned in two stages where the project has the schedules (the transfer feature)
    tune = ["finetune=fine_tune"] if "transfer" in PROJECT_FEATURES else []
    summary = run_train("task=text", *model, *tune, "trainer.max_epochs=2", "data.size=400")
    assert summary["status"] == "completed"
    if tune:
        plan = summary["verdicts"]["finetune"]["plan"]
        assert [stage["name"] for stage in plan] == ["frozen", "unfrozen"]
    shutil.rmtree(folder)  # no folder, no network: the checkpoint holds all it needs
    best = summary["best_checkpoint"]
    assert torch.load(best, weights_only=True)["hyper_parameters"]["model"]["pretrained"] is False
    cfg = compose_config(
        "eval",
        [
            f"ckpt_path={best}",
            "+trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
        ],
        tmp_path / "eval",
    )
    evaluated = evaluate(cfg).to_dict()
    assert evaluated["metrics"]["test"]["acc"] == pytest.approx(
        summary["metrics"]["test"]["acc"], abs=1e-6
    )


def test_offline_without_the_files_is_a_clear_error_within_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(HubModelError) as raised:
        check_available("some-org/not-downloaded-bert")
    assert time.perf_counter() - start < 5
    assert is_user_error(raised.value)
    assert "not in the Hugging Face cache" in str(raised.value)
    assert "model.name=<folder>" in str(raised.value)
    with pytest.raises(HubModelError, match="no such folder"):
        check_available(str(tmp_path / "missing"))
{%- if "deploy" in cookiecutter.__features.split(",") %}


def test_new_texts_are_predicted_and_bad_ones_listed(tmp_path, run_train):
    summary = run_train("task=text", "model=text_bow", "trainer.max_epochs=1")
    texts = tmp_path / "new"
    texts.mkdir()
    (texts / "a.txt").write_text("the food was great .", encoding="utf-8")
    (texts / "b.txt").write_text("", encoding="utf-8")
    (texts / "c.txt").write_bytes(b"caf\xe9")
    cfg = compose_config(
        "predict",
        [f"ckpt_path={summary['best_checkpoint']}", f"inputs={texts}"],
        tmp_path / "predict",
    )
    result = predict_run(cfg)
    assert result["predicted"] == 1 and len(result["left_out"]) == 2
    with open(result["predictions"]) as file:
        rows = list(csv.DictReader(file))
    assert rows[0]["item"].endswith("a.txt") and rows[0]["label"] in ("negative", "positive")
    assert float(rows[0]["p_negative"]) + float(rows[0]["p_positive"]) == pytest.approx(1, 1e-4)

    # a CSV of new texts whose column has another name than the training data's: column=
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("id,review\n1,the food was great .\n2,not good at all .\n")
    for overrides in (["column=review"], ["+data.input.text_column=review"]):
        cfg = compose_config(
            "predict",
            [f"ckpt_path={summary['best_checkpoint']}", f"inputs={reviews}", *overrides],
            tmp_path / f"predict-{len(overrides[0])}",
        )
        assert predict_run(cfg)["predicted"] == 2, overrides
{%- endif %}


@pytest.mark.feature("deploy")
def test_export_takes_texts_of_any_length_and_carries_the_tokenizer(tmp_path, run_train):
    from tokenizers import Tokenizer

    from {{ cookiecutter.package_name }}.analysis.export import export

    summary = run_train("task=text", "trainer.max_epochs=1", "data.size=400")
    task, datamodule = load_trained(summary["best_checkpoint"])
    result = export(task, datamodule, tmp_path / "export")
    assert result["model.onnx"]["dynamic_axes"]["input"] == [0, 1]  # batch and length
    info = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    tokenizer = Tokenizer.from_str(info["input"]["tokenizer_json"])
    ids = torch.tensor([tokenizer.encode("the food was not bad .").ids])
    program = torch.export.load(tmp_path / "export" / "model.pt2").module()
    with torch.no_grad():
        assert torch.allclose(program(ids), task.cpu().eval()(ids), atol=1e-4)


@pytest.mark.feature("deploy")
def test_serve_answers_a_text_and_rejects_bytes_that_are_not_utf8(run_train):
    import urllib.error
    import urllib.request

    from conftest import serving  # (a helper of the deploy feature's tests)

    summary = run_train("task=text", "model=text_bow", "trainer.max_epochs=1", "data.size=400")
    task, datamodule = load_trained(summary["best_checkpoint"])
    with serving(task, datamodule) as base:
        url = f"{base}/predict"
        request = urllib.request.Request(url, data=b"the food was great .")
        with urllib.request.urlopen(request, timeout=10) as answer:
            row = json.loads(answer.read())
        expected = task.report().prediction_row(
            task(datamodule.read_input(io.BytesIO(b"the food was great ."))[None])[0].detach()
        )
        assert row == expected and row["label"] in ("negative", "positive")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(urllib.request.Request(url, data=b"caf\xe9"), timeout=10)
        assert error.value.code == 422
        assert "not a readable text: not valid UTF-8" in json.loads(error.value.read())["detail"]


def test_eval_shows_the_top_losses_with_their_text(tmp_path, run_train):
    summary = run_train("task=text", "model=text_bow", "trainer.max_epochs=1")
    cfg = compose_config(
        "eval",
        [
            f"ckpt_path={summary['best_checkpoint']}",
            "+trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
        ],
        tmp_path / "eval",
    )
    report = evaluate(cfg).to_dict()["interpretation"]
    assert {"top_losses.csv", "top_losses.md", "top_losses_inputs.csv"} <= set(report["files"])
    table = (Path(report["folder"]) / "top_losses.md").read_text(encoding="utf-8")
    assert table.startswith("# top losses") and "| index | shown as | input |" in table
    assert table.count(" was ") >= 10  # the reviews themselves, one per row


def test_text_libraries_are_imported_only_when_text_is_used():
    package = "{{ cookiecutter.package_name }}"
    code = (
        f"import sys; import {package}.training.run, {package}.models, {package}.data.text; "
        "print(json.dumps(sorted(m for m in ('transformers', 'tokenizers') "
        "if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT,
    ).stdout
    assert json.loads(out) == []


def test_without_regularization_the_transformer_s_attention_drops_nothing():
    """regularize=false (modes overfit and fraction) turns every dropout off, the attention's
    too (a float of nn.MultiheadAttention, no Dropout module): in training mode the same batch
    gives the same outputs, so lr=0 leaves the overfit check's loss where it was."""
    from {{ cookiecutter.package_name }}.models import create_model, model_config

    facts = TextFacts("text", None, vocab_size=50, pad_id=0, max_length=16)
    config = model_config("text_transformer", dropout=0.5)
    model = create_model(config, 2, facts, regularize=False).train()
    ids = torch.randint(1, 50, (4, 16), generator=torch.Generator().manual_seed(0))
    assert torch.equal(model(ids), model(ids))
