"""Runs in cookiecutter's temporary copy of this repository, before any prompt.

1. Cookiecutter only renders a top-level folder whose name contains ``{{ cookiecutter.… }}``.
   The generated project lives in ``template/`` so that the repository reads well; here, in the
   throw-away copy, it gets the name cookiecutter looks for.
2. ``--no-input key=value`` pairs are checked here, before cookiecutter reads them: it silently
   ignores unknown keys (a typo would go unnoticed) and answers a choice outside its list with a
   traceback. The answers cookiecutter will use are then worked out with its own functions and
   given to the checks of ``pre_gen_project.py`` (a bad slug, package name, e-mail): every problem
   is listed in one message, before cookiecutter starts (a failing pre_gen hook makes it print a
   traceback of its own).
3. ``manifest.yaml`` (which files and dependencies belong to which task) goes into the copy's
   cookiecutter.json as the private ``_task_manifest``: the derived answers (project name,
   description), template files (pyproject.toml) and post_gen_project.py read it from there,
   as copier reads the same file through ``!include``.
4. Cookiecutter leaves its temporary copy behind: an empty folder after a successful generation,
   the whole copy after a failed one. A small background process removes it once cookiecutter
   is done with it (the copy is gone) or has exited; a failing check removes it at once.

Standard library and PyYAML only (cookiecutter depends on it): hooks run with cookiecutter's own
interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE_DIR = Path("template")
MANIFEST = Path("manifest.yaml")
RENDERED_NAME = "{{cookiecutter.project_slug}}"
KEY_VALUE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
# cookiecutter CLI options that take a value (``cookiecutter --help``)
OPTIONS_WITH_VALUE = {"-c", "--checkout", "--directory", "--replay-file", "-o", "--output-dir",
                      "--config-file", "--debug-file", "--accept-hooks"}
# what cookiecutter accepts for a yes/no question (cookiecutter.prompt.YesNoPrompt)
BOOLEANS = {"1", "true", "t", "yes", "y", "on", "0", "false", "f", "no", "n", "off"}

# Removes cookiecutter's temporary copy (argv: cookiecutter's pid, the copy, its parent folder)
# when the copy is gone (cookiecutter removed it after a success, leaving the parent empty) or
# when cookiecutter has exited (a failure or Ctrl-C leaves the whole copy).
CLEANER = """
import os, shutil, sys, time
pid, copy, base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def alive():
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
while os.path.exists(copy) and alive():
    time.sleep(0.1)
shutil.rmtree(base, ignore_errors=True)
"""


def fail(problems: list[str]) -> None:
    lines = "\n".join(f"  - {problem}" for problem in problems)
    print(f"\nERROR: invalid answers, nothing was generated:\n{lines}\n", file=sys.stderr)
    remove_temporary_copy(Path.cwd())
    sys.exit(1)


def temporary_base(copy: Path) -> Path | None:
    """The ``cookiecutter*`` folder of the system temp folder that holds ``copy`` (else None:
    never remove anything that is not cookiecutter's own temporary copy)."""
    copy = copy.resolve()
    base = copy.parent
    temp = Path(tempfile.gettempdir()).resolve()
    if base.name.startswith("cookiecutter") and base.parent == temp:
        return base
    return None


def remove_temporary_copy(copy: Path) -> None:
    base = temporary_base(copy)
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)


def clean_up_when_done(copy: Path) -> None:
    base = temporary_base(copy)
    if base is None:
        return
    subprocess.Popen(  # detached: outlives this hook, not cookiecutter
        [sys.executable, "-c", CLEANER, str(os.getppid()), str(copy.resolve()), str(base)],
        cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)


def embed_manifest() -> None:
    import yaml  # cookiecutter's own dependency: always there when cookiecutter runs

    if not MANIFEST.is_file():
        fail([f"'{MANIFEST}' not found in {Path.cwd()}: is this the template repository?"])
    context = json.loads(Path("cookiecutter.json").read_text(encoding="utf-8"))
    context["_task_manifest"] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    Path("cookiecutter.json").write_text(json.dumps(context, indent=2), encoding="utf-8")


