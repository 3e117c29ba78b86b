"""Runs in cookiecutter's temporary copy of this repository, before any prompt.

1. Cookiecutter only renders a top-level folder whose name contains ``{{ cookiecutter.… }}``.
   The generated project lives in ``template/`` so that the repository reads well; here, in the
   throw-away copy, it gets the name cookiecutter looks for.
2. Cookiecutter silently ignores ``--no-input key=value`` pairs whose key is not a prompt (a typo
   would go unnoticed); they are rejected here, before anything is written.

Standard library only: hooks run with cookiecutter's own interpreter.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

TEMPLATE_DIR = Path("template")
RENDERED_NAME = "{{cookiecutter.project_slug}}"
KEY_VALUE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")
# cookiecutter CLI options that take a value (``cookiecutter --help``)
OPTIONS_WITH_VALUE = {"-c", "--checkout", "--directory", "--replay-file", "-o", "--output-dir",
                      "--config-file", "--debug-file", "--accept-hooks"}


def fail(message: str) -> None:
    print(f"\nERROR: {message}\n", file=sys.stderr)
    sys.exit(1)


def move_template_into_place() -> None:
    if Path(RENDERED_NAME).is_dir():
        return  # already done (e.g. a copy that went through this hook before)
    if not TEMPLATE_DIR.is_dir():
        fail(f"'{TEMPLATE_DIR}/' not found in {Path.cwd()}: is this the template repository?")
    TEMPLATE_DIR.rename(RENDERED_NAME)


def parent_command_line() -> list[str]:
    """The cookiecutter command that runs this hook ([] when unknown, e.g. not on Linux)."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def extra_context_keys(argv: list[str]) -> list[str]:
    """``key=value`` arguments of a cookiecutter CLI call; [] when the parent is not that CLI."""
    is_cli = any(Path(arg).name in ("cookiecutter", "__main__.py") or arg == "cookiecutter"
                 for arg in argv[:3])
    if not is_cli:
        return []
    keys = []
    for previous, arg in zip(["", *argv], argv, strict=False):
        match = KEY_VALUE.match(arg)
        # an option's value (``-o dir=x``) is not extra context
        if match and previous not in OPTIONS_WITH_VALUE:
            keys.append(match.group(1))
    return keys


def reject_unknown_keys() -> None:
    known = json.loads(Path("cookiecutter.json").read_text(encoding="utf-8"))
    unknown = [key for key in extra_context_keys(parent_command_line()) if key not in known]
    if unknown:
        prompts = ", ".join(key for key in known if not key.startswith("_"))
        fail(f"unknown option(s): {', '.join(unknown)}.\nKnown options: {prompts}")


if __name__ == "__main__":
    reject_unknown_keys()
    move_template_into_place()
