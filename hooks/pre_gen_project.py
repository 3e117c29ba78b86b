"""Validate the answers before any project file is written.

On failure: one clear message, exit 1; cookiecutter then removes the project folder it created.
Standard library only, no prompts, no network.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

# The answers, as JSON inside a Python string literal (``tojson`` escapes quotes).
ANSWERS = json.loads({{ cookiecutter | jsonify | tojson }})

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_PACKAGE_LENGTH = 40  # it starts many import lines; longer names break the 100-column lint
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Import names the generated project depends on (or that every Python has): a package with one
# of these names would shadow it and break ``import``.
SHADOWED = {
    "torch", "torchvision", "torchmetrics", "lightning", "pytorch_lightning", "hydra", "omegaconf",
    "sklearn", "numpy", "matplotlib", "rich", "timm", "wandb", "mlflow", "tensorboard",
    "optuna", "submitit", "pytest", "ruff", "setuptools", "hatchling", "pip", "test", "tests",
    "src", "configs", "train", "eval", *sys.stdlib_module_names,
}


def problems(answers: dict) -> list[str]:
    found = []
    slug, package = answers["project_slug"], answers["package_name"]
    if not answers["project_name"].strip():
        found.append("project_name is empty.")
    if not SLUG.match(slug):
        found.append(f"project_slug '{slug}' must be lowercase letters, digits and single dashes, "
                     "starting with a letter (e.g. 'my-vision-project').")
    if not PACKAGE.match(package) or not package.isidentifier():
        found.append(f"package_name '{package}' is not a valid import name: use lowercase letters, "
                     "digits and underscores, starting with a letter (e.g. 'my_vision_project').")
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        found.append(f"package_name '{package}' is a Python keyword.")
    elif len(package) > MAX_PACKAGE_LENGTH:
        found.append(f"package_name '{package}' is longer than {MAX_PACKAGE_LENGTH} characters.")
    elif package in SHADOWED:
        found.append(f"package_name '{package}' would shadow the module of the same name that the "
                     "project imports; choose another name.")
    if not EMAIL.match(answers["author_email"]):
        found.append(f"author_email '{answers['author_email']}' is not an e-mail address.")
    return found


if __name__ == "__main__":
    found = problems(ANSWERS)
    if found:
        lines = "\n".join(f"  - {problem}" for problem in found)
        print(f"\nERROR: invalid answers, nothing was generated:\n{lines}\n", file=sys.stderr)
        sys.exit(1)
