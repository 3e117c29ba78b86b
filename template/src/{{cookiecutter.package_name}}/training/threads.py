{%- set features = cookiecutter.__features.split(",") -%}
{%- set whose = (["one of N DDP processes on the CPU"] if "ddp" in features else []) + (["a job of the joblib ``parallel`` or the\nlocal submitit launcher"] if "sweeps" in features else []) + (["a fold of ``cv.parallel``"] if "cv" in features else []) -%}
"""CPU threads per run when several runs share one machine.

torch gives every process one thread per core: two trainings at once on 2 cores then fight over
them and run 5-10x slower than one after the other. A run that is one of several gets its share,
``cores // concurrent`` ({{ whose | join(", ") }}).
``OMP_NUM_THREADS``, when set, always wins.
"""

import os
from collections.abc import Mapping
{%- if "ddp" in features or "sweeps" in features %}
from typing import Any

from omegaconf import DictConfig, OmegaConf
{%- endif %}


def available_cores() -> int:
    """Cores this process may run on (a SLURM or container limit included, where visible)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def thread_count(
    cores: int, concurrent: int, environ: Mapping[str, str] | None = None
) -> int | None:
    """Threads for one of ``concurrent`` runs; None: leave torch's default."""
    environ = os.environ if environ is None else environ
    if environ.get("OMP_NUM_THREADS") or concurrent <= 1:
        return None
    return max(1, cores // concurrent)
{%- if "ddp" in features or "sweeps" in features %}


def concurrent_runs(cfg: DictConfig | None, hydra_cfg: Any = None, cores: int | None = None) -> int:
{%- if "sweeps" in features %}
    cores = cores or available_cores()
    runs = 1
    mode = _get(hydra_cfg, "mode")  # Hydra's RunMode, or its name
    launcher = _get(hydra_cfg, "launcher") if getattr(mode, "name", mode) == "MULTIRUN" else None
    target = str(_get(launcher, "_target_") or "")
    if target.endswith("JoblibLauncher"):
        n_jobs = _get(launcher, "n_jobs")
        n_jobs = -1 if n_jobs is None else int(n_jobs)
        runs = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib: -1 = every core
    elif target.endswith("submitit_launcher.LocalLauncher"):
        # the local executor starts the jobs of a sweep at once, up to array_parallelism
        runs = int(_get(launcher, "array_parallelism") or 256)
        runs = min(runs, _sweep_size(hydra_cfg) or runs)
{%- if "ddp" in features %}
    return runs * _ddp_cpu_processes(cfg)
{%- else %}
    return runs  # (DDP processes on the CPU: the ddp feature)
{%- endif %}
{%- else %}
    return _ddp_cpu_processes(cfg)  # (a launcher's parallel jobs: the sweeps feature)
{%- endif %}


def configure_threads(cfg: DictConfig | None = None, hydra_cfg: Any = None) -> int | None:
    """Give this run its share of the cores: the thread count set (None: unchanged)."""
{%- if "sweeps" in features %}
    if hydra_cfg is None:
        from hydra.core.hydra_config import HydraConfig

        hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
{%- endif %}
    cores = available_cores()
    threads = thread_count(cores, concurrent_runs(cfg, hydra_cfg, cores))
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return threads
{%- if "ddp" in features %}


def _ddp_cpu_processes(cfg: DictConfig | None) -> int:
    trainer = _get(cfg, "trainer")
    if str(_get(trainer, "accelerator")) != "cpu" or "ddp" not in str(_get(trainer, "strategy")):
        return 1
    devices = _get(trainer, "devices")
    if isinstance(devices, int) and devices > 0:
        return devices
    return max(1, len(devices)) if isinstance(devices, list | tuple) else 1
{%- endif %}
{%- if "sweeps" in features %}


def _sweep_size(hydra_cfg: Any) -> int | None:
    """Jobs of the sweep when known from the command line (``a=1,2,3 b=x,y`` -> 6)."""
    size = 1
    for override in _get(_get(hydra_cfg, "overrides"), "task") or []:
        value = str(override).partition("=")[2]
        if "," in value and not value.startswith(("[", "{")):
            size *= len(value.split(","))
    return size if size > 1 else None
{%- endif %}


def _get(node: Any, key: str) -> Any:
    if isinstance(node, DictConfig):
        return OmegaConf.select(node, key, default=None)
    return node.get(key) if isinstance(node, Mapping) else getattr(node, key, None)
{%- endif %}
