"""What the user reads in the terminal: the config tree at start, the summary at the end."""

from __future__ import annotations

import os
import sys

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.tree import Tree

# Piped to a file or a CI log, rich would assume 80 columns and cut the sweep table short.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 140)

# Shown first, in this order; other top-level keys follow.
CONFIG_ORDER = ("mode", "data", "model", "optimizer", "scheduler", "trainer", "callbacks", "logger")


def print_config(cfg: DictConfig) -> None:
    tree = Tree("[bold]config[/bold]")
    keys = [k for k in CONFIG_ORDER if k in cfg] + [k for k in cfg if k not in CONFIG_ORDER]
    for key in keys:
        value = cfg[key]
        if isinstance(value, DictConfig):
            text = OmegaConf.to_yaml(value, resolve=True)
            tree.add(f"[bold cyan]{key}[/bold cyan]").add(Syntax(text.rstrip(), "yaml"))
        else:
            tree.add(f"[bold cyan]{key}[/bold cyan]: {value}")
    console.print(tree)


def print_summary(summary: dict) -> None:
    lines = [f"[bold]{summary['mode']}[/bold] run {summary['status'].upper()} "
             f"in {summary['wall_time_s']:.1f} s  ->  {summary['output_dir']}"]
    data, model = summary.get("data", {}), summary.get("model", {})
    if data:
        sizes = ", ".join(f"{k} {v}" for k, v in data["sizes"].items())
        lines.append(f"data   {data['name']}: {sizes} (fraction {data['fraction']})")
    if model:
        lines.append(f"model  {model['name']}: {model['params_total']:,} parameters "
                     f"({model['params_trainable']:,} trainable)")
    for split, values in summary.get("metrics", {}).items():
        shown = "  ".join(f"{k} {v:.4f}" for k, v in values.items())
        lines.append(f"{split:<6} {shown}")
    overfit = summary.get("verdicts", {}).get("overfit")
    if overfit:
        colour = "green" if overfit["reached"] else "red"
        lines.append(f"[{colour}]overfit: {overfit['message']}[/{colour}]")
        lines += [f"  [red]- {cause}[/red]" for cause in overfit["diagnosis"]]
    fit = summary.get("verdicts", {}).get("fit")
    if fit:
        lines.append(f"[bold]fit: {fit['diagnosis']}[/bold] (train {fit['train_acc']:.1%}, val "
                     f"{fit['val_acc']:.1%}, gap {fit['gap']:+.1%}, majority baseline "
                     f"{fit['baseline_acc']:.1%}): {fit['note']}")
        lines += [f"  next: {advice}" for advice in fit["advice"]]
    if summary.get("lr_find"):
        found = summary["lr_find"]
        lines.append(f"lr_find: {found['rule']} suggests {found['suggestion']:.2e} "
                     f"({'applied' if found['applied'] else 'not applied'}), {found['plot']}")
    report = summary.get("interpretation")
    if report:
        pairs = ", ".join(f"{t}->{p} ({n})" for t, p, n in report["most_confused"][:3])
        lines.append(f"interpretation ({report['split']}, macro F1 {report['macro_f1']:.3f}): "
                     f"{report['folder']}" + (f"; most confused: {pairs}" if pairs else ""))
    if summary.get("best_checkpoint"):
        lines.append(f"best checkpoint: {summary['best_checkpoint']}")
    if summary.get("error"):
        lines.append(f"[red]error: {escape(summary['error'])}[/red]")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
