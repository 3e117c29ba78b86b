"""What every command (train, eval, predict, export, serve, clean, sweeps) does with an error:
one line, not a traceback.

A user's mistake (a missing or unreadable checkpoint, a value out of range, no GPU for
``trainer=gpu``, an outputs folder that cannot be written, an optional dependency not installed,
an unknown config option or a misspelt key) ends the command with one line ``error: ...`` that
says what to do, and exit status 2. Anything else is a bug and keeps its traceback. A command that
failed before it wrote anything leaves no empty run folder behind.

Every script ends in ``cli(main)``: Hydra's own errors (raised while it composes the config,
before ``main`` runs) and the job's (through ``run_command``) are shown here, in one way.

Kept free of torch/Lightning imports: ``OutputCheck`` is a Hydra callback, loaded at start-up.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

USER_ERROR = 2  # the exit status of a command the user has to change
HYDRA_FILES = {".hydra"}  # what Hydra writes into every run folder (and <job name>.log)
# what Optuna raises when the sweeper asks for the best trial and every trial failed
OPTUNA_NOTHING_COMPLETED = "No trials are completed yet."
# the optional dependencies: module (or its dotted prefix) -> the extra of pyproject.toml that
# brings it; the extras of the project's tasks and features are written from manifest.yaml
EXTRAS = {
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "mlflow": "mlflow",
{%- set manifest = cookiecutter._task_manifest %}
{%- set chosen = cookiecutter.__tasks.split(",") + cookiecutter.__features.split(",") %}
{%- set extras = [] %}
{%- set groups = [] %}
{%- for name, entry in manifest.tasks.items() if name in chosen %}{% set _ = groups.extend(entry.groups) %}{% endfor %}
{%- for name, entry in manifest.tasks.items()|list + manifest.features.items()|list if name in chosen %}
{%- for key in entry.extras if key not in extras %}{% set _ = extras.append(key) %}{% endfor %}
{%- for group, part in entry.get("with_groups", {}).items() if group in groups %}
{%- for key in part.extras if key not in extras %}{% set _ = extras.append(key) %}{% endfor %}
{%- endfor %}
{%- endfor %}
{%- for key, extra in manifest.extras.items() if key in extras %}
{%- for module in extra.modules %}
    "{{ module }}": "{{ key }}",
{%- endfor %}
{%- endfor %}
}
# the config options of the tasks and features this project was generated without (manifest.yaml):
# "<group>/<option>" -> (the answer that adds it, its name, and where a feature's part needs a
# task of some inputs too and none is chosen: that group and its first task; else ""), so that
# asking for one says how to add it instead of "no such option"
{%- set kept = [] %}
{%- for name, entry in manifest.tasks.items()|list + manifest.features.items()|list if name in chosen %}
{%- for group in entry.get("groups", []) %}{% for file in manifest.groups[group] %}{% set _ = kept.append(file) %}{% endfor %}{% endfor %}
{%- for file in entry.files %}{% set _ = kept.append(file) %}{% endfor %}
{%- for group, part in entry.get("with_groups", {}).items() if group in groups %}{% for file in part.files %}{% set _ = kept.append(file) %}{% endfor %}{% endfor %}
{%- endfor %}
{%- set missing = {} %}
{%- for answer, parts in [("tasks", manifest.tasks), ("features", manifest.features)] %}
{%- for name, entry in parts.items() %}
{%- set files = [] %}
{%- if name not in chosen %}
{%- for group in entry.get("groups", []) %}{% for file in manifest.groups[group] %}{% set _ = files.append((file, answer, name, "", "")) %}{% endfor %}{% endfor %}
{%- for file in entry.files %}{% set _ = files.append((file, answer, name, "", "")) %}{% endfor %}
{%- endif %}
{%- for group, part in entry.get("with_groups", {}).items() if name not in chosen or group not in groups %}
{#- (the feature is chosen, no task of the group: the group's first task brings the part) #}
{%- set owners = [] %}{% for task, task_entry in manifest.tasks.items() if group in task_entry.groups %}{% set _ = owners.append(task) %}{% endfor %}
{%- set by = (answer, name, "", "") if group in groups else (answer, name, group, owners[0]) if name not in chosen else ("tasks", owners[0], "", "") %}
{%- for file in part.files %}{% set _ = files.append((file, by[0], by[1], by[2], by[3])) %}{% endfor %}
{%- endfor %}
{%- for file, by_answer, by_name, by_group, by_task in files if file.startswith("configs/") and "/" in file[8:] and file.endswith(".yaml") and file not in kept and file[8:-5] not in missing %}
{%- set _ = missing.update({file[8:-5]: (by_answer, by_name, by_group, by_task)}) %}
{%- endfor %}
{%- endfor %}
{%- endfor %}
NOT_GENERATED: dict[str, tuple[str, str, str, str]] = {
{%- for option, (answer, name, group, task) in missing.items() %}
    "{{ option }}": ("{{ answer }}", "{{ name }}", "{{ group }}", "{{ task }}"),
{%- else %}{% raw %}}{% endraw %}{#- (none: every task and feature is here) #}
{%- endfor %}
{%- if missing %}
}
{%- endif %}
CHOSEN: dict[str, list[str]] = {
{%- for answer in ("tasks", "features") %}
{%- set names = cookiecutter["__" ~ answer].split(",") | select | list %}
{%- if names %}
    "{{ answer }}": [
{%- for name in names %}
        "{{ name }}",
{%- endfor %}
    ],
{%- else %}
    "{{ answer }}": [],
{%- endif %}
{%- endfor %}
}


def not_generated(group: str, option: str) -> str | None:
    """How to add the task or feature that brings ``group=option`` (None: not one of those)."""
    if f"{group}/{option}" not in NOT_GENERATED:
        return None
    return comes_with(f"{group}={option}", *NOT_GENERATED[f"{group}/{option}"])


def generated(module: str) -> bool:
    """Whether ``<package>.<module>`` (e.g. ``models.weights``) is in this project: a task or
    feature chosen without it leaves its files out. Found without importing it."""
    import importlib.util

    return importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.{module}") is not None


def feature_missing(module: str, what: str, feature: str) -> str | None:
    """``what`` needs ``<package>.<module>``, a file of ``feature``: None where the project has
    it, else the line that says how to add the feature."""
    return None if generated(module) else comes_with(what, "features", feature)


def comes_with(what: str, answer: str, name: str, group: str = "", task: str = "") -> str:
    """``what`` comes with a task or feature (``answer``: "tasks" or "features") this project was
    generated without: how to add it. ``group``/``task``: a feature's part that also needs a task
    of those inputs (transfer's image backbones), none of which is here: that one too."""
    wanted = json.dumps([*CHOSEN[answer], name])
    needs, add = f"the {name} {answer[:-1]}", f"--data '{answer}={wanted}'"
    if task:
        needs += f" and {'an' if group[0] in 'aeiou' else 'a'} {group} task such as {task}"
        add += f" --data 'tasks={json.dumps([*CHOSEN['tasks'], task])}'"
    return (
        f"{what} comes with {needs}, which this project was generated without: add"
        f" {'them' if task else 'it'} with copier update --defaults {add} (docs/maintenance.md)"
    )


def user_message(error: BaseException) -> str | None:
    """The one-line message for an error the user can fix; None for anything else (a bug)."""
    from .validate import ConfigError

    for cause in _chain(error):
        if type(cause).__name__ == "ShapeError":  # training/shape_check.py: model vs data
            return f"shape check failed: {cause}"
        if isinstance(cause, ConfigError) or getattr(cause, "user_error", False):
            return str(cause)
        if isinstance(cause, ModuleNotFoundError) and (extra := missing_extra(cause.name)):
            return (
                f"{cause.name} is not installed: install the {extra} extra, "
                f"pip install -e '.[{extra}]'"
            )
        if isinstance(cause, MissingMandatoryValue):
            key = getattr(cause, "full_key", None) or "a value"
            return f"{key} is required: add {key}=... to the command"
        if type(cause).__name__ == "CheckpointError":
            return str(cause)
        if isinstance(cause, ValueError) and str(cause) == OPTUNA_NOTHING_COMPLETED:
            return (
                "no trial of the Optuna sweep completed: each job's summary.json (in the sweep "
                "folder, multirun/<date>_<time>/<job>/) says why it failed"
            )
        if "No supported gpu backend found" in str(cause):
            return (
                "trainer=gpu asks for a GPU, but no GPU is visible to PyTorch "
                "(torch.cuda.is_available() is False): use trainer=cpu, or trainer=default "
                "(a GPU when there is one, else the CPU)"
            )
        if isinstance(cause, PermissionError):
            where = cause.filename or "a file"
            return (
                f"cannot write {where} (permission denied): run where you can write, or "
                "send the outputs elsewhere with hydra.run.dir=<writable folder>"
            )
        if isinstance(cause, FileNotFoundError | NotADirectoryError):
            return (
                str(cause)
                if cause.filename is None
                else (f"{cause.filename} does not exist ({cause.strerror})")
            )
    return None


def missing_extra(module: str | None) -> str | None:
    """The extra that installs ``module`` (None: not an optional dependency)."""
    name = module or ""
    matches = (e for prefix, e in EXTRAS.items() if f"{name}.".startswith(f"{prefix}."))
    return next(matches, None)


def cli(main: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` function, showing Hydra's own errors (an unknown option such as
    ``model=nope``, a misspelt key, an override it cannot parse) as one line with exit status 2,
    like every other mistake in what was asked. Each script's ``__main__`` calls this."""
    # Hydra prints its errors itself unless HYDRA_FULL_ERROR is set; set, they reach us
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    try:
        main()
    except Exception as error:
        message = hydra_message(error) or user_message(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(USER_ERROR)


def hydra_message(error: BaseException) -> str | None:
    """One line for an error Hydra raised while composing the config (None: not one of those)."""
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    if isinstance(error, MissingConfigException) and error.options is not None:
        group, _, option = (error.missing_cfg_file or "").rpartition("/")
        if added := not_generated(group, option):
            return added
        plugin = f"hydra_plugins.hydra_{option.split('_')[0]}_{group.rpartition('/')[2]}"
        if group.startswith("hydra/") and (extra := missing_extra(plugin)):
            return (
                f"{group}={option} is a Hydra plugin that is not installed: install the {extra}"
                f" extra, pip install -e '.[{extra}]'"
            )
        folder = "" if group.startswith("hydra/") else f" (configs/{group}/)"
        return (
            f"{group}={option}: no such option{_did_you_mean(option, error.options, group + '=')};"
            f" {group} is one of {', '.join(error.options)}{folder}"
        )
    if isinstance(error, OverrideParseException):
        override = str(error).splitlines()[0].split(": ", 1)[-1]
        return (
            f"cannot read the override {override}: quote a value with special characters, "
            """e.g. 'key="~/data"' (Hydra's override grammar)"""
        )
    if isinstance(error, ConfigCompositionException):
        cause = error.__cause__
        unknown_key = isinstance(cause, ConfigKeyError | ConfigAttributeError)
        if unknown_key and cause.full_key:
            # a config group whose every option comes with a part left out (hparams_search=...)
            for override in sys.argv[1:]:
                key, _, option = override.partition("=")
                if key == cause.full_key and (added := not_generated(key, option)):
                    return added
            parent = getattr(cause, "parent_node", None)
            known = [str(k) for k in parent] if parent is not None else []
            for override in sys.argv[1:]:  # an old name of a setting this data set has
                key, _, option = override.partition("=")
                if key == cause.full_key and key.startswith("data."):
                    from .checkpoints import RENAMED_DATA_SETTINGS, renamed_message

                    old = key.removeprefix("data.")
                    if RENAMED_DATA_SETTINGS.get(old) in known:
                        return renamed_message(old, option)
            prefix = cause.full_key.rpartition(".")[0]
            where = f"{prefix}." if prefix else ""
            return (
                f"{cause.full_key} is not a setting"
                f"{_did_you_mean(str(cause.key), known, where)} (a new key is added with a "
                f"leading +: +{cause.full_key}=...)"
            )
        return " ".join(str(error).split())
    return None


def _did_you_mean(word: str, choices: Iterable[str], prefix: str = "") -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=2)
    return f" (did you mean {' or '.join(prefix + c for c in close)}?)" if close else ""


def run_command(
    job: Callable[[], Any],
    cfg: DictConfig | None = None,
    keep_empty_run_dir: bool = True,
) -> Any:
    """``job()``; a user error -> one line on stderr and exit 2. A failed command (or, with
    ``keep_empty_run_dir=False``, any command) that wrote nothing into its run folder but
    Hydra's own files removes that folder."""
    run_dir = _run_dir(cfg)
    try:
        result = job()
    except SystemExit:
        _remove_if_empty(run_dir)
        raise
    except Exception as error:
        message = user_message(error)
        _remove_if_empty(run_dir)
        if message is None:
            raise
        if not _already_reported(run_dir, message):
            print(f"error: {message}", file=sys.stderr)
        sys.exit(USER_ERROR)
    if not keep_empty_run_dir:
        _remove_if_empty(run_dir)
    return result


def reject_unknown_keys(
    cfg: DictConfig, primary_config: Path, overrides: Iterable[str] | None = None
) -> None:
    """``+model=cnn`` given to a command that has no ``model``: Hydra adds it and the command
    silently ignores it. Raise ``ConfigError`` naming the keys it accepts instead."""
    from .validate import ConfigError

    known = _known_keys(primary_config)
    if overrides is None:
        overrides = _task_overrides()
    unknown = []
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0].split("@", 1)[0]
        top = key.split(".", 1)[0].split("/", 1)[0]
        if top and top not in known and top != "hydra":
            unknown.append(override)
    if unknown:
        raise ConfigError(
            f"{', '.join(unknown)}: {primary_config.stem}.py has no such setting; it accepts "
            f"{', '.join(sorted(known))} (see {primary_config.parent.name}/{primary_config.name})"
        )


def drop_unset(cfg: DictConfig, key: str) -> None:
    """Settings listed as null in a config only so that ``key.<name>=`` works without ``+``:
    removed, so what is passed on holds only what the user set."""
    node = cfg.get(key)
    if node is None:
        return
    values = {k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if v is not None}
    with _writable(cfg):
        cfg[key] = values


class OutputCheck(Callback):
    """Before Hydra creates the run folder (and writes its .hydra/ files into it): a clear
    message when it cannot (a read-only outputs folder) instead of a traceback from ``mkdir``,
    and a refusal to run in a folder that already holds a run (two runs forced into one
    ``hydra.run.dir`` would mix their files, and the second would crash on the first's logs)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir")

    @staticmethod
    def _check(config: DictConfig, key: str) -> None:
        folder = Path(str(OmegaConf.select(config, key)))
        problem = output_problem(folder) or used_folder_problem(folder, key, config)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            sys.exit(USER_ERROR)


# what a run or a sweep leaves in its folder (Hydra's own .hydra/ and log do not count: a command
# that failed at once leaves only those)
RUN_RESULTS = ("summary.json", "summary.csv", "checkpoints", "*/summary.json")


def used_folder_problem(folder: Path, key: str, config: DictConfig) -> str | None:
    """Why ``folder`` cannot take a new run: it holds another's results (None: it can). The
    other processes of a DDP run join rank 0's folder on purpose (Lightning sets their
    LOCAL_RANK), and a run may continue in the folder of the run it resumes (where the project
    can resume: training/resume.py)."""
    if os.environ.get("LOCAL_RANK", "0") != "0" or not folder.is_dir():
        return None
    found = next((p for pattern in RUN_RESULTS for p in folder.glob(pattern)), None)
    if found is None:
        return None
    resumable = generated("training.resume")
    resumed = OmegaConf.select(config, "ckpt_path", default=None) if resumable else None
    if resumed and str(resumed) != "last":
        resumed_path = Path(str(resumed)).expanduser().absolute()
        if resumed_path == folder.absolute() or folder.absolute() in resumed_path.parents:
            return None
    return (
        f"{key}={folder} already holds a run ({found.relative_to(folder)}): each run gets a "
        f"folder of its own; leave {key} to its default or choose a new folder"
        + (f" (to continue that run: ckpt_path={folder})" if resumable else "")
    )


def output_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written (None: it can)."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return (
            f"cannot create the run folder {folder}: {existing} is not a folder; choose "
            "another with hydra.run.dir=<writable folder>"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        return (
            f"cannot create the run folder {folder}: {existing} is read-only; run where "
            "you can write, or choose another with hydra.run.dir=<writable folder>"
        )
    return None


def _chain(error: BaseException) -> list[BaseException]:
    """The error and its causes (Hydra wraps the errors of ``_target_``s it instantiates)."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _run_dir(cfg: DictConfig | None) -> Path | None:
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    folder = OmegaConf.select(cfg, "paths.output_dir") if cfg is not None else None
    return Path(folder) if folder else None


def _remove_if_empty(run_dir: Path | None) -> None:
    if run_dir is None or not run_dir.is_dir():
        return
    names = {p.name for p in run_dir.iterdir()}
    if not all(name in HYDRA_FILES or name.endswith(".log") for name in names):
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    # and the folders Hydra made for it (outputs/eval/), when nothing else is in them
    cwd = Path.cwd().resolve()
    for parent in run_dir.resolve().parents:
        if parent == cwd or cwd not in parent.parents:
            break
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break


def _already_reported(run_dir: Path | None, message: str) -> bool:
    """The run's own summary (printed at its end) already carries this message."""
    path = run_dir / "summary.json" if run_dir else None
    if path is None or not path.is_file():
        return False
    try:
        recorded = json.loads(path.read_text(encoding="utf-8")).get("error") or ""
    except (OSError, ValueError):
        return False
    return message in recorded


def _known_keys(primary_config: Path) -> set[str]:
    raw = OmegaConf.load(primary_config)
    keys = {k for k in raw if k != "defaults"}
    for entry in raw.get("defaults") or []:
        if isinstance(entry, str):
            keys.add(entry.split("@", 1)[0].lstrip("/"))
        else:
            for group in entry:
                keys.add(str(group).split("@", 1)[0].split("/", 1)[0].replace("override ", ""))
    return keys - {"_self_"}


def _task_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


class _writable:
    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    def __enter__(self):
        self.struct, self.readonly = OmegaConf.is_struct(self.cfg), OmegaConf.is_readonly(self.cfg)
        OmegaConf.set_struct(self.cfg, False)
        OmegaConf.set_readonly(self.cfg, False)

    def __exit__(self, *exc) -> None:
        OmegaConf.set_struct(self.cfg, self.struct)
        OmegaConf.set_readonly(self.cfg, self.readonly)
