"""Experiment loggers, with what Lightning's lack: wandb online without credentials would prompt
for a key (or fail deep in a background process), so we stop first; in a multirun each wandb run
is named after its overrides, grouped by sweep and finished so the next job starts a new one."""

import contextlib
import json
import logging
import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from .sweep import in_multirun

OFFLINE_MODES = ("offline", "disabled", "dryrun")
log = logging.getLogger(__name__)
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}


def build_loggers(cfg: DictConfig, resume_from: str | None = None) -> list:
{%- else %}


def build_loggers(cfg: DictConfig) -> list:
{%- endif %}
    loggers = []
    for node in [node for node in (cfg.get("logger") or {}).values() if node]:
        if str(node.get("_target_", "")).endswith("WandbLogger"):
            check_wandb_credentials()
            if in_multirun():
                hydra_cfg, node = HydraConfig.get(), node.copy()
                with open_dict(node):
                    node.group = str(hydra_cfg.sweep.dir)
                    if not node.get("name"):
                        node.name = " ".join(hydra_cfg.overrides.task) or f"job {hydra_cfg.job.num}"
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}
            if resume_from:
                from .resume import continued_wandb_run

                node = continued_wandb_run(node, resume_from)
{%- endif %}
        loggers.append(instantiate(node))
    return loggers


def check_wandb_credentials() -> None:  # raise (never prompt) when online without an API key
    offline = os.environ.get("WANDB_MODE", "online").lower() in OFFLINE_MODES
    if offline or os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    with contextlib.suppress(netrc.NetrcParseError, OSError):
        if path.is_file() and netrc.netrc(path).authenticators(host):
            return
    raise RuntimeError(
        f"logger=wandb is in online mode but no wandb API key was found (WANDB_API_KEY, or "
        f"{host} in {path}). Run `wandb login` once, or set WANDB_API_KEY, or log locally with "
        "WANDB_MODE=offline (upload later with `wandb sync`), or pick another logger "
        "(logger=csv)."
    )


def log_summary(loggers: list, summary: dict, step: int) -> None:
    """Final metrics as ``summary/<split>/<metric>``, and the whole summary where it fits."""
    metrics = summary.get("metrics", {})
    flat = {f"summary/{s}/{k}": v for s, values in metrics.items() for k, v in values.items()}
    text = json.dumps(summary, indent=2, default=str)
    for logger in loggers:
        if flat:
            logger.log_metrics(flat, step=step)
        kind = type(logger).__name__
        if kind == "WandbLogger":
            logger.experiment.summary.update({**flat, "status": summary.get("status")})
        elif kind == "MLFlowLogger":
            logger.experiment.log_dict(logger.run_id, json.loads(text), "summary.json")
            logger.experiment.set_tag(logger.run_id, "status", summary.get("status"))
        elif kind == "TensorBoardLogger":
            logger.experiment.add_text("summary", f"```\n{text}\n```", global_step=step)
        logger.save()


def finish_loggers(loggers: list, status: str) -> None:  # so a sweep's next job starts a new run
    finished_wandb = False
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger" and logger._experiment is not None:
            try:
                logger.experiment.finish(exit_code=0 if status in ("completed", "failed") else 1)
                finished_wandb = True
            except Exception as error:  # never hide the run's own error behind this one
                log.warning("could not finish the wandb run: %s", error)
    if not finished_wandb:
        return
    # finish() only tells wandb's service the run is over (files written later): teardown waits
    try:
        import wandb

        wandb.teardown()
    except Exception as error:
        log.warning("wandb did not shut down cleanly: %s", error)
