"""A format-1 checkpoint's configs in today's form (``_target_`` + ``_partial_``): it kept the model
as ``{"name": "cnn", ...}`` (``zoo: timm`` for the libraries'), the scheduler as ``{"name":
"one_cycle", ...}``, the optimizer without ``_partial_`` and the data's facts as a dict."""

from ..inputs.base import InputFacts
from .registry import facts_config, model_config

_OPTIM = __package__.rsplit(".", 1)[0] + ".training.optim"  # where the schedules are


def configs_from_format1(hparams: dict) -> dict:
    model = dict(hparams["model"])
    library = model.pop("zoo", None)  # timm / torchvision / hf_text: ``name`` is the library's
    scheduler = dict(hparams["scheduler"])
    schedule = scheduler.pop("name")  # one_cycle, cosine, constant: a builder of training/optim
    return {
        **hparams,
        "model": model_config(library or model["name"], **model),
        "optimizer": {**hparams["optimizer"], "_partial_": True},
        "scheduler": {"_target_": f"{_OPTIM}.{schedule}", "_partial_": True, **scheduler},
        "inputs": facts_config(facts_from_input_info(hparams["inputs"])),
    }


def facts_from_input_info(info: dict) -> InputFacts:
    """The former ``input_info()``'s dict as typed facts, told apart by its keys."""
    shape = tuple(info["shape"]) if "shape" in info else None
{%- if "text" in cookiecutter.__tasks.split(",") %}
    if "vocab_size" in info:
        from ..inputs.text import TextFacts

        return TextFacts("text", None, info["vocab_size"], info["pad_id"], info["max_length"])
{%- endif %}
{%- if "collab" in cookiecutter.__tasks.split(",") %}
    if "n_users" in info:
        from ..inputs.pair import PairFacts

        return PairFacts("pair", (2,), info["n_users"], info["n_items"])
{%- endif %}
{%- if "table" in cookiecutter.__inputs.split(",") %}
    if "cardinalities" in info:
        from ..inputs.table import TableFacts

        return TableFacts(
            "table",
            shape,
            tuple(info["cardinalities"]),
            tuple(info.get("cat_names", ())),
            tuple(info.get("cont_names", ())),
        )
{%- endif %}
    return InputFacts("image", shape)