def move_template_into_place() -> None:
    if Path(RENDERED_NAME).is_dir():
        return  # already done (e.g. a copy that went through this hook before)
    if not TEMPLATE_DIR.is_dir():
        fail([f"'{TEMPLATE_DIR}/' not found in {Path.cwd()}: is this the template repository?"])
    TEMPLATE_DIR.rename(RENDERED_NAME)


def parent_command_line() -> list[str]:
    """The cookiecutter command that runs this hook ([] when unknown, e.g. not on Linux)."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def extra_context(argv: list[str]) -> dict[str, str]:
    """``key=value`` arguments of a cookiecutter CLI call; {} when the parent is not that CLI."""
    is_cli = any(Path(arg).name in ("cookiecutter", "__main__.py") or arg == "cookiecutter"
                 for arg in argv[:3])
    if not is_cli:
        return {}
    answers = {}
    for previous, arg in zip(["", *argv], argv, strict=False):
        match = KEY_VALUE.match(arg)
        # an option's value (``-o dir=x``) is not extra context
        if match and previous not in OPTIONS_WITH_VALUE:
            answers[match.group(1)] = match.group(2)
    return answers


def option_value(argv: list[str], *names: str) -> str | None:
    for previous, arg in zip(["", *argv], argv, strict=False):
        if previous in names:
            return arg
        for name in names:
            if name.startswith("--") and arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def answer_problems(answers: dict[str, str], argv: list[str]) -> list[str]:
    """The checks of pre_gen_project.py on the answers a ``--no-input`` call will use (derived
    ones included); [] when they cannot be worked out here (pre_gen then checks them)."""
    try:
        from cookiecutter.config import get_user_config
        from cookiecutter.environment import StrictEnvironment
        from cookiecutter.generate import generate_context
        from cookiecutter.prompt import prompt_for_config

        user = get_user_config(config_file=option_value(argv, "--config-file"),
                               default_config="--default-config" in argv)
        context = generate_context(context_file="cookiecutter.json",
                                   default_context=user["default_context"],
                                   extra_context=answers)
        config = prompt_for_config(context, no_input=True)
        source = Path("hooks/pre_gen_project.py").read_text(encoding="utf-8")
        environment = StrictEnvironment(context={"cookiecutter": config},
                                        keep_trailing_newline=True)
        rendered = environment.from_string(source).render(cookiecutter=config)
        namespace: dict = {"__name__": "pre_gen_checks"}
        exec(compile(rendered, "pre_gen_project.py", "exec"), namespace)  # its checks only
        return list(namespace["problems"](namespace["ANSWERS"]))
    except Exception:  # a newer cookiecutter, an odd user config: pre_gen still checks
        return []


def problems(answers: dict[str, str], known: dict) -> list[str]:
    """Unknown keys, choices outside their list, yes/no questions answered otherwise."""
    found = []
    unknown = [key for key in answers if key not in known]
    if unknown:
        prompts = ", ".join(key for key in known if not key.startswith("_"))
        found.append(f"unknown option(s): {', '.join(unknown)}. Known options: {prompts}")
    for key, value in answers.items():
        default = known.get(key)
        if isinstance(default, list) and value not in default:
            found.append(f"{key}={value!r} is not one of the choices: {', '.join(default)}")
        elif isinstance(default, bool) and value.strip().lower() not in BOOLEANS:
            found.append(f"{key}={value!r} is not a yes/no answer: use yes or no")
    return found


if __name__ == "__main__":
    embed_manifest()
    known = json.loads(Path("cookiecutter.json").read_text(encoding="utf-8"))
    argv = parent_command_line()
    answers = extra_context(argv)
    found = problems(answers, known)
    if "--no-input" in argv:
        usable = {key: value for key, value in answers.items()
                  if key in known and not any(f"{key}=" in problem for problem in found)}
        found += answer_problems(usable, argv)
    if found:
        fail(found)
    move_template_into_place()
    clean_up_when_done(Path.cwd())
