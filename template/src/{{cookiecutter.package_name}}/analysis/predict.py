"""A trained model's raw outputs on one split, item by item, and the one checkpoint loader."""

import inspect
import logging
from dataclasses import dataclass

import torch


@dataclass
class Predictions:
    split: str
    indices: list[int]  # positions in the full data set
    paths: list[str | None]  # files, or None for in-memory data
    targets: torch.Tensor  # as the data set gives them
    outputs: torch.Tensor  # raw model outputs (logits, standardized values, ...)
    losses: torch.Tensor  # (N,) the task's unregularized loss per item


@torch.no_grad()
def predict(module, datamodule, split: str) -> Predictions:  # eval mode, no augmentation
    from lightning.pytorch.utilities import move_data_to_device

    datamodule.setup()  # (once; later calls return at once)
    was_training = module.training
    module.eval()
    device = next(module.parameters()).device
    outputs, targets, losses = [], [], []
    try:
        for x, y in datamodule.eval_dataloaders([split])[0]:
            out = module(move_data_to_device(x, device)).float()
            losses.append(module.task.item_losses(out, y.to(device)).cpu())
            outputs.append(out.cpu())
            targets.append(y.cpu())
    finally:
        module.train(was_training)
    indices = list(datamodule._split_indices(split))
    paths = getattr(datamodule, "paths", None)
    paths = [paths[i] for i in indices] if paths else [None] * len(indices)
    return Predictions(split, indices, paths, *map(torch.cat, (targets, outputs, losses)))


def item_images(datamodule, indices: list[int]) -> torch.Tensor | None:
    """The (non-augmented) images at these data-set positions; None when inputs are not images."""
    inputs = datamodule.loaded.inputs
    if isinstance(inputs, torch.Tensor):
        picked = inputs[torch.as_tensor(indices, dtype=torch.long)]
        return picked if picked.dim() == 4 else None
    transform = datamodule.item_transform(train=False)
    if transform is None:
        return None
    images = [transform(inputs[i][0]) for i in indices]
    return torch.stack(images) if images and images[0].dim() == 3 else None


{% if "deploy" in cookiecutter.__features.split(",") -%}
def load_trained(ckpt_path, data_overrides: dict | None = None, with_data: bool = True):
    """(module, datamodule) from a checkpoint, with the data split they were trained on.
    ``with_data=False`` (predict, serve): the data is not read; a machine without it can predict."""
{%- else -%}
def load_trained(ckpt_path, data_overrides: dict | None = None):
    """(module, datamodule) from a checkpoint, with the data split they were trained on."""
{%- endif %}
    from hydra.utils import get_class

    from ..training.checkpoints import check_same_targets, read_checkpoint, task_config
    from ..training.module import TaskModule

    checkpoint = read_checkpoint(ckpt_path)  # a file or a run folder; one clear error if unusable
    try:
        data_class = get_class(checkpoint["datamodule"]["_target_"])
    except ImportError:  # (hydra raises ImportError for a class that is not there)
        from ..training.checkpoints import CheckpointError

        raise CheckpointError(
            f"{ckpt_path} was written by an earlier version of this project (checkpoint format "
            f"{checkpoint.get('upgraded_from', checkpoint.get('format_version'))}) whose data "
            f"class {checkpoint['datamodule']['_target_']} no longer exists: retrain with this "
            "version, or use the version that wrote it"
        ) from None
    check_data_settings(data_class, data_overrides or {})
    config = dict(checkpoint["datamodule"])
    for key, value in (data_overrides or {}).items():  # data.input.<key>=...: that key only
        both = isinstance(value, dict) and isinstance(config.get(key), dict)
        config[key] = {**config[key], **value} if both else value
    config.pop("_target_")
    # settings of a task or feature this project does not hold: set aside, said, not a TypeError
    if left_out := sorted(set(config) - init_parameters(data_class)):
        logging.getLogger(__name__).warning(
            f"{ckpt_path}: data setting(s) {', '.join(left_out)} are of a task or feature this "
            f"project does not hold ({data_class.__name__} takes none of them): ignored"
        )
    datamodule = data_class(**{k: v for k, v in config.items() if k not in left_out})
    # what it learnt, under its class name: the split item by item (new files cannot leak into
    # val/test), the training split's preprocessing
    datamodule.load_state_dict(checkpoint.get(type(datamodule).__qualname__) or {})
{%- if "deploy" in cookiecutter.__features.split(",") %}
    if with_data or checkpoint.get("upgraded_from") == 1:
        datamodule.setup()
        check_same_targets(checkpoint, datamodule.target_names, "the data", ckpt_path)
    else:  # what one item looks like, as the model was told (what setup would have learnt)
        datamodule.restore_input_facts(checkpoint["hyper_parameters"].get("inputs") or {})
{%- else %}
    datamodule.setup()
    check_same_targets(checkpoint, datamodule.target_names, "the data", ckpt_path)
{%- endif %}
    if checkpoint.get("upgraded_from") == 1:  # what the task keeps of its targets may have grown
        task = task_config(checkpoint)
        train = datamodule.split_targets("train", full=True)
        described = get_class(task["_target_"]).describe_targets(train, datamodule.target_names)
        task["targets"] = {**described, **task["targets"]}
    module = TaskModule(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    return module, datamodule


def check_data_settings(data_class, overrides: dict) -> None:
    from ..training.checkpoints import refuse_renamed
    from ..training.validate import ConfigError

    refuse_renamed(data_class, overrides)  # an old name: the new one, not "no such setting"
    accepted = init_parameters(data_class)
    if unknown := sorted(set(overrides) - accepted):
        raise ConfigError(
            f"{', '.join(f'data.{k}' for k in unknown)}: this checkpoint's data "
            f"({data_class.__name__}) has no such setting; it takes "
            f"{', '.join(sorted(accepted))}"
        )


def init_parameters(cls) -> set[str]:  # following **kwargs up the base classes
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = list(inspect.signature(vars(klass)["__init__"]).parameters.values())[1:]
        names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return names
