"""Serve a trained checkpoint over HTTP: ``python serve.py ckpt_path=...`` (the ``[serve]`` extra).

``POST /predict`` answers the task's prediction columns as JSON (the same as a row of predict.py's
CSV). The body is one input as a file's bytes (an image; UTF-8 text for text models), read with
the checkpoint's own preprocessing (``DataModule.read_input``), or, sent as
``Content-Type: application/json``, one row (a JSON object: a table's columns, a user-item pair)
or a list of rows, read as the rows of a CSV given to predict.py (``DataModule.read_items``).
``GET /health`` says what is served.

Every answer to a request that cannot be served is a 4xx with a one-line ``detail``: 401 without
the API key (when one is set), 413 for a body over ``max_request_mb`` or an image over
``max_pixels``, 415 for JSON rows to a model that reads files, 422 for a body that is not a
readable input.
"""

import csv
import hmac
import io
import ipaddress
import json
import sys
import tempfile
from pathlib import Path

# (the [serve] extra) FastAPI reads the handlers' annotations: these names are module-level
import torch
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..inputs.base import JsonRows
from .predict_files import MAX_PIXELS, InputTooLarge, UnreadableInput, read_one, set_pixel_limit


def create_app(
    task,
    datamodule,
    api_key: str | None = None,
    max_request_bytes: int = 10 * 2**20,
    max_pixels: int = MAX_PIXELS,
) -> FastAPI:
    """The app: ``api_key`` (None: no key) is checked on every request, in constant time.
    Inputs are read and predicted in a thread pool: requests overlap, /health always answers."""
    task = task.eval()
    set_pixel_limit(max_pixels)
    info = task.export_info()
    app = FastAPI(title="model", description="POST one input to /predict")
    kind = datamodule.input.item_name
    # (str: a key of digits comes from the command line as a number)
    expected_key = str(api_key).encode() if api_key is not None and api_key != "" else None

    @app.middleware("http")
    async def require_key(request: Request, call_next):
        if expected_key is not None and not hmac.compare_digest(
            _given_key(request).encode(), expected_key
        ):
            return JSONResponse(
                {"detail": "missing or wrong API key: send it as the X-API-Key header"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await call_next(request)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "task": info["task"], "target_names": info["target_names"]}

    @app.post("/predict")
    async def predict(request: Request):
        body = await _read_body(request, max_request_bytes)
        if not body:
            raise HTTPException(400, f"empty request body: send the {kind} file's bytes")
        if request.headers.get("content-type", "").startswith("application/json"):
            rows = _json_rows(body)
            return await run_in_threadpool(_predict_rows, task, datamodule, rows, kind)
        return await run_in_threadpool(_predict_body, task, datamodule, body, kind, max_pixels)

    return app


@torch.no_grad()
def _predict_body(task, datamodule, body: bytes, kind: str, max_pixels: int) -> dict:
    """One input sent as a file's bytes: read as predict.py reads a file, and predicted."""
    stream = io.BytesIO(body)
    try:
        x = read_one(datamodule, stream, max_pixels)
    except InputTooLarge as error:
        raise HTTPException(413, f"not a readable {kind}: {error}") from None
    except UnreadableInput as error:
        hint = " (JSON rows need Content-Type: application/json)" if _is_json(body) else ""
        reason = str(error).replace(repr(stream), "the request body")  # (PIL names its stream)
        raise HTTPException(422, f"not a readable {kind}: {reason}{hint}") from None
    output = task(x[None].to(next(task.parameters()).device)).float().cpu()[0]
    return task.report().prediction_row(output)


def _given_key(request) -> str:
    """The key a client sent: ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``."""
    key = request.headers.get("x-api-key")
    if key is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = token if scheme.lower() == "bearer" else ""
    return key


async def _read_body(request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` bytes (from its declared
    length, else while it arrives): an oversized upload is never held in memory."""
    too_large = HTTPException(
        413, f"request body over the limit of {limit:,} bytes (max_request_mb in serve.yaml)"
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _is_json(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), (dict, list))
    except (ValueError, RecursionError):
        return False


def _json_rows(body: bytes) -> list[dict] | dict:
    """A JSON object (one row) or a list of them; 422 otherwise."""
    try:
        rows = json.loads(body)
    except ValueError as error:
        raise HTTPException(422, f"not valid JSON: {error}") from None
    except RecursionError:  # e.g. [[[[...: deeper than Python's parser goes
        raise HTTPException(422, "not valid JSON: nested too deeply") from None
    many = isinstance(rows, list)
    if not all(isinstance(row, dict) and row for row in (rows if many else [rows])) or rows == []:
        raise HTTPException(
            422, 'send one row as a JSON object ({"column": value, ...}) or a list of them'
        )
    # a cell is one value (a list or an object was read as its text)
    bad = sorted(
        {
            column
            for row in (rows if many else [rows])
            for column, value in row.items()
            if isinstance(value, list | dict)
        }
    )
    if bad:
        raise HTTPException(
            422,
            f"column(s) {', '.join(bad)}: a cell is one value (a number, a text or null), not a "
            "list or an object",
        )
    return rows


@torch.no_grad()
def _predict_rows(task, datamodule, rows: list[dict] | dict, kind: str):
    """JSON rows read exactly as the rows of a CSV file given to predict.py (the same reader and
    preprocessing: ``read_items``); one answer per row."""
    many = isinstance(rows, list)
    rows = rows if many else [rows]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        try:
            items = datamodule.read_items(JsonRows(path, rows))
        except Exception as error:  # the rows' problem (a missing column, a bad value)
            if not getattr(error, "user_error", False):  # (ConfigError, an input's own errors)
                raise
            raise HTTPException(422, f"rows not readable: {error}") from None
    if items is None:
        raise HTTPException(
            415, f"this model reads one {kind} per request: send the file's bytes, not JSON"
        )
    names, inputs, notes = items
    if len(names) < len(rows):  # (one answer per row sent, or the answers would not line up)
        reasons = "; ".join(str(r) for r in notes.get("left_out", [])[:3])
        raise HTTPException(
            422,
            f"{len(rows) - len(names)} of {len(rows)} row(s) not readable"
            + (f": {reasons}" if reasons else ""),
        )
    outputs = task(inputs.to(next(task.parameters()).device)).float().cpu()
    report = task.report()
    answers = [report.prediction_row(output) for output in outputs]
    return answers if many else answers[0]


def exposed_without_key(host: str, api_key: str | None) -> bool:
    """Served beyond this machine (not a loopback address) with no key to ask for."""
    if api_key:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        return host != "localhost"


def run(cfg) -> None:
    """serve.py's job: load the checkpoint, say where it is served, serve until interrupted."""
    import socket

    import uvicorn
    from omegaconf import OmegaConf

    from ..training.checkpoints import trained_checkpoint
    from ..training.validate import ConfigError
    from .predict import load_trained

    if cfg.max_request_mb <= 0 or cfg.max_pixels <= 0:
        raise ConfigError(
            f"max_request_mb={cfg.max_request_mb}, max_pixels={cfg.max_pixels}: both must be > 0"
        )
    ckpt = trained_checkpoint(cfg.ckpt_path)
    # (new items only: the training data need not be on this machine)
    task, datamodule = load_trained(ckpt, OmegaConf.to_container(cfg.data), with_data=False)
    # (serve.yaml reads SERVE_API_KEY when it is not given; a key of digits arrives as a number)
    api_key = str(cfg.api_key) if cfg.api_key not in (None, "") else None
    app = create_app(
        task,
        datamodule,
        api_key=api_key,
        max_request_bytes=int(cfg.max_request_mb * 2**20),
        max_pixels=int(cfg.max_pixels),
    )
    try:  # bound here, so that a busy port is one line, not a uvicorn log
        listener = socket.create_server((cfg.host, cfg.port))
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {cfg.host}:{cfg.port} ({error.strerror or error}): "
            "choose another with port=<number>"
        ) from None
    if exposed_without_key(cfg.host, api_key):
        print(
            f"warning: host={cfg.host} serves every machine that can reach this one, with no "
            "API key: set one with the SERVE_API_KEY environment variable (or api_key=...)",
            file=sys.stderr,
        )
    ready = (
        f"serving {info_name(task)} from {ckpt} on http://{cfg.host}:{listener.getsockname()[1]}"
        f" (POST /predict, GET /health{'; API key required' if api_key else ''})"
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # listening: say so (uvicorn logs only warnings here)
                print(ready, flush=True)

    config = uvicorn.Config(app, log_level="warning")
    Server(config).run(sockets=[listener])


def info_name(task) -> str:
    """The task as the ready line names it: its configured name, else its class."""
    return task.task.name or type(task.task).__name__
