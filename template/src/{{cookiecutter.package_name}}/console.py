"""What the user reads in the terminal: what runs and where at start, the config with
``print_config=true``, the summary at the end (a run's last screen is its result and verdict)."""

import os
import re
import shlex
import sys

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.tree import Tree

# Piped to a file or a CI log, rich would assume 80 columns and cut the sweep table short.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 140)
errors = Console(stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else 140)

# shown first, in this order; other top-level keys follow
CONFIG_ORDER = ("mode", "task", "data", "model", "optimizer", "scheduler", "trainer", "callbacks")
CONFIG_ORDER += ("logger",)
COLOURS = {"completed": "green", "failed": "yellow", "interrupted": "yellow"}  # else red
# Advice names this run's folder as <run> (analysis/fit.py): printed as the real path, so a
# `next:` line can be copied and run; "python eval.py ..." gets the run folder as its checkpoint.
RUN_FOLDER = "<run>"
ELIDED = re.compile(r"python (eval|predict|export|serve|clean)\.py \.\.\.")


def print_start(cfg: DictConfig) -> None:
    """What runs and where its run folder is, in two lines (rank 0 of a DDP run only)."""
    if os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0":
        return
    from hydra.core.hydra_config import HydraConfig

    folder = escape(str(OmegaConf.select(cfg, "paths.output_dir")))
    # the options chosen on the command line or by default (data configs carry no name)
    chosen = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    facts = {
        key: chosen.get(key) or OmegaConf.select(cfg, f"{key}.name")
        for key in ("mode", "task", "data", "model")
    }
    shown = "  ".join(f"{key} [bold]{escape(str(value))}[/bold]" for key, value in facts.items())
    console.print(
        f"{shown}  ->  {folder}\n[dim]the whole config: {folder}/.hydra/config.yaml "
        "(print_config=true prints it here)[/dim]",
        highlight=False,
        soft_wrap=True,
    )


def print_config(cfg: DictConfig) -> None:
    tree = Tree("[bold]config[/bold]")
    for key in [k for k in CONFIG_ORDER if k in cfg] + [k for k in cfg if k not in CONFIG_ORDER]:
        if isinstance(cfg[key], DictConfig):
            text = OmegaConf.to_yaml(cfg[key], resolve=True).rstrip()
            tree.add(f"[bold cyan]{key}[/bold cyan]").add(Syntax(text, "yaml"))
        else:
            tree.add(f"[bold cyan]{key}[/bold cyan]: {cfg[key]}")
    console.print(tree)


def print_summary(summary) -> None:
    """Each section's own one-line ``message``, as is (this knows nothing of tasks or metrics)."""
    s = summary if isinstance(summary, dict) else summary.to_dict()
    colour = COLOURS.get(s["status"], "red")
    lines = [
        f"[bold]{s['mode']}[/bold] run [{colour}]{s['status'].upper()}[/{colour}] "
        f"in {s['wall_time_s']:.1f} s  ->  {s['output_dir']}"
    ]
    data, model, task = s.get("data") or {}, s.get("model") or {}, s.get("task") or {}
    if data:
        sizes = ", ".join(f"{k} {v}" for k, v in data["sizes"].items())
        skipped = data.get("skipped_files")
        bad = f", {skipped} items skipped (unreadable or bad: skipped_files.txt)" if skipped else ""
        lines.append(f"data   {data['name']}: {sizes} (fraction {data['fraction']}){bad}")
        # what the data module decided for the user (an image size, a given split, ...), said once
        lines += [f"       [dim]{escape(note)}[/dim]" for note in data.get("notes", [])]
    if task:
        lines.append(f"task   {task['name']} (score: {task['score']})")
    if model:
        lines.append(
            f"model  {model['name']}: {model['params_total']:,} parameters "
            f"({model['params_trainable']:,} trainable)"
        )
    selection = s.get("selection") or {}
    for split, values in (s.get("metrics") or {}).items():
        shown = "  ".join(f"{k} {_number(v)}" for k, v in values.items())
        monitored, _, metric = selection.get("monitor", "").partition("/")
        if selection and split == monitored:  # its figure is the best of every epoch
            epoch = selection.get("best_epoch")
            shown += (
                f"  [dim](best epoch{'' if epoch is None else f' {epoch}'}; last epoch "
                f"{metric} {_number(selection['last'])})[/dim]"
            )
        lines.append(f"{split:<6} {shown}")
    for key, verdict in (s.get("verdicts") or {}).items():
        if not verdict.get("message"):
            continue
        style = "bold" if key == "fit" else "green" if verdict.get("passed", True) else "red"
        lines.append(f"[{style}]{key}: {escape(verdict['message'])}[/{style}]")
        causes = verdict.get("diagnosis")  # the overfit check's list of likely causes
        if isinstance(causes, list):
            lines += [f"  [red]- {escape(cause)}[/red]" for cause in causes]
        # the model judged: a train run's best checkpoint, or the one eval.py measured
        judged = s.get("best_checkpoint") or s.get("checkpoint")
        lines += [
            f"  next: {escape(runnable(advice, s['output_dir'], judged))}"
            for advice in verdict.get("advice", [])
        ]
    for key in ("lr_find", "interpretation"):
        section = s.get(key) or {}
        if section.get("message"):
            folder = f" -> {section['folder']}" if section.get("folder") else ""
            lines.append(escape(section["message"]) + folder)
    if selection.get("message"):
        lines.append(f"[dim]{escape(selection['message'])}[/dim]")
    if s.get("best_checkpoint"):
        lines.append(f"best checkpoint: {s['best_checkpoint']}")
    if s["status"] in ("diverged", "interrupted"):
        lines.append(f"[{colour}]{escape(s['message'])}[/{colour}]")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
    if s.get("error"):
        errors.print(f"[red]error: {escape(s['error'])}[/red]", highlight=False, soft_wrap=True)


def runnable(advice: str, output_dir: str, checkpoint: str | None = None) -> str:
    """``advice`` with this run's folder in its commands; ``ckpt_path`` is ``checkpoint`` when the
    folder holds no checkpoints/ (an eval run; a cross-validation run's are in its fold folders)."""

    def shown(path: str) -> str:
        relative = os.path.relpath(path)
        return path if relative.startswith("..") else relative

    folder = model = shown(output_dir)
    if checkpoint and not os.path.isdir(os.path.join(output_dir, "checkpoints")):
        model = shown(checkpoint)
    advice = ELIDED.sub(lambda match: f"python {match[1]}.py ckpt_path={RUN_FOLDER}", advice)
    advice = advice.replace(f"ckpt_path={RUN_FOLDER}", f"ckpt_path={shlex.quote(model)}")
    return advice.replace(RUN_FOLDER, shlex.quote(folder))


def _number(value) -> str:
    return "nan" if value is None else f"{value:.4f}"
