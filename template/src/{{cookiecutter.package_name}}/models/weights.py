"""``model.weights=<file>``: start a backbone from local weights, no network involved.

Accepted files: a plain state dict (``torch.save(model.state_dict())``, ``.pt``/``.pth``/``.bin``),
a ``.safetensors`` file, or a checkpoint of this project (``best.ckpt``, e.g. from a pretraining
run: that is how the transfer demo hands a backbone to the next task). Only the backbone is loaded:
the head is always new, sized for the current classes, so a file with another number of classes
(or any classifier) just loses its head. When the file has 3 input channels and the model fewer
(grey images), the first convolution's kernels are summed over channels, as timm does.
"""

from pathlib import Path

import torch
from torch import nn

# key prefixes under which a file may hold the backbone's own keys
_PREFIXES = ("", "backbone.", "model.backbone.", "module.", "module.backbone.", "model.")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"model.weights={path}: no such file. Give the path of a state "
            "dict (.pt/.pth/.bin), a .safetensors file or a .ckpt of this "
            "project, or set model.weights=null"
        )
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as error:
            raise ImportError(f"model.weights={path} needs `pip install safetensors`") from error

        state = load_file(str(path), device="cpu")
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict"):  # Lightning / common training checkpoints
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"model.weights={path} does not hold a state dict")
    from ..training.speed import strip_compile_prefix

    return strip_compile_prefix({k: v for k, v in state.items() if isinstance(v, torch.Tensor)})


def load_backbone_weights(backbone: nn.Module, path: str | Path) -> dict:
    """Copy the tensors of ``path`` that fit ``backbone``; returns what was loaded and skipped."""
    state = read_state_dict(path)
    target = backbone.state_dict()
    prefix = max(_PREFIXES, key=lambda p: sum(p + k in state for k in target))
    loaded, adapted, mismatched = {}, [], []
    for key, current in target.items():
        value = state.get(prefix + key)
        if value is None:
            continue
        if value.shape != current.shape and _is_input_conv(value, current):
            value = _adapt_input_channels(value, current.shape[1])
            adapted.append(key)
        if value.shape != current.shape:
            mismatched.append(key)
            continue
        loaded[key] = value.to(current.dtype)
    needed = [k for k in target if not k.endswith("num_batches_tracked")]
    found = [k for k in needed if k in loaded]
    if len(found) < max(1, len(needed) // 2):
        raise ValueError(
            f"model.weights={path} fits only {len(found)} of the backbone's {len(needed)} tensors "
            f"(mismatched shapes: {mismatched[:5]}): is it a file for this model and model.name? "
            "Set model.weights=null to start from scratch"
        )
    backbone.load_state_dict(loaded, strict=False)
    return {
        "path": str(path),
        "loaded": len(found),
        "total": len(needed),
        "adapted_channels": adapted,
        "skipped": [k for k in needed if k not in loaded],
    }


def _is_input_conv(value: torch.Tensor, current: torch.Tensor) -> bool:
    return (
        value.dim() == 4
        and value.shape[0] == current.shape[0]
        and value.shape[2:] == current.shape[2:]
    )


def _adapt_input_channels(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """RGB kernels for ``channels`` inputs: summed for grey images, else tiled and rescaled."""
    if channels == 1:
        return weight.sum(dim=1, keepdim=True)
    repeats = -(-channels // weight.shape[1])
    tiled = weight.repeat(1, repeats, 1, 1)[:, :channels]
    return tiled * (weight.shape[1] / channels)
