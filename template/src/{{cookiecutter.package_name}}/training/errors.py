"""How every command ends on an error: a user's mistake as one line ``error: ...`` saying what to
do and exit status 2, a bug with its traceback; a command that failed before writing anything
leaves no run folder. No torch/Lightning imports: ``OutputCheck`` is loaded at Hydra's start-up."""

import difflib
import importlib.util
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, MissingMandatoryValue

USER_ERROR = 2  # the exit status of a command the user has to change
HYDRA_FILES = {".hydra"}  # what Hydra writes into every run folder (and <job name>.log)
# what a run or a sweep leaves in its folder (a command that failed at once: only Hydra's files)
RUN_RESULTS = ("summary.json", "summary.csv", "checkpoints", "*/summary.json")
{%- if "sweeps" in cookiecutter.__features.split(",") %}
# what Optuna raises when the sweeper asks for the best trial and every trial failed
OPTUNA_NOTHING_COMPLETED = "No trials are completed yet."
{%- endif %}
# optional dependencies: module (or dotted prefix) -> the pyproject extra that brings it (the
# tasks' and features' extras are written from manifest.yaml)
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
{%- set entries = ['"tensorboard": "tensorboard"', '"wandb": "wandb"', '"mlflow": "mlflow"'] %}
{%- for key, extra in manifest.extras.items() if key in extras %}
{%- for module in extra.modules %}{% set _ = entries.append('"%s": "%s"' % (module, key)) %}{% endfor %}
{%- endfor %}
{%- set line = "EXTRAS = {" ~ entries | join(", ") ~ "}" %}
{%- if line | length <= 100 %}
{{ line }}
{%- else %}
EXTRAS = {
{%- for entry in entries %}
    {{ entry }},
{%- endfor %}
}
{%- endif %}
# the options of the tasks and features left out (manifest.yaml), so that asking for one says how
# to add it: "<answer> <name>" (tasks/features and its name; a feature's part that also needs a task
# of inputs none chosen has: "<answer> <name> <inputs> <their first task>") -> "<group>/<option>"s
{%- set kept = [] %}
{%- for name, entry in manifest.tasks.items()|list + manifest.features.items()|list if name in chosen %}
{%- for group in entry.get("groups", []) %}{% for file in manifest.groups[group] %}{% set _ = kept.append(file) %}{% endfor %}{% endfor %}
{%- for file in entry.files %}{% set _ = kept.append(file) %}{% endfor %}
{%- for group, part in entry.get("with_groups", {}).items() if group in groups %}{% for file in part.files %}{% set _ = kept.append(file) %}{% endfor %}{% endfor %}
{%- endfor %}
{%- set seen, parts = [], {} %}
{%- for answer, entries in [("tasks", manifest.tasks), ("features", manifest.features)] %}
{%- for name, entry in entries.items() %}
{%- set files = [] %}
{%- if name not in chosen %}
{%- for group in entry.get("groups", []) %}{% for file in manifest.groups[group] %}{% set _ = files.append((file, answer ~ " " ~ name)) %}{% endfor %}{% endfor %}
{%- for file in entry.files %}{% set _ = files.append((file, answer ~ " " ~ name)) %}{% endfor %}
{%- endif %}
{%- for group, part in entry.get("with_groups", {}).items() if name not in chosen or group not in groups %}
{#- (the feature is chosen, no task of the group: the group's first task brings the part) #}
{%- set owners = [] %}{% for task, task_entry in manifest.tasks.items() if group in task_entry.groups %}{% set _ = owners.append(task) %}{% endfor %}
{%- set by = [answer, name] if group in groups else [answer, name, group, owners[0]] if name not in chosen else ["tasks", owners[0]] %}
{%- for file in part.files %}{% set _ = files.append((file, by | join(" "))) %}{% endfor %}
{%- endfor %}
{%- for file, by in files if file.startswith("configs/") and "/" in file[8:] and file.endswith(".yaml") and file not in kept and file[8:-5] not in seen %}
{%- set _ = seen.append(file[8:-5]) %}
{%- set _ = parts.setdefault(by, []).append(file[8:-5]) %}
{%- endfor %}
{%- endfor %}
{%- endfor %}
{#- one entry per part, its options wrapped as ruff formats them: '"a b"' then '" c",' #}
_LEFT_OUT: dict[str, str] = {
{%- for by, options in parts.items() %}
{%- set line = namespace(text='    "%s": "' % by) %}
{%- for option in options %}
{%- set piece = option if loop.first else " " ~ option %}
{%- if (line.text ~ piece) | length > 98 %}
{{ line.text }}"
{%- set line.text = '    "' ~ piece %}
{%- else %}
{%- set line.text = line.text ~ piece %}
{%- endif %}
{%- endfor %}
{{ line.text }}",
{%- else %}{% raw %}}{% endraw %}{#- (none: every task and feature is here) #}
{%- endfor %}
{%- if parts %}
}
{%- endif %}
NOT_GENERATED = {o: tuple(by.split()) for by, options in _LEFT_OUT.items() for o in options.split()}
{#- (CHOSEN and EXTRAS on one line where it fits, as ruff format writes them) #}
{%- set tasks, features = cookiecutter.__tasks.split(",") | select | list, cookiecutter.__features.split(",") | select | list %}
{%- set line = 'CHOSEN: dict[str, list[str]] = {"tasks": %s, "features": %s}' % (tasks | tojson, features | tojson) %}
{%- if line | length <= 100 %}
{{ line }}
{%- else %}
CHOSEN: dict[str, list[str]] = {
{%- for answer, names in [("tasks", tasks), ("features", features)] %}
{%- set line = '    "%s": %s,' % (answer, names | tojson) %}
{%- if line | length <= 100 %}
{{ line }}
{%- else %}
    "{{ answer }}": [
{%- for name in names %}
        "{{ name }}",
{%- endfor %}
    ],
{%- endif %}
{%- endfor %}
}
{%- endif %}


def not_generated(group: str, option: str) -> str | None:
    """How to add the task or feature that brings ``group=option`` (None: not one of those)."""
    by = NOT_GENERATED.get(f"{group}/{option}")
    return comes_with(f"{group}={option}", *by) if by else None


def generated(module: str) -> bool:
    """Whether ``<package>.<module>`` (``models.weights``) is in this project (not imported)."""
    return importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.{module}") is not None


def feature_missing(module: str, what: str, feature: str) -> str | None:
    """``what`` needs ``<package>.<module>`` of ``feature``: None where it is here, else how to add
    the feature."""
    return None if generated(module) else comes_with(what, "features", feature)


def comes_with(what: str, answer: str, name: str, group: str = "", task: str = "") -> str:
    """How to add the task or feature (``answer``: "tasks"/"features") ``what`` comes with; with
    ``group``/``task``: a part that also needs a task of those inputs (transfer's backbones)."""
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
    causes: list[BaseException] = []  # (Hydra wraps the errors of _target_s it instantiates)
    while error is not None and error not in causes:
        causes.append(error)
        error = error.__cause__ or error.__context__
    for cause in causes:
        if type(cause).__name__ == "ShapeError":  # training/shape_check.py: model vs data
            return f"shape check failed: {cause}"
        if getattr(cause, "user_error", False):  # ConfigError, CheckpointError, ...
            return str(cause)
        if isinstance(cause, ModuleNotFoundError) and (extra := missing_extra(cause.name)):
            return (
                f"{cause.name} is not installed: install the {extra} extra, "
                f"pip install -e '.[{extra}]'"
            )
        if isinstance(cause, MissingMandatoryValue):
            key = getattr(cause, "full_key", None) or "a value"
            return f"{key} is required: add {key}=... to the command"
{%- if "sweeps" in cookiecutter.__features.split(",") %}
        if isinstance(cause, ValueError) and str(cause) == OPTUNA_NOTHING_COMPLETED:
            return (
                "no trial of the Optuna sweep completed: each job's summary.json (in the sweep "
                "folder, multirun/<date>_<time>/<job>/) says why it failed"
            )
{%- endif %}
        if "No supported gpu backend found" in str(cause):
            return (
                "trainer=gpu asks for a GPU, but no GPU is visible to PyTorch "
                "(torch.cuda.is_available() is False): use trainer=cpu, or trainer=default "
                "(a GPU when there is one, else the CPU)"
            )
        if isinstance(cause, PermissionError):
            return (
                f"cannot write {cause.filename or 'a file'} (permission denied): run where you can "
                "write, or send the outputs elsewhere with hydra.run.dir=<writable folder>"
            )
        if isinstance(cause, FileNotFoundError | NotADirectoryError):
            name = cause.filename
            return str(cause) if name is None else f"{name} does not exist ({cause.strerror})"
    return None


def missing_extra(module: str | None) -> str | None:
    name = f"{module or ''}."
    return next((e for prefix, e in EXTRAS.items() if name.startswith(f"{prefix}.")), None)


def cli(main: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` function: Hydra's own errors (``model=nope``) end as one line too."""
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
    if isinstance(error, MissingConfigException) and error.options is not None:
        group, _, option = (error.missing_cfg_file or "").rpartition("/")
        if added := not_generated(group, option):
            return added
{%- if "sweeps" in cookiecutter.__features.split(",") %}
        # (the sweeps feature's launchers: hydra_plugins.hydra_joblib_launcher, ...)
        plugin = f"hydra_plugins.hydra_{option.split('_')[0]}_{group.rpartition('/')[2]}"
        if group.startswith("hydra/") and (extra := missing_extra(plugin)):
            return (
                f"{group}={option} is a Hydra plugin that is not installed: install the {extra}"
                f" extra, pip install -e '.[{extra}]'"
            )
{%- endif %}
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
    if not isinstance(error, ConfigCompositionException):
        return None
    cause = error.__cause__
    if not (isinstance(cause, ConfigKeyError | ConfigAttributeError) and cause.full_key):
        return " ".join(str(error).split())
    known = [str(k) for k in getattr(cause, "parent_node", None) or []]
    for override in sys.argv[1:]:
        key, _, option = override.partition("=")
        if key != cause.full_key:
            continue
        # a group whose every option comes with a part left out (hparams_search=...)
        if added := not_generated(key, option):
            return added
        if key.startswith("data."):  # an old name of a setting this data set has
            from .checkpoints import RENAMED_DATA_SETTINGS, renamed_message

            old = key.removeprefix("data.")
            if RENAMED_DATA_SETTINGS.get(old) in known:
                return renamed_message(old, option)
    prefix = cause.full_key.rpartition(".")[0]
    where = f"{prefix}." if prefix else ""
    return (
        f"{cause.full_key} is not a setting{_did_you_mean(str(cause.key), known, where)} (a new "
        f"key is added with a leading +: +{cause.full_key}=...)"
    )


def _did_you_mean(word: str, choices: Iterable[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(word, list(choices), n=2)
    return f" (did you mean {' or '.join(prefix + c for c in close)}?)" if close else ""


def run_command(
    job: Callable[[], Any], cfg: DictConfig | None = None, keep_empty_run_dir: bool = True
) -> Any:
    """``job()``; a failed command (or any, ``keep_empty_run_dir=False``) that wrote nothing but
    Hydra's files removes its run folder."""
    if HydraConfig.initialized():
        run_dir = Path(HydraConfig.get().runtime.output_dir)
    else:
        folder = OmegaConf.select(cfg, "paths.output_dir") if cfg is not None else None
        run_dir = Path(folder) if folder else None
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
        if not (run_dir and _already_reported(run_dir, message)):
            print(f"error: {message}", file=sys.stderr)
        sys.exit(USER_ERROR)
    if not keep_empty_run_dir:
        _remove_if_empty(run_dir)
    return result


def _remove_if_empty(run_dir: Path | None) -> None:
    if run_dir is None or not run_dir.is_dir():
        return
    if any(p.name not in HYDRA_FILES and not p.name.endswith(".log") for p in run_dir.iterdir()):
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


def _already_reported(run_dir: Path, message: str) -> bool:
    """The run's own summary (printed at its end) already carries this message."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return message in (summary.get("error") or "")


def reject_unknown_keys(
    cfg: DictConfig, primary_config: Path, overrides: Iterable[str] | None = None
) -> None:
    """``+model=cnn`` given to a command that has no ``model``: Hydra adds it and the command
    would ignore it. Raise ``ConfigError`` naming the keys it accepts instead."""
    from .validate import ConfigError

    if overrides is None:
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    raw = OmegaConf.load(primary_config)
    known = {k for k in raw if k != "defaults"}
    for entry in raw.get("defaults") or []:
        if isinstance(entry, str):
            known.add(entry.split("@", 1)[0].lstrip("/"))
        else:
            for group in entry:
                known.add(str(group).split("@", 1)[0].split("/", 1)[0].replace("override ", ""))
    known.discard("_self_")
    accepted = (*known, "hydra", "")
    # an override's top-level key: what comes before its first =, @, . or /
    unknown = [o for o in overrides if re.split("[=@./]", o.lstrip("+~"))[0] not in accepted]
    if unknown:
        raise ConfigError(
            f"{', '.join(unknown)}: {primary_config.stem}.py has no such setting; it accepts "
            f"{', '.join(sorted(known))} (see {primary_config.parent.name}/{primary_config.name})"
        )


def drop_unset(cfg: DictConfig, key: str) -> None:
    """Drop the nulls listed only so that ``key.<name>=`` works without ``+``."""
    node = cfg.get(key)
    if node is not None:
        values = OmegaConf.to_container(node, resolve=True)
        with read_write(cfg), open_dict(cfg):
            cfg[key] = {k: v for k, v in values.items() if v is not None}


class OutputCheck(Callback):
    """Before Hydra creates the run folder: one line instead of ``mkdir``'s traceback, and no run
    in a folder holding one (two runs in one folder mix files; the second crashes on its logs)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir")

    @staticmethod
    def _check(config: DictConfig, key: str) -> None:
        folder = Path(str(OmegaConf.select(config, key)))
        if problem := output_problem(folder) or used_folder_problem(folder, key, config):
            print(f"error: {problem}", file=sys.stderr)
            sys.exit(USER_ERROR)


def used_folder_problem(folder: Path, key: str, config: DictConfig) -> str | None:
    """Why ``folder`` cannot take a new run: it holds another's results (None: it can)."""
    # DDP's other processes join rank 0's folder on purpose (Lightning sets their LOCAL_RANK)
    if os.environ.get("LOCAL_RANK", "0") != "0" or not folder.is_dir():
        return None
    found = next((p for pattern in RUN_RESULTS for p in folder.glob(pattern)), None)
    if found is None:
        return None
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}
    # a resumed run may continue in its own folder (training/resume.py)
    resumed = OmegaConf.select(config, "ckpt_path", default=None)
    if resumed and str(resumed) != "last":
        resumed_path = Path(str(resumed)).expanduser().absolute()
        if resumed_path == folder.absolute() or folder.absolute() in resumed_path.parents:
            return None
{%- endif %}
    return (
        f"{key}={folder} already holds a run ({found.relative_to(folder)}): each run gets a "
        f"folder of its own; leave {key} to its default or choose a new folder"
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}
        f" (to continue that run: ckpt_path={folder})"
{%- endif %}
    )


def output_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written (None: it can)."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        problem = f"{existing} is not a folder; choose another"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is read-only; run where you can write, or choose another"
    else:
        return None
    return f"cannot create the run folder {folder}: {problem} with hydra.run.dir=<writable folder>"
