"""Export a trained checkpoint for use outside this project: ``python export.py ckpt_path=...``.

Writes ``model.onnx`` (ONNX, dynamic batch axis; texts: also their length), ``model.pt2``
(``torch.export``; load with ``torch.export.load(path).module()``) and ``preprocessing.json``
(input shape, normalization, target names, the task and how to decode its outputs). Each model
file is compared with the PyTorch model on a real batch of the checkpoint's data, and on smaller
parts of it (fewer items; shorter texts), before it is reported as written; a file that disagrees
is deleted.
Needs the ``[export]`` extra (onnx, onnxscript, onnxruntime) for the ONNX file.
"""

import json
import logging
from pathlib import Path

import torch
from torch import nn

# the ONNX opsets torch's exporter writes itself (torch.onnx's own operators start at 18); a lower
# one needs a version conversion that fails for common layers (a Linear's Gemm) and then keeps 18
ONNX_OPSETS = range(18, 24)


class ExportError(RuntimeError):
    """An exported model does not give the PyTorch model's outputs."""

    user_error = True


class _Forward(nn.Module):
    """The task's forward pass alone (no trainer, no metrics): what gets exported."""

    def __init__(self, task) -> None:
        super().__init__()
        self.task = task

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.task(x)


def real_batch(datamodule, size: int = 8) -> torch.Tensor:
    """Up to ``size`` evaluation inputs of the checkpoint's data (validation split)."""
    x, _ = next(iter(datamodule.eval_dataloaders(["val"])[0]))
    if len(x) < 2:
        raise ExportError(
            "the validation split has fewer than 2 items: a dynamic batch axis "
            "needs an example batch of at least 2"
        )
    x = x[:size]
    return x if not x.is_floating_point() else x.float()  # (token ids stay integers)


def _check(
    name: str, run, x: torch.Tensor, expected: torch.Tensor, path: Path, atol: float, rtol: float
) -> float:
    """Largest difference to ``expected`` on ``x`` and on its first 3 items (another batch
    size); deletes ``path`` and raises when outside the tolerance."""
    worst = 0.0
    for count in (len(x), min(3, len(x) - 1)):
        got = torch.as_tensor(run(x[:count]))
        want = expected[:count]
        if got.shape != want.shape or not torch.allclose(got, want, atol=atol, rtol=rtol):
            path.unlink(missing_ok=True)
            diff = (got - want).abs().max() if got.shape == want.shape else "shape"
            raise ExportError(
                f"{name} disagrees with the PyTorch model on a batch of {count} "
                f"(max difference {diff}, tolerance atol={atol} rtol={rtol}): "
                f"{path.name} not written"
            )
        worst = max(worst, float((got - want).abs().max()))
    return worst


def export(
    task,
    datamodule,
    folder: Path,
    onnx: bool = True,
    atol: float = 1e-4,
    rtol: float = 1e-4,
    opset: int | None = None,
) -> dict:
    """The checked files in ``folder`` and what was measured (max differences, tolerances)."""
    folder.mkdir(parents=True, exist_ok=True)
    task = task.cpu().eval()
    module = _Forward(task).eval()
    x = real_batch(datamodule)
    # the axes that vary: the batch, and e.g. a text's length (token ids of any length)
    axes = datamodule.input.dynamic_axes
    dims = {axis: torch.export.Dim(name, min=1) for axis, name in axes.items()}
    examples = [x, *(x.narrow(axis, 0, max(1, x.shape[axis] // 2)) for axis in axes if axis)]
    with torch.no_grad():
        expected = [module(e).float() for e in examples]
    program = torch.export.export(module, (x,), dynamic_shapes=(dims,))
    result = {"tolerance": {"atol": atol, "rtol": rtol}, "example_batch": len(x)}

    def check(name: str, run, path: Path) -> float:  # every example: batch sizes, lengths
        return max(
            _check(name, run, e, want, path, atol, rtol)
            for e, want in zip(examples, expected, strict=True)
        )

    pt2 = folder / "model.pt2"
    torch.export.save(program, pt2)
    loaded = torch.export.load(pt2).module()
    with torch.no_grad():
        result["model.pt2"] = {
            "max_difference": check("the torch.export program", lambda b: loaded(b).float(), pt2)
        }

    if onnx:
        import onnxruntime  # (the [export] extra)

        path = folder / "model.onnx"
        for name in ("onnxscript", "onnx_ir"):  # their optimizer reports each pass at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        torch.onnx.export(
            program,
            (x,),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamo=True,
            external_data=False,
            opset_version=opset,
            verbose=False,
        )
        written = written_opset(path)
        if opset is not None and written != opset:
            path.unlink(missing_ok=True)
            raise ExportError(
                f"opset={opset}: the ONNX exporter could not write it (it wrote opset {written})"
                f": model.onnx not written; {opset_advice()}"
            )
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        result["model.onnx"] = {
            "max_difference": check(
                "the ONNX model (onnxruntime)",
                lambda b: session.run(None, {"input": b.numpy()})[0],
                path,
            ),
            "opset": written,
            "input": "input",
            "output": "output",
            "dynamic_axes": {"input": sorted(axes), "output": [0]},
        }

    info = {
        "input": datamodule.preprocessing(),
        **task.export_info(),
        "files": {k: v for k, v in result.items() if k.startswith("model.")},
        "tolerance": result["tolerance"],
    }
    (folder / "preprocessing.json").write_text(json.dumps(info, indent=2, default=str))
    result["preprocessing.json"] = str(folder / "preprocessing.json")
    return result


def written_opset(path: Path) -> int:
    """The default-domain opset a written ONNX file declares."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def opset_advice() -> str:
    return (
        f"choose opset= from {ONNX_OPSETS[0]} to {ONNX_OPSETS[-1]}, or opset=null (the "
        "exporter's default)"
    )


def run(cfg) -> dict:
    """export.py's job."""
    from omegaconf import OmegaConf

    from ..training.checkpoints import trained_checkpoint
    from ..training.validate import ConfigError
    from .predict import load_trained

    opset = cfg.get("opset")
    if opset is not None and (isinstance(opset, bool) or opset not in ONNX_OPSETS):
        raise ConfigError(f"opset={opset}: {opset_advice()}")

    task, datamodule = load_trained(
        trained_checkpoint(cfg.ckpt_path), OmegaConf.to_container(cfg.data)
    )
    result = export(
        task,
        datamodule,
        Path(cfg.paths.output_dir),
        onnx=cfg.onnx,
        atol=cfg.atol,
        rtol=cfg.rtol,
        opset=opset,
    )
    for name in ("model.pt2", "model.onnx"):
        if name in result:
            what = f"{name} (opset {result[name]['opset']})" if "opset" in result[name] else name
            print(
                f"{what}: matches PyTorch (max difference {result[name]['max_difference']:.2e},"
                f" atol {cfg.atol}, rtol {cfg.rtol}) -> {Path(cfg.paths.output_dir) / name}"
            )
    print(f"preprocessing -> {result['preprocessing.json']}")
    return result
