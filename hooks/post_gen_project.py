"""Finish the generated project: prune unselected parts, record where the template came from.

Cookiecutter's conditional folder names are unreliable, so every optional part is generated and the
unselected ones are deleted here. Add a new option by adding a row to ``OPTIONAL_PATHS`` (and the
same pattern to ``_exclude`` in copier.yml). The files of the tasks and features that were not
chosen are listed in manifest.yaml (pre_prompt.py passes it on as ``_task_manifest``), which
copier's ``_exclude`` reads too.
Standard library only, no prompts, no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# path (relative to the project) -> keep it?
OPTIONAL_PATHS = {
    ".github": {{ cookiecutter.github_actions }},
    "LICENSE": "{{ cookiecutter.license }}" != "Proprietary",
}
MANIFEST = json.loads({{ cookiecutter._task_manifest | jsonify | tojson }})
CHOSEN_TASKS = {{ cookiecutter.__tasks.split(",") | tojson }}
CHOSEN_FEATURES = {{ cookiecutter.__features.split(",") | select | list | tojson }}
ANSWERS_FILE = Path(".copier-answers.yml")
# The template as the user named it (path, git URL, gh:org/name) and the copy cookiecutter read.
TEMPLATE_SOURCE = {{ cookiecutter._template | tojson }}
TEMPLATE_COPY = {{ cookiecutter._repo_dir | tojson }}


def prune(paths: dict[str, bool]) -> None:
    for relative, keep in paths.items():
        path = Path(relative)
        if keep or not path.exists():
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def entry_files(manifest: dict, section: str, name: str) -> list[str]:
    """The file patterns of one task or feature (``section``: "tasks" or "features")."""
    entry = manifest[section][name]
    grouped = [path for group in entry.get("groups", []) for path in manifest["groups"][group]]
    return [*grouped, *entry["files"]]


def used_groups(manifest: dict, tasks: list[str]) -> set[str]:
    """The ``groups`` the chosen tasks use."""
    return {group for name in tasks if name in manifest["tasks"]
            for group in manifest["tasks"][name].get("groups", [])}


def unchosen_files(manifest: dict, chosen: dict[str, list[str]]) -> set[str]:
    """The patterns of the files that only unchosen tasks and features use; ``chosen``: the
    chosen names per section. A feature's ``with_groups`` part is chosen with the feature and a
    task that uses its group."""
    needed, unneeded = set(), set()
    groups = used_groups(manifest, chosen.get("tasks", []))
    for section, names in chosen.items():
        for name in manifest[section]:
            files = entry_files(manifest, section, name)
            (needed if name in names else unneeded).update(files)
            for group, part in manifest[section][name].get("with_groups", {}).items():
                wanted = name in names and group in groups
                (needed if wanted else unneeded).update(part["files"])
    return unneeded - needed


def prune_unchosen(manifest: dict, chosen: dict[str, list[str]]) -> None:
    for pattern in sorted(unchosen_files(manifest, chosen)):
        for path in Path().glob(pattern):  # `*`: the package folder
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            # a config group left without options would still be listed by Hydra: no empty folder
            for folder in path.parents:
                if folder == Path() or any(folder.iterdir()):
                    break
                folder.rmdir()


def remove_rendered_hook() -> None:
    """Cookiecutter renders each hook into a file of the temp folder and never removes it."""
    script = Path(__file__).resolve()
    if script.parent == Path(tempfile.gettempdir()).resolve():
        script.unlink(missing_ok=True)


def template_version(copy: str) -> str | None:
    """The template's git version (tag, or tag-distance-hash, or hash) as copier names it."""
    try:
        result = subprocess.run(["git", "describe", "--tags", "--always"], cwd=copy,
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None  # not a git checkout (e.g. an unpacked archive): copier can't update then
    return result.stdout.strip() or None


def template_location(source: str) -> str:
    """An absolute path for a local template (copier reads it from any folder later), else the
    URL unchanged. Hooks run inside the new project, so a relative path is resolved against the
    folder cookiecutter was started from."""
    if Path(source).is_absolute():
        return source
    started_in = Path(os.environ.get("PWD", os.getcwd()))
    candidate = started_in / Path(source).expanduser()
    return str(candidate.resolve()) if (candidate / "copier.yml").is_file() else source


def record_source(answers: Path, source: str, version: str | None) -> None:
    """Fill in what copier writes itself when it generates: ``_src_path`` and ``_commit``."""
    lines = answers.read_text(encoding="utf-8").splitlines(keepends=True)
    values = {"_src_path": source, "_commit": version}
    for index, line in enumerate(lines):
        key = line.split(":", 1)[0]
        if key in values and values[key] is not None:
            # JSON strings are YAML strings: quoting survives any path or URL
            lines[index] = f"{key}: {json.dumps(values[key])}\n"
    answers.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    remove_rendered_hook()
    prune(OPTIONAL_PATHS)
    prune_unchosen(MANIFEST, {"tasks": CHOSEN_TASKS, "features": CHOSEN_FEATURES})
    if ANSWERS_FILE.is_file():
        record_source(ANSWERS_FILE, template_location(TEMPLATE_SOURCE),
                      template_version(TEMPLATE_COPY))
