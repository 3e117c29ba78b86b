"""Registered model builders, and the one way a model config (a partial) becomes a model."""

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from hydra.utils import get_class, get_method, instantiate
from torch import nn

from ..inputs.base import InputFacts
from .base import Network

HEADS = ("pooled", "dense")
COMMON_OPTIONS = ("name", "weights")  # what every registered builder takes besides its own


class ModelInputError(ValueError):
    """A model asked for inputs of a kind the data does not give (one line, exit status 2)."""

    user_error = True


@dataclass(frozen=True)
class ModelSpec:  # what registration records on a builder (``builder.spec``)
    name: str
    head: str
    data_config: Callable[..., dict] | None  # the input size and statistics a backbone expects
    facts: type[InputFacts]  # the facts type the builder accepts
    options: tuple[str, ...]  # the builder's own options (after num_outputs and facts)


_BUILDERS: dict[str, Callable[..., Network]] = {}


def register_model(name: str, head: str = "pooled", data_config: Callable[..., dict] | None = None):
    """Register ``builder(num_outputs, facts: InputFacts, **options) -> Network`` as ``name``."""
    if head not in HEADS:
        raise ValueError(f"register_model('{name}'): head must be one of {HEADS}, got '{head}'")

    def decorate(builder: Callable[..., Network]) -> Callable[..., Network]:
        if name in _BUILDERS:
            raise ValueError(f"model '{name}' is registered twice")
        parameters = inspect.signature(builder, eval_str=True).parameters
        if list(parameters)[:2] != ["num_outputs", "facts"]:
            raise TypeError(
                f"register_model('{name}'): a builder's parameters start with "
                f"(num_outputs, facts: InputFacts); {builder.__name__} has {list(parameters)}"
            )
        accepted = parameters["facts"].annotation
        accepted = InputFacts if accepted is inspect.Parameter.empty else accepted
        if not (isinstance(accepted, type) and issubclass(accepted, InputFacts)):
            raise TypeError(f"register_model('{name}'): annotate facts with an InputFacts class")
        spec = ModelSpec(name, head, data_config, accepted, tuple(parameters)[2:])

        @functools.wraps(builder)
        def build(num_outputs, facts, name=None, weights=None, regularize=True, **options):
            _check_name_matches(spec, name)
            if unknown := sorted(set(options) - set(spec.options)):
                raise ValueError(
                    f"model '{name or spec.name}' has no option(s) {unknown}; its options: "
                    f"{sorted([*spec.options, *COMMON_OPTIONS])}"
                )
            if not isinstance(facts, spec.facts):
                raise ModelInputError(
                    f"model '{name or spec.name}' needs "
                    f"{spec.facts.__name__.removesuffix('Facts').lower()} inputs; the data gives "
                    f"{facts.kind} inputs: pick a model made for this data (python -m "
                    f"{__package__} list)"
                )
            if name is not None and "name" in spec.options:
                options["name"] = name
            model = builder(num_outputs, facts, **options)
            if weights:
                model.weights_info = _load_weights(model.backbone, weights)
            return model if regularize else without_dropout(model)

        build.spec = spec
        _BUILDERS[name] = build
        return build

    return decorate


def _load_weights(backbone: nn.Module, path: str) -> dict:
    from ..training.errors import feature_missing

    if missing := feature_missing("models.weights", "model.weights=<file>", "transfer"):
        raise ModelInputError(missing)
    from .weights import load_backbone_weights

    return load_backbone_weights(backbone, path)


def _check_name(name: str) -> None:
    if name not in _BUILDERS:
        raise ValueError(f"unknown model '{name}'. Known models: {', '.join(list_models())}")


def _check_name_matches(spec: ModelSpec, name: str | None) -> None:
    # a config's name is its builder's registered name, unless the builder takes a name
    if name is None or name == spec.name or "name" in spec.options:
        return
    _check_name(name)
    raise ValueError(
        f"model.name={name}, but this model config builds '{spec.name}': choose the model with "
        f"model={name}"
    )


def list_models() -> list[str]:
    return sorted(_BUILDERS)


def model_config(registered: str, /, **options) -> dict:
    """As its yaml gives it, with ``options`` (``model_config("timm", name="convnext_tiny")``)."""
    _check_name(registered)
    builder = _BUILDERS[registered]
    target = f"{builder.__module__}.{builder.__qualname__}"
    return {"_target_": target, "_partial_": True, "name": registered, **options}


def model_spec(config: dict) -> ModelSpec:
    target = config.get("_target_")
    if not target or not config.get("_partial_"):
        raise ValueError(
            "a model config names its builder: _target_: <package>.models.<module>.<builder> "
            f"and _partial_: true (configs/model/*.yaml), got keys {sorted(config)}"
        )
    spec = getattr(get_method(target), "spec", None)
    if not isinstance(spec, ModelSpec):
        raise ValueError(f"model _target_={target} is not a builder decorated with @register_model")
    _check_name_matches(spec, config.get("name"))
    return spec


def model_head(config: dict) -> str:
    return model_spec(config).head


def model_data_config(config: dict) -> dict:
    """``input_size``, ``mean``, ``std`` known before building; ``{}``: no preference."""
    spec = model_spec(config)
    if spec.data_config is None:
        return {}
    accepted = inspect.signature(spec.data_config).parameters
    return spec.data_config(**{k: v for k, v in config.items() if k in accepted})


def create_model(config: dict, num_outputs: int, facts: InputFacts, regularize=True) -> Network:
    model_spec(config)  # a config that is not a registered builder's: one clear line
    build = instantiate(config, _convert_="all")
    return build(num_outputs=num_outputs, facts=facts, regularize=regularize)


def facts_config(facts: InputFacts) -> dict:
    """``_target_`` + fields, for the checkpoint; a field at its default None is left out."""
    cls = type(facts)
    unset = {f.name for f in dataclasses.fields(cls) if f.default is None}
    values = {k: v for k, v in facts.describe().items() if not (v is None and k in unset)}
    return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **values}


def facts_from_config(config: dict) -> InputFacts:
    cls = get_class(config["_target_"])
    values = {f.name: config[f.name] for f in dataclasses.fields(cls) if f.name in config}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def without_dropout(model: nn.Module) -> nn.Module:
    """Every dropout (and timm's stochastic depth) off: one switch for any architecture."""
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.p = 0.0
        elif hasattr(module, "drop_prob"):  # timm's DropPath
            module.drop_prob = 0.0
        elif isinstance(module, nn.MultiheadAttention):  # attention dropout: a float, no module
            module.dropout = 0.0
    return model
