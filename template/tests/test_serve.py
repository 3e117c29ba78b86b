"""Serving over HTTP on loopback (API key, size and pixel limits, table rows, load), and the
answers each task gives to served and predicted items."""

import csv
import functools
import http.client
import io
import json
import os
import struct
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from {{ cookiecutter.package_name }}.analysis.predict import load_trained
from {{ cookiecutter.package_name }}.training.validate import ConfigError

from conftest import CONFIGS, PROJECT, QUICK, compose_config, serving

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def train_quickly(tmp_path_factory, *overrides: str):
    """(task, datamodule) of a checkpoint trained for a few steps, and its run folder."""
    from {{ cookiecutter.package_name }}.training.run import train

    folder = tmp_path_factory.mktemp("run")
    cfg = compose_config(
        "train",
        [*QUICK, "mode=smoke", "trainer.max_epochs=1", "trainer.limit_train_batches=4", *overrides],
        folder,
    )
    summary = train(cfg).to_dict()
    task, datamodule = load_trained(summary["best_checkpoint"])
    return task.eval(), datamodule, folder


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return train_quickly(tmp_path_factory, "task=classification")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return train_quickly(tmp_path_factory, "task=tabular", "evaluate.tabular_baseline=false")


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    """(status, JSON answer) of a POST; error statuses are answers too."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few hundred bytes whose header claims ``width`` x ``height`` grey pixels (what
    a decompression bomb looks like to a reader before it decodes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


@functools.cache
def digit_images() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().images


def digit_png(datamodule, index: int) -> bytes:
    """Item ``index`` of the digits as the 8-bit PNG a user would send."""
    image = digit_images()[index]
    return png_bytes(np.clip(np.round(image * 255.0 / 16.0), 0, 255).astype(np.uint8))


def expected_row(task, datamodule, body: bytes) -> dict:
    with torch.no_grad():
        x = datamodule.read_input(io.BytesIO(body))
        return task.report().prediction_row(task(x[None]).float()[0])


# ---- the API key ---------------------------------------------------------------------------------
@pytest.mark.task("classification")
def test_an_api_key_is_asked_on_every_request(digits):
    task, datamodule, _ = digits
    body = digit_png(datamodule, datamodule.indices["test"][0])
    with serving(task, datamodule, api_key="s3cret") as url:
        assert post(f"{url}/predict", body)[0] == 401
        status, answer = post(f"{url}/predict", body, {"X-API-Key": "wrong"})
        assert status == 401 and "X-API-Key" in answer["detail"]
        assert get(f"{url}/health")[0] == 401
        assert get(f"{url}/health", {"X-API-Key": "s3cret"})[0] == 200
        status, answer = post(f"{url}/predict", body, {"X-API-Key": "s3cret"})
        assert status == 200 and answer == pytest.approx(expected_row(task, datamodule, body))
        status, _ = post(f"{url}/predict", body, {"Authorization": "Bearer s3cret"})
        assert status == 200


@pytest.mark.task("classification")
def test_a_key_of_digits_works_as_given_on_the_command_line(digits):
    task, datamodule, _ = digits
    assert serve_config("api_key=12345").api_key == 12345  # Hydra reads it as a number
    body = digit_png(datamodule, datamodule.indices["test"][0])
    with serving(task, datamodule, api_key=12345) as url:
        assert post(f"{url}/predict", body)[0] == 401
        assert post(f"{url}/predict", body, {"X-API-Key": "12345"})[0] == 200


def serve_config(*overrides: str):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("serve", overrides=list(overrides))


def test_the_api_key_comes_from_the_environment_and_open_hosts_are_warned_about(monkeypatch):
    from {{ cookiecutter.package_name }}.analysis.serve import exposed_without_key

    def api_key(*overrides: str) -> str | None:
        return serve_config("ckpt_path=x", *overrides).api_key

    monkeypatch.delenv("SERVE_API_KEY", raising=False)
    assert api_key() is None
    monkeypatch.setenv("SERVE_API_KEY", "from-env")
    assert api_key() == "from-env" and api_key("api_key=given") == "given"
    assert exposed_without_key("0.0.0.0", None) and exposed_without_key("192.168.1.5", None)
    assert not exposed_without_key("0.0.0.0", "key")
    assert not exposed_without_key("127.0.0.1", None) and not exposed_without_key("localhost", None)


# ---- what cannot be served: 4xx, one line --------------------------------------------------------
@pytest.mark.task("classification")
def test_oversized_bodies_get_413_whether_their_length_is_declared_or_not(digits):
    task, datamodule, _ = digits
    with serving(task, datamodule, max_request_bytes=1000) as url:
        status, answer = post(f"{url}/predict", b"x" * 1001)
        assert status == 413 and "limit of 1,000 bytes" in answer["detail"]
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request(
            "POST", "/predict", body=iter([b"y" * 600, b"y" * 600]), encode_chunked=True
        )  # no Content-Length: counted as it arrives
        answer = connection.getresponse()
        assert answer.status == 413 and "limit" in json.loads(answer.read())["detail"]
        connection.close()
        small = digit_png(datamodule, 0)
        assert len(small) < 1000 and post(f"{url}/predict", small)[0] == 200


@pytest.mark.task("classification")
def test_images_over_the_pixel_limit_and_unreadable_bodies_get_4xx(digits):
    task, datamodule, _ = digits
    with serving(task, datamodule) as url:  # the default limit: 24 Mpx
        for width, height in ((15000, 15000), (9000, 9000)):  # PIL alone: 500, then 2 s a request
            bomb = png_claiming(width, height)
            assert len(bomb) < 1000
            status, answer = post(f"{url}/predict", bomb)
            assert status == 413, answer
            assert f"{width * height:,} pixels" in answer["detail"]
            assert "max_pixels=24,000,000" in answer["detail"]
        for body in (b"not an image", png_claiming(64, 64)[:60], digit_png(datamodule, 1)[:-30]):
            status, answer = post(f"{url}/predict", body)
            assert status == 422 and answer["detail"].startswith("not a readable image")
            assert "\n" not in answer["detail"] and "BytesIO" not in answer["detail"]
        status, answer = post(f"{url}/predict", b'{"a": 1}', {"Content-Type": "application/json"})
        assert status == 415 and "send the file's bytes" in answer["detail"]
    with serving(task, datamodule, max_pixels=32) as url:
        status, answer = post(f"{url}/predict", png_bytes(np.zeros((6, 6), np.uint8)))
        assert status == 413 and "36 pixels" in answer["detail"]


@pytest.mark.task("tabular")
def test_deeply_nested_json_gets_422(table):
    task, datamodule, _ = table
    deep = b"[" * 100_000 + b"]" * 100_000
    with serving(task, datamodule) as url:
        for headers in ({"Content-Type": "application/json"}, {}):
            status, answer = post(f"{url}/predict", deep, headers)
            assert status == 422 and "\n" not in answer["detail"], answer


# ---- load ----------------------------------------------------------------------------------------
@pytest.mark.task("classification")
def test_200_requests_20_at_a_time_all_answered_right(digits):
    task, datamodule, _ = digits
    indices = [datamodule.indices["test"][i % len(datamodule.indices["test"])] for i in range(200)]
    bodies = [digit_png(datamodule, i) for i in indices]
    expected = [expected_row(task, datamodule, body) for body in bodies]
    with serving(task, datamodule, api_key="k") as url, ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(lambda body: post(f"{url}/predict", body, {"X-API-Key": "k"}), bodies)
        )
    assert [status for status, _ in answers] == [200] * 200
    for (_, answer), want in zip(answers, expected, strict=True):
        assert answer["label"] == want["label"]
        assert answer["probability"] == pytest.approx(want["probability"], abs=1e-5)


@pytest.mark.task("classification")
def test_health_answers_while_a_slow_prediction_runs(digits, monkeypatch):
    import threading

    task, datamodule, _ = digits
    entered, release = threading.Event(), threading.Event()
    forward = task.forward

    def slow_forward(x):
        entered.set()
        release.wait(20)
        return forward(x)

    monkeypatch.setattr(task, "forward", slow_forward)
    body = digit_png(datamodule, datamodule.indices["test"][0])
    with serving(task, datamodule) as url, ThreadPoolExecutor(1) as pool:
        answer = pool.submit(post, f"{url}/predict", body)
        try:
            assert entered.wait(20)
            with urllib.request.urlopen(f"{url}/health", timeout=5) as health:
                assert health.status == 200 and not answer.done()
        finally:
            release.set()
        assert answer.result()[0] == 200


# ---- tables: a JSON row --------------------------------------------------------------------------
@pytest.mark.task("tabular")
def test_a_table_row_is_served_as_json_like_a_predicted_csv_row(table, tmp_path):
    task, datamodule, _ = table
    state = datamodule.input.state_dict()
    columns = [*state["cat_names"], *state["cont_names"]]
    index = datamodule.indices["test"][0]
    values = datamodule.frame.iloc[index]
    row = {c: values[c].item() if hasattr(values[c], "item") else values[c] for c in columns}
    with torch.no_grad():
        want = task.report().prediction_row(task(datamodule.loaded.inputs[index][None]).float()[0])
    json_body = {"Content-Type": "application/json"}
    with serving(task, datamodule) as url:
        status, answer = post(f"{url}/predict", json.dumps(row).encode(), json_body)
        assert status == 200 and answer["label"] == want["label"]
        assert answer["probability"] == pytest.approx(want["probability"], abs=1e-4)
        status, answers = post(f"{url}/predict", json.dumps([row, row]).encode(), json_body)
        assert status == 200 and answers == [answer, answer]
        for bad in (b"{not json", b"[]", b"[1, 2]"):
            status, error = post(f"{url}/predict", bad, json_body)
            assert status == 422 and "\n" not in error["detail"]
        column = state["cont_names"][0]
        for value in ([1.0], {"a": 1}):  # a cell is one value
            bad = json.dumps({**row, column: value}).encode()
            status, error = post(f"{url}/predict", bad, json_body)
            assert status == 422 and f"column(s) {column}: a cell is one value" in error["detail"]
        status, error = post(f"{url}/predict", b"\x89PNG...")
        assert status == 422  # a table reads rows, not files
        status, error = post(f"{url}/predict", json.dumps(row).encode())  # no JSON header
        assert status == 422 and "need Content-Type: application/json" in error["detail"]


@pytest.mark.task("text")
def test_text_rows_are_served_and_rows_without_the_text_column_get_422(tmp_path_factory):
    task, datamodule, _ = train_quickly(tmp_path_factory, "task=text", "model=text_bow")
    json_body = {"Content-Type": "application/json"}
    column = datamodule.input.text_column
    good, bad, empty = {column: "a fine film"}, {"words": "a fine film"}, {column: " "}
    with serving(task, datamodule) as url:
        status, answer = post(f"{url}/predict", json.dumps(good).encode(), json_body)
        assert status == 200 and "label" in answer
        status, error = post(f"{url}/predict", json.dumps([good, bad]).encode(), json_body)
        assert status == 422
        example = json.dumps({column: "<the text>"})
        assert error["detail"] == (
            f"rows not readable: row(s) [2] have no '{column}' field (sent: ['{column}', 'words']):"
            f" send {example} per row"
        )  # the client's rows, not the server's temporary file or a training option
        status, error = post(f"{url}/predict", json.dumps([good, empty]).encode(), json_body)
    assert (status, error["detail"]) == (422, "1 of 2 row(s) not readable: row 2: empty text")


@pytest.mark.task("tabular")
def test_a_number_column_takes_numbers_not_booleans_or_text(table):
    """A JSON true/false or a text sent for a number column is a 422 naming the column, what it
    expects and what it got (it was read as 1/0, or as missing); a number written as text
    ("3.5") reads as that number, and null stays a missing value."""
    task, datamodule, _ = table
    state = datamodule.input.state_dict()
    values = datamodule.frame.iloc[datamodule.indices["test"][0]]
    row = {c: values[c].item() for c in [*state["cat_names"], *state["cont_names"]]}
    column = state["cont_names"][0]
    json_body = {"Content-Type": "application/json"}
    with serving(task, datamodule) as url:

        def answer(value, rows: int = 1):
            sent = [{**row, column: value}] * rows
            body = json.dumps(sent if rows > 1 else sent[0]).encode()
            return post(f"{url}/predict", body, json_body)

        for value in (True, False, "abc", "NA", "", float("inf")):
            status, error = answer(value)
            detail = error["detail"]
            assert status == 422 and "\n" not in detail, (value, error)
            expected = f"column '{column}' expects a number (null when missing), got "
            assert expected + json.dumps(value) in detail, detail
        assert "send 1 or 0" in answer(True)[1]["detail"]
        assert "in row 0" in answer(False, rows=2)[1]["detail"]
        assert answer("3.5") == answer(3.5) and answer(3.5)[0] == 200
        assert answer(None)[0] == 200


@pytest.mark.task("tabular")
def test_rows_that_cannot_be_read_are_refused_not_answered_out_of_line(table, monkeypatch):
    """An input that leaves a row out (a text input: an empty text) would make the answers one
    fewer than the rows sent, each after the first gap answering the wrong row: 422 instead."""
    task, datamodule, _ = table
    state = datamodule.input.state_dict()
    values = datamodule.frame.iloc[datamodule.indices["test"][0]]
    row = {c: values[c].item() for c in [*state["cat_names"], *state["cont_names"]]}
    read_items = datamodule.read_items

    def leaving_out_the_first(source, column=None):
        names, inputs, notes = read_items(source, column)
        return names[1:], inputs[1:], {**notes, "left_out": ["rows.csv line 2: empty text"]}

    monkeypatch.setattr(datamodule, "read_items", leaving_out_the_first)
    with serving(task, datamodule) as url:
        body = json.dumps([row, row]).encode()
        status, error = post(f"{url}/predict", body, {"Content-Type": "application/json"})
    assert status == 422, error
    assert error["detail"] == "1 of 2 row(s) not readable: rows.csv line 2: empty text"


@pytest.mark.task("tabular")
def test_a_table_checkpoint_names_the_data_settings_it_takes(table):
    _, _, folder = table
    with pytest.raises(ConfigError) as error:
        load_trained(folder, {"root": "images/"})
    message = str(error.value)
    assert message.startswith("data.root: this checkpoint's data (TabularDataModule)")
    assert "path" in message and "batch_size" in message and "\n" not in message
    _, datamodule = load_trained(folder, {"batch_size": 7})  # a setting it has still applies
    assert datamodule.batch_size == 7


@pytest.mark.task("classification")
def test_a_busy_port_is_one_line(digits, tmp_path):
    import socket

    from {{ cookiecutter.package_name }}.analysis.serve import run

    _, _, folder = digits
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = serve_config(f"ckpt_path={folder}", f"port={port}", "api_key=null")
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port} .*port="):
            run(cfg)


# ---- predict.py ----------------------------------------------------------------------------------
@pytest.mark.task("classification")
def test_predict_fails_in_one_line_and_writes_nothing_when_nothing_is_readable(digits, tmp_path):
    from {{ cookiecutter.package_name }}.analysis.predict_files import run

    _, _, folder = digits
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    (tmp_path / "bomb.png").write_bytes(png_claiming(15000, 15000))
    out = tmp_path / "predict"
    for inputs, reason in (("broken.png", "cannot identify"), ("bomb.png", "max_pixels")):
        cfg = compose_config("predict", [f"ckpt_path={folder}", f"inputs={tmp_path / inputs}"], out)
        with pytest.raises(ConfigError, match=f"nothing predicted: .*{reason}") as error:
            run(cfg)
        assert "\n" not in str(error.value)
        assert not out.exists()


@pytest.mark.parametrize("script", ["predict.py", "export.py"])
@pytest.mark.task("classification")
def test_a_command_reads_its_checkpoint_once_before_loading_it(
    digits, tmp_path, monkeypatch, script
):
    """The command checks the checkpoint once (in run()) and loads it once: two reads in all."""
    import runpy
    import sys

    from {{ cookiecutter.package_name }}.training import checkpoints

    _, datamodule, folder = digits
    (tmp_path / "in.png").write_bytes(digit_png(datamodule, 0))
    reads, read = [], checkpoints.read_checkpoint

    def counted(*args, **kwargs):
        reads.append(args)
        return read(*args, **kwargs)

    monkeypatch.setattr(checkpoints, "read_checkpoint", counted)
    inputs = [f"inputs={tmp_path / 'in.png'}"] if script == "predict.py" else ["onnx=false"]
    monkeypatch.setattr(
        sys, "argv", [script, f"ckpt_path={folder}", *inputs, f"hydra.run.dir={tmp_path / 'out'}"]
    )
    runpy.run_path(str(PROJECT / script), run_name="__main__")
    assert len(reads) == 2, reads


# ---- export --------------------------------------------------------------------------------------
@pytest.mark.task("classification")
def test_export_refuses_an_opset_it_cannot_write_and_names_the_one_written(
    digits, tmp_path, capsys
):
    pytest.importorskip("onnxruntime")
    from {{ cookiecutter.package_name }}.analysis.export import run

    _, _, folder = digits
    for opset in (1, 17, 99):
        cfg = compose_config("export", [f"ckpt_path={folder}", f"opset={opset}"], tmp_path / "x")
        with pytest.raises(ConfigError, match=f"opset={opset}: choose opset= from 18 to 23"):
            run(cfg)
    assert not (tmp_path / "x").exists()
    cfg = compose_config("export", [f"ckpt_path={folder}", "opset=18"], tmp_path / "export")
    result = run(cfg)
    assert result["model.onnx"]["opset"] == 18
    assert "model.onnx (opset 18): matches PyTorch" in capsys.readouterr().out
    info = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    assert info["files"]["model.onnx"]["opset"] == 18


# ---- typed answers per task ----------------------------------------------------------------------
@pytest.mark.task("regression")
def test_regression_answers_numbers_at_full_precision(tmp_path_factory, tmp_path):
    from {{ cookiecutter.package_name }}.analysis.predict_files import run

    task, datamodule, folder = train_quickly(tmp_path_factory, "task=regression")
    index = datamodule.indices["test"][0]
    body = digit_png(datamodule, index)
    with torch.no_grad():
        value = float(task.task.decode(task(datamodule.read_input(io.BytesIO(body))[None]))[0, 0])
    with serving(task, datamodule) as url:
        status, answer = post(f"{url}/predict", body)
    assert status == 200 and list(answer) == ["prediction"]
    assert isinstance(answer["prediction"], float)
    assert answer["prediction"] == pytest.approx(value, rel=1e-7)
    (tmp_path / "x.png").write_bytes(body)
    cfg = compose_config(
        "predict", [f"ckpt_path={folder}", f"inputs={tmp_path / 'x.png'}"], tmp_path / "out"
    )
    with open(run(cfg)["predictions"], newline="") as file:
        written = next(csv.DictReader(file))["prediction"]
    assert float(written) == answer["prediction"]
    assert len(written.lstrip("-").replace(".", "").lstrip("0")) > 4  # not 4 significant digits


@pytest.mark.task("multilabel")
def test_multilabel_answers_every_label_s_probability(tmp_path_factory):
    task, datamodule, _ = train_quickly(tmp_path_factory, "task=multilabel")
    body = digit_png(datamodule, datamodule.indices["test"][0])
    with torch.no_grad():
        probs = task(datamodule.read_input(io.BytesIO(body))[None]).float().sigmoid()[0]
    with serving(task, datamodule) as url:
        status, answer = post(f"{url}/predict", body)
    assert status == 200
    names = task.task.label_names
    assert list(answer) == ["labels", *(f"p_{n}" for n in names)]
    got = torch.tensor([answer[f"p_{n}"] for n in names])
    assert torch.allclose(got, probs, atol=1e-5)
    chosen = [n for n, p in zip(names, probs.tolist(), strict=True) if p > task.task.threshold]
    assert answer["labels"] == (" ".join(chosen) or "-")


@pytest.mark.task("segmentation")
def test_segmentation_answers_the_mask(tmp_path_factory, tmp_path):
    from {{ cookiecutter.package_name }}.analysis.predict_files import predict_files

    task, datamodule, _ = train_quickly(tmp_path_factory, "task=segmentation")
    channels, height, width = datamodule.loaded.inputs.shape[1:]
    pixels = np.random.default_rng(0).integers(0, 255, (height, width), dtype=np.uint8)
    body = png_bytes(pixels if channels == 1 else np.stack([pixels] * 3, axis=-1))
    with torch.no_grad():
        mask = task(datamodule.read_input(io.BytesIO(body))[None]).argmax(dim=1)[0]
    with serving(task, datamodule) as url:
        status, answer = post(f"{url}/predict", body)
    assert status == 200
    rle = answer["mask"]
    decoded = np.repeat(rle["values"], rle["counts"]).reshape(rle["shape"])
    np.testing.assert_array_equal(decoded, mask.numpy())
    assert rle["class_names"] == task.task.class_names
    assert answer["classes"] == task.report().describe_item(mask)
    files = [tmp_path / "a" / "in.png", tmp_path / "b" / "in.png"]  # one name, two folders
    for file, content in zip(files, (body, png_bytes(255 - pixels)), strict=True):
        file.parent.mkdir()
        file.write_bytes(content)
    result = predict_files(task, datamodule, files, tmp_path / "out")
    with open(result["predictions"], newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows[0]["mask"] != rows[1]["mask"]  # neither overwrites the other
    np.testing.assert_array_equal(np.asarray(Image.open(rows[0]["mask"])), mask.numpy())


# ---- the commands --------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.task("classification")
def test_the_commands_say_what_they_do_and_fail_in_one_line(digits, tmp_path):
    import socket
    import subprocess
    import sys

    from conftest import PROJECT

    _, _, folder = digits
    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "serve.py", f"ckpt_path={folder}", "host=0.0.0.0", f"port={port}"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SERVE_API_KEY": ""},
    )
    try:
        ready = server.stdout.readline()  # (blocks until the server listens, or exits)
        assert ready.startswith("serving classification from "), ready
        assert ready.rstrip().endswith(f"on http://0.0.0.0:{port} (POST /predict, GET /health)")
        assert get(f"http://127.0.0.1:{port}/health")[0] == 200
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "warning: host=0.0.0.0 serves every machine" in errors and "SERVE_API_KEY" in errors

    def command(script: str, *overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, script, f"ckpt_path={folder}", *overrides],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    (tmp_path / "broken.png").write_bytes(b"not an image")
    predicted = command(
        "predict.py", f"inputs={tmp_path / 'broken.png'}", f"hydra.run.dir={tmp_path / 'p'}"
    )
    assert predicted.returncode == 2 and "Traceback" not in predicted.stderr
    assert predicted.stderr.strip().splitlines()[-1].startswith("error: nothing predicted")
    assert not (tmp_path / "p" / "predictions.csv").exists()
    exported = command("export.py", "opset=1", f"hydra.run.dir={tmp_path / 'e'}")
    assert exported.returncode == 2 and "Traceback" not in exported.stderr
    assert "error: opset=1: choose opset= from 18 to 23" in exported.stderr
    assert "matches PyTorch" not in exported.stdout


# ---- ratings: user-item pairs --------------------------------------------------------------------
@pytest.mark.task("collab")
def test_ratings_pairs_are_predicted_from_a_csv_and_served_as_json(tmp_path_factory, tmp_path):
    from {{ cookiecutter.package_name }}.analysis.predict_files import run

    task, datamodule, folder = train_quickly(tmp_path_factory, "task=collab")
    index = datamodule.indices["test"][0]
    user, item = datamodule.raw_users[index], datamodule.raw_items[index]
    with torch.no_grad():
        want = float(task.task.decode(task(datamodule.loaded.inputs[index][None]))[0, 0])
    (tmp_path / "pairs.csv").write_text(f"user,item\n{user},{item}\nnobody,nothing\n")
    cfg = compose_config(
        "predict", [f"ckpt_path={folder}", f"inputs={tmp_path / 'pairs.csv'}"], tmp_path / "out"
    )
    result = run(cfg)
    assert result["predicted"] == 2
    with open(result["predictions"], newline="") as file:
        rows = list(csv.DictReader(file))
    assert float(rows[0]["prediction"]) == pytest.approx(want, rel=1e-6)
    with serving(task, datamodule) as url:
        status, answer = post(
            f"{url}/predict",
            json.dumps({"user": user, "item": item}).encode(),
            {"Content-Type": "application/json"},
        )
    assert status == 200 and answer["prediction"] == pytest.approx(want, rel=1e-6)
