"""Validate the answers before any project file is written.

On failure: one clear message, exit 1; cookiecutter then removes the project folder it created.
Standard library only, no prompts, no network.
"""

from __future__ import annotations

import json
import keyword
import re
import shutil
import sys
import tempfile
from pathlib import Path

# The answers, as JSON inside a Python string literal (``tojson`` escapes quotes).
ANSWERS = json.loads({{ cookiecutter | jsonify | tojson }})
# manifest.yaml's tasks, in its order (the JSON above sorts keys)
TASKS = {{ cookiecutter._task_manifest.tasks.keys() | list | tojson }}
FEATURES = {{ cookiecutter._task_manifest.features.keys() | list | tojson }}

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_PACKAGE_LENGTH = 40  # it starts many import lines; longer names break the 100-column lint
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FREE_TEXT = ("project_name", "description", "author_name", "author_email")
# Import names the generated project depends on (or that every Python has): a package with one
# of these names would shadow it and break ``import``.
SHADOWED = {
    "torch", "torchvision", "torchmetrics", "lightning", "pytorch_lightning", "hydra", "omegaconf",
    "sklearn", "numpy", "matplotlib", "rich", "timm", "wandb", "mlflow", "tensorboard",
    "optuna", "submitit", "pytest", "ruff", "setuptools", "hatchling", "pip", "test", "tests",
    "src", "configs", "train", "eval", *sys.stdlib_module_names,
}


def derived_slug(project_name: str) -> str:
    """What cookiecutter.json derives from project_name (keep the two in step)."""
    return project_name.lower().strip().replace(" ", "-").replace("_", "-") or "project"


def suggested_slug(project_name: str) -> str:
    words = re.findall(r"[a-z0-9]+", project_name.lower())
    slug = "-".join(words).lstrip("0123456789-")
    return slug or "my-project"


def task_problems(answers: dict) -> list[str]:
    """``tasks``: known names, comma-separated, or all; ``default_task``: one of them."""
    answer = str(answers["tasks"])
    chosen = [name.strip() for name in answer.split(",") if name.strip()]
    if answer.strip() == "all":
        chosen = TASKS
    unknown = [name for name in chosen if name not in TASKS]
    if unknown or not chosen:
        wrong = f"{', '.join(unknown)} is not a task" if unknown else "no task given"
        return [f"tasks={answer!r}: {wrong}; give one or several of {', '.join(TASKS)} "
                "(comma-separated), or all"]
    if answers["default_task"] not in chosen:
        return [f"default_task={answers['default_task']!r} is not one of the chosen tasks: "
                f"{', '.join(chosen)}"]
    return []


def feature_problems(answers: dict) -> list[str]:
    """``features``: known names, comma-separated, all, or none."""
    answer = str(answers["features"])
    if answer.strip() in ("all", "none", ""):
        return []
    unknown = [name.strip() for name in answer.split(",") if name.strip() not in FEATURES]
    if unknown:
        return [f"features={answer!r}: {', '.join(unknown) or 'an empty name'} is not a feature; "
                f"give one or several of {', '.join(FEATURES)} (comma-separated), all, or none"]
    return []


def problems(answers: dict) -> list[str]:
    found = task_problems(answers) + feature_problems(answers)
    name, slug, package = answers["project_name"], answers["project_slug"], answers["package_name"]
    slug_derived = slug == derived_slug(name)
    package_derived = package == slug.replace("-", "_")
    if not name.strip():
        found.append("project_name is empty.")
    if not SLUG.match(slug):
        if slug_derived:
            good = suggested_slug(name)
            found.append(f"project_slug '{slug}' was derived from project_name '{name}' and is not "
                         "valid (lowercase letters, digits and single dashes, starting with a "
                         f"letter): pass it yourself, e.g. project_slug={good} "
                         f"package_name={good.replace('-', '_')}")
        else:
            found.append(f"project_slug '{slug}' must be lowercase letters, digits and single "
                         "dashes, starting with a letter (e.g. 'my-vision-project').")
    if not PACKAGE.match(package) or not package.isidentifier():
        if package_derived and not SLUG.match(slug):
            found.append(f"package_name '{package}' was derived from project_slug and is not a "
                         "valid import name: passing a valid project_slug= fixes both, or pass "
                         "package_name=<lowercase_with_underscores>")
        else:
            found.append(f"package_name '{package}' is not a valid import name: use lowercase "
                         "letters, digits and underscores, starting with a letter (e.g. "
                         "'my_vision_project').")
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        found.append(f"package_name '{package}' is a Python keyword.")
    elif len(package) > MAX_PACKAGE_LENGTH:
        found.append(f"package_name '{package}' is longer than {MAX_PACKAGE_LENGTH} characters.")
    elif package in SHADOWED:
        found.append(f"package_name '{package}' would shadow the module of the same name that the "
                     "project imports; choose another name.")
    if not EMAIL.match(answers["author_email"]):
        found.append(f"author_email '{answers['author_email']}' is not an e-mail address.")
    for key in FREE_TEXT:  # written into TOML, YAML and Python strings: one line each
        if any(ord(c) < 32 or ord(c) == 127 for c in str(answers.get(key, ""))):
            found.append(f"{key} {answers[key]!r} has a line break or a control character: "
                         "give it on one line.")
    return found


def remove_rendered_hook() -> None:
    """Cookiecutter renders each hook into a file of the temp folder and never removes it."""
    script = Path(__file__).resolve()
    if script.parent == Path(tempfile.gettempdir()).resolve():
        script.unlink(missing_ok=True)


def remove_template_copy(copy: str) -> None:
    """After a failure cookiecutter leaves its temporary copy of the template behind."""
    if not copy:
        return
    base = Path(copy).resolve().parent
    temp = Path(tempfile.gettempdir()).resolve()
    if base.name.startswith("cookiecutter") and base.parent == temp:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    remove_rendered_hook()
    found = problems(ANSWERS)
    if found:
        lines = "\n".join(f"  - {problem}" for problem in found)
        print(f"\nERROR: invalid answers, nothing was generated:\n{lines}\n", file=sys.stderr)
        remove_template_copy(ANSWERS.get("_repo_dir", ""))
        sys.exit(1)
