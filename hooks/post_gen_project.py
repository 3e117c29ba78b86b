"""Remove the parts of the project that the answers did not select.

Cookiecutter's conditional folder names are unreliable, so every optional part is generated and the
unselected ones are deleted here. Add a new option by adding a row to ``OPTIONAL_PATHS``.
Standard library only, no prompts, no network.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

# path (relative to the project) -> keep it?
OPTIONAL_PATHS = {
    ".github": {{ cookiecutter.github_actions }},
    "LICENSE": "{{ cookiecutter.license }}" != "Proprietary",
}


def prune(paths: dict[str, bool]) -> None:
    for relative, keep in paths.items():
        path = Path(relative)
        if keep or not path.exists():
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def remove_rendered_hook() -> None:
    """Cookiecutter renders each hook into a file of the temp folder and never removes it."""
    script = Path(__file__).resolve()
    if script.parent == Path(tempfile.gettempdir()).resolve():
        script.unlink(missing_ok=True)


if __name__ == "__main__":
    remove_rendered_hook()
    prune(OPTIONAL_PATHS)
