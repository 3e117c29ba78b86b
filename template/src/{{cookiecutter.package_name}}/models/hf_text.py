"""Any Hugging Face sequence-classification model, by name or folder: the ladder's third rung.

    model=hf_text model.name=distilbert-base-uncased     (the Hugging Face cache)
    model=hf_text model.name=~/models/my-bert            (a save_pretrained folder)

``AutoModelForSequenceClassification`` with a new head for the data's labels; the data set then
tokenizes with the model's own tokenizer (``data.tokenizer`` follows ``model.name``). Layer groups
for fine-tuning: embeddings -> the encoder layers in ``groups`` chunks -> the rest (pooler and
the new classifier), so the transfer feature's ``finetune=fine_tune`` / ``finetune=gradual``
work as for images (ULMFiT's gradual unfreezing is ``finetune=gradual``).

Offline without the files: one clear error within seconds (the hub is told it is offline before
it is imported, as for timm). The checkpoint keeps the model's configuration with the weights:
eval and predict rebuild it without the folder or a download. transformers is imported only when
this model is built.
"""

import itertools
import os
from pathlib import Path

import torch
from torch import nn

from ..inputs.text import TextFacts
from .base import Network
from .registry import register_model


class HubModelError(ValueError):
    """A pretrained text model that cannot be had (one readable line, exit status 2)."""

    user_error = True


def check_available(name: str) -> None:
    """A local folder, or a name whose files are in the Hugging Face cache, or a reachable hub;
    else a clear error now (not a minute of retries)."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file() and not (folder / "tokenizer.json").is_file():
            raise HubModelError(
                f"model.name={name}: the folder holds no config.json / "
                "tokenizer.json (save it with save_pretrained)"
            )
        return
    if name.startswith((".", "/", "~")):
        raise HubModelError(f"model.name={name}: no such folder")
    from .hub import prepare_hf_hub

    prepare_hf_hub()
    if not os.environ.get("HF_HUB_OFFLINE"):
        return
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return
    raise HubModelError(
        f"model.name={name}: not a local folder, not in the Hugging Face cache, and "
        "huggingface.co cannot be reached (offline). Where there is network, save it with "
        "AutoModelForSequenceClassification.from_pretrained(name).save_pretrained(folder) and "
        "AutoTokenizer.from_pretrained(name).save_pretrained(folder), then give "
        "model.name=<folder>; or fill the cache and set HF_HUB_CACHE"
    )


def import_transformers():
    """The library, quiet (its "newly initialized head" warning says what we did on purpose), or
    one clear line when the optional dependency is missing."""
    try:
        import transformers
    except ImportError:
        raise HubModelError(
            "model=hf_text needs the transformers library: pip install -e '.[text]'"
        ) from None
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def hf_data_config(name: str) -> dict:
    """The data set must read token ids of the model's own tokenizer."""
    return {"tokenizer": str(Path(name).expanduser()) if name.startswith("~") else name}


class HubTextNetwork(Network):
    """The library model as the backbone; ``head`` (the last layer group) is its classifier and
    pooler, which stay where the library model keeps them (registered once, under ``backbone``)."""

    def __init__(self, model: nn.Module, groups: list[nn.Module], pad_id: int) -> None:
        super().__init__(model, nn.Identity(), groups[:-1])
        del self._modules["head"]
        self.__dict__["_head"] = groups[-1]  # (not a submodule: its modules are the backbone's)
        self.pad_id = pad_id
        # rebuilding from a checkpoint needs the architecture only, never the files
        self.rebuild_options = {"config": model.config.to_dict()}

    @property
    def head(self) -> nn.Module:
        return self._head

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.backbone(input_ids=ids, attention_mask=(ids != self.pad_id).long()).logits


@register_model("hf_text", data_config=hf_data_config)
def hf_text(
    num_outputs: int,
    facts: TextFacts,
    name: str,
    pretrained: bool = True,
    groups: int = 3,
    config: dict | None = None,
) -> Network:
    """``name``'s pretrained body (or, with ``config``, its architecture) and a new head."""
    if config is None:
        check_available(name)
    transformers = import_transformers()
    AutoConfig, AutoModelForSequenceClassification = (
        transformers.AutoConfig,
        transformers.AutoModelForSequenceClassification,
    )
    path = str(Path(name).expanduser())
    if config is not None:
        model = AutoModelForSequenceClassification.from_config(AutoConfig.for_model(**config))
    elif pretrained:
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_outputs, ignore_mismatched_sizes=True
        )
    else:
        model = AutoModelForSequenceClassification.from_config(
            AutoConfig.from_pretrained(path, num_labels=num_outputs)
        )
    embeddings = model.get_input_embeddings().num_embeddings
    if facts.vocab_size > embeddings:
        raise HubModelError(
            f"model.name={name}: the tokenizer has {facts.vocab_size} tokens but the "
            f"model embeds {embeddings}: data.tokenizer must be the model's"
        )
    return HubTextNetwork(model, layer_groups(model, groups), facts.pad_id)


def layer_groups(model: nn.Module, count: int) -> list[nn.Module]:
    """Embeddings, the encoder layers in ``count`` consecutive chunks, then every other module
    with parameters (pooler, classifier): input -> output."""
    body = model.base_model
    layers = max(
        (m for m in body.modules() if isinstance(m, nn.ModuleList)),
        key=len,
        default=nn.ModuleList(),
    )
    embeddings = getattr(body, "embeddings", None) or model.get_input_embeddings()
    covered = {id(m) for part in (embeddings, layers) for m in part.modules()}
    rest = [
        m
        for m in model.modules()
        if id(m) not in covered and any(True for _ in m.parameters(recurse=False))
    ]
    count = max(1, min(count, len(layers)))
    bounds = [round(i * len(layers) / count) for i in range(count + 1)]
    chunks = [nn.ModuleList(layers[a:b]) for a, b in itertools.pairwise(bounds)]
    return [embeddings, *chunks, nn.ModuleList(rest)]
