"""Serve a trained checkpoint over HTTP: ``python serve.py ckpt_path=...`` (the ``[serve]`` extra).

``POST /predict`` with an image file's bytes (UTF-8 text for text models) as the request body
answers the task's prediction columns as JSON (the same as a row of predict.py's CSV); ``GET
/health`` says what is served. The input is read with the checkpoint's own preprocessing
(``DataModule.read_input``). A body that is not a readable input gets status 422 and a one-line
``detail``.
"""

from __future__ import annotations

import io

# (the [serve] extra) FastAPI reads the handlers' annotations: these names are module-level
import torch
from fastapi import FastAPI, HTTPException, Request


def create_app(task, datamodule):
    task = task.eval()
    info = task.export_info()
    app = FastAPI(title="model", description="POST image bytes to /predict")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "task": info["task"], "target_names": info["target_names"]}

    kind = datamodule.input_name

    @app.post("/predict")
    async def predict(request: Request) -> dict:
        body = await request.body()
        if not body:
            raise HTTPException(400, f"empty request body: send the {kind} file's bytes")
        try:
            x = datamodule.read_input(io.BytesIO(body))
        except (OSError, ValueError, SyntaxError) as error:  # PIL raises all three
            raise HTTPException(422, f"not a readable {kind}: {error}") from None
        with torch.no_grad():
            output = task(x[None].to(next(task.parameters()).device)).float().cpu()[0]
        return task.prediction_row(output)

    return app


def run(cfg) -> None:
    """serve.py's job: load the checkpoint, serve until interrupted."""
    import uvicorn
    from omegaconf import OmegaConf

    from .predict import load_trained
    from .predict_files import resolve_checkpoint

    task, datamodule = load_trained(
        resolve_checkpoint(cfg.ckpt_path), OmegaConf.to_container(cfg.data)
    )
    uvicorn.run(create_app(task, datamodule), host=cfg.host, port=cfg.port, log_level="warning")
