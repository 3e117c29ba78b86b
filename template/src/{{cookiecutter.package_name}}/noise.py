"""The one place where known third-party console noise is silenced.

Only messages that say nothing about *this* project's code are filtered: deprecation notices
raised inside libraries, and Lightning hints that do not apply to in-memory tensor batches.
Import this module before Lightning. ``pyproject.toml`` mirrors the deprecation filter for pytest.
"""

import logging
import warnings

# Deprecations raised from inside these libraries are for their maintainers, not for us.
_LIBRARIES = r"(lightning|lightning_utilities|lightning_fabric|pytorch_lightning|torch|torchmetrics" \
             r"|torchvision|hydra|omegaconf|wandb|google|pkg_resources|timm|mlflow|tensorboard)"

# Lightning hints that are wrong for this project: tensor batches need no worker processes, and
# tiny data sets legitimately have fewer batches than the logging interval.
_LIGHTNING_HINTS = [
    r".*does not have many workers.*",
    r".*The number of training batches .* is smaller than the logging interval.*",
    r".*Trying to infer the `batch_size` from an ambiguous collection.*",
    r".*You defined a `validation_step` but have no `val_dataloader`.*",
    r".*`isinstance\(treespec, LeafSpec\)` is deprecated.*",
]


def silence() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=_LIBRARIES)
    warnings.filterwarnings("ignore", category=FutureWarning, module=_LIBRARIES)
    for message in _LIGHTNING_HINTS:
        warnings.filterwarnings("ignore", message=message)
    # Lightning prints its messages with a handler of its own; letting them also reach the root
    # logger (which Hydra configures) would print every line twice.
    logging.getLogger("lightning.pytorch").propagate = False
    logging.getLogger("lightning.fabric").propagate = False


silence()
