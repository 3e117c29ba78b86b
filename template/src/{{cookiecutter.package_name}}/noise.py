"""The one place where known third-party noise (nothing about *this* project's code) is silenced,
and one slow import kept lazy. Import it before Lightning (the tests apply ``silence()`` too)."""

import importlib.util
import logging
import sys
import warnings
from pathlib import Path

# Deprecations raised from inside these libraries are for their maintainers, not for us.
_LIBRARIES = (
    r"(lightning|lightning_utilities|lightning_fabric|pytorch_lightning|torch"
    r"|torchmetrics|torchvision|hydra|omegaconf|wandb|google|pkg_resources|timm|mlflow"
    r"|tensorboard|optuna|sqlalchemy|hydra_plugins|submitit)"
)

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
    # Lightning prints with a handler of its own: reaching the root logger (which Hydra
    # configures) too would print every line twice.
    logging.getLogger("lightning.pytorch").propagate = False
    logging.getLogger("lightning.fabric").propagate = False
    # an advertisement for a hosted service, printed at every start
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: "litlogger" not in record.getMessage().lower()
    )


def keep_transformers_lazy() -> None:
    """torchmetrics imports transformers whenever installed (for metrics unused here): 1.5 CPU s
    every start. It decides by the flags of ``torchmetrics.utilities.imports``, which imports none
    of torchmetrics: loaded first with them off, it leaves the import to ``models/hf_text.py``."""
    package = importlib.util.find_spec("torchmetrics")  # (finds it without running it)
    if "torchmetrics" in sys.modules or package is None or not package.submodule_search_locations:
        return
    path = Path(package.submodule_search_locations[0]) / "utilities" / "imports.py"
    spec = importlib.util.spec_from_file_location("torchmetrics.utilities.imports", path)
    if spec is None or not path.is_file():
        return
    flags = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(flags)
    for name in dir(flags):
        if name.startswith("_TRANSFORMERS"):
            setattr(flags, name, False)
    sys.modules[spec.name] = flags


silence()
keep_transformers_lazy()
