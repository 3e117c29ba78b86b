"""The `tasks` and `features` answers: a project holds only the chosen tasks' and features' files
and dependencies, as manifest.yaml lists them, whichever tool generates it; a wrong answer stops
with one line."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from test_generate import assert_clean_render, ruff_check
from test_update import copier_questions

from conftest import BIN, REPO, cookiecutter_cli, generate, imports_then_pytest, project_files

MANIFEST = yaml.safe_load((REPO / "manifest.yaml").read_text())
TASKS = list(MANIFEST["tasks"])
FEATURES = list(MANIFEST["features"])
PACKAGE_DIR = "{{cookiecutter.package_name}}"
TASK_OPTIONS = sorted(p.stem for p in (REPO / "template/configs/task").glob("*.yaml"))

def entry_files(section: str, name: str) -> set[str]:
    entry = MANIFEST[section][name]
    grouped = (p for group in entry.get("groups", []) for p in MANIFEST["groups"][group])
    return {*grouped, *entry["files"]}


def task_files(task: str) -> set[str]:
    return entry_files("tasks", task)


def group_parts(tasks: list[str], features: list[str]) -> list[tuple[bool, dict]]:
    """(chosen?, part) for each feature's `with_groups` part: chosen with the feature and a task
    that uses the group."""
    groups = {g for t in tasks for g in MANIFEST["tasks"][t]["groups"]}
    return [(name in features and group in groups, part)
            for name, entry in MANIFEST["features"].items()
            for group, part in entry.get("with_groups", {}).items()]


# Every module any task or feature brings (manifest paths under src/*/, as dotted names below the
# package): a render may import one of these inside a function, behind a check that it is there.
OPTIONAL_MODULES = {
    path[len("src/*/"):-len(".py")].replace("/", ".")
    for entry in [*MANIFEST["tasks"].values(), *MANIFEST["features"].values()]
    for path in [*entry["files"],
                 *(p for group in entry.get("groups", []) for p in MANIFEST["groups"][group]),
                 *(p for part in entry.get("with_groups", {}).values() for p in part["files"])]
    if path.startswith("src/*/") and path.endswith(".py")
}


def missing_imports(project: Path) -> list[str]:
    """What the render's code names of its own package that the render lacks: a module imported
    at module level (in src/, tests/ and the scripts), inside a function unless a task or feature
    brings it (such an import sits behind a check that the part is here), or a config's
    `_target_`. Read, not run: what importing every module and collecting the tests would find
    for imports, also in functions that no test calls."""
    src = project / "src"
    [package] = [p.name for p in src.iterdir() if p.is_dir() and not p.name.endswith("-info")]
    modules = {".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
               for p in src.rglob("*.py")}
    missing = []
    for file in [*src.rglob("*.py"), *(project / "tests").glob("*.py"), *project.glob("*.py")]:
        inside = file.is_relative_to(src)
        parts = list(file.relative_to(src).with_suffix("").parts) if inside else []
        tree = ast.parse(file.read_text())
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the file's package upwards
                    base = ".".join([*parts[:len(parts) - node.level], *filter(None, [base])])
                # `from package.x import y`: y is a module of the package, or a name in x
                names = [base if f"{base}.{a.name}" not in modules else f"{base}.{a.name}"
                         for a in node.names]
            else:
                continue
            for name in names:
                if name.partition(".")[0] != package or name in modules:
                    continue
                if id(node) in top_level or name.partition(".")[2] not in OPTIONAL_MODULES:
                    missing.append(f"{file.relative_to(project)}:{node.lineno} imports {name}")
    for config in (project / "configs").rglob("*.yaml"):
        for target in re.findall(rf"_target_:\s*({package}\.[\w.]+)", config.read_text()):
            if target.rpartition(".")[0] not in modules:
                missing.append(f"{config.relative_to(project)}: _target_ {target}")
    return missing


# Renders: each task alone (no feature), each feature with the default task, and everything.
RENDERS = [*TASKS, *(f"+{feature}" for feature in FEATURES), "all"]


def answers_of(render: str) -> dict[str, str]:
    if render == "all":
        return {"tasks": "all", "features": "all"}
    return {"features": render[1:]} if render.startswith("+") else {"tasks": render}


def chosen(render: str) -> tuple[list[str], list[str]]:
    """(tasks, features) of a render."""
    given = answers_of(render)
    tasks, features = given.get("tasks", "classification"), given.get("features", "none")
    return (TASKS if tasks == "all" else tasks.split(","),
            FEATURES if features == "all" else [] if features == "none" else features.split(","))


def unchosen_files(render: str) -> set[str]:
    names = dict(zip(("tasks", "features"), chosen(render), strict=True))
    needed, unneeded = set(), set()
    for section, picked in names.items():
        for name in MANIFEST[section]:
            (needed if name in picked else unneeded).update(entry_files(section, name))
    for wanted, part in group_parts(*chosen(render)):
        (needed if wanted else unneeded).update(part["files"])
    return unneeded - needed


def chosen_files(render: str) -> set[str]:
    tasks, features = chosen(render)
    return set().union(*(task_files(t) for t in tasks),
                       *(entry_files("features", f) for f in features),
                       *(set(part["files"]) for wanted, part in group_parts(tasks, features)
                         if wanted))


def chosen_entries(render: str) -> list[dict]:
    tasks, features = chosen(render)
    return [*(MANIFEST["tasks"][t] for t in tasks), *(MANIFEST["features"][f] for f in features),
            *(part for wanted, part in group_parts(tasks, features) if wanted)]


def present(project: Path, pattern: str) -> list[Path]:
    return list(project.glob(pattern))


def test_the_manifest_lists_every_task_option_and_only_template_files():
    assert sorted(TASKS) == TASK_OPTIONS
    for task in TASKS:
        entry = MANIFEST["tasks"][task]
        assert set(entry) == {"domain", "title", "inputs", "groups", "files", "dependencies",
                              "extras", "search", "ladder", "own_data"}, task
        assert (REPO / f"template/src/{PACKAGE_DIR}/inputs/{entry['inputs']}.py").is_file(), task
        assert entry["search"].startswith("model."), task  # an option of the task's model
        # the ladder's models are the task's own (experiment=ladder trains them)
        assert entry["ladder"] and all(f"configs/model/{m}.yaml" in task_files(task)
                                       for m in entry["ladder"]), task
        assert f"configs/task/{task}.yaml" in task_files(task)
        assert set(entry["dependencies"]) <= set(MANIFEST["requirements"]), task
        assert set(entry["extras"]) <= set(MANIFEST["extras"]), task
        for pattern in task_files(task):
            path = REPO / "template" / pattern.replace("src/*/", f"src/{PACKAGE_DIR}/")
            assert path.is_file(), f"{task}: {pattern} is not a file of template/"
    for feature in FEATURES:
        entry = MANIFEST["features"][feature]
        assert set(entry) - {"with_groups"} == {"title", "files", "dependencies", "extras"}, feature
        assert set(entry["extras"]) <= set(MANIFEST["extras"]), feature
        parts = entry.get("with_groups", {})
        assert set(parts) <= set(MANIFEST["groups"]), feature
        for part in parts.values():
            assert set(part) == {"files", "extras"}, feature
            assert set(part["extras"]) <= set(MANIFEST["extras"]), feature
        for pattern in [*entry["files"], *(p for part in parts.values() for p in part["files"])]:
            path = REPO / "template" / pattern.replace("src/*/", f"src/{PACKAGE_DIR}/")
            assert path.is_file(), f"{feature}: {pattern} is not a file of template/"
    # `folders`: exactly the folders of template/ whose files are all listed (copier's `_exclude`
    # leaves such a folder out when none of its files is chosen)
    template = REPO / "template"
    shipped = {p.relative_to(template).as_posix().replace(f"src/{PACKAGE_DIR}/", "src/*/")
               for p in template.rglob("*") if p.is_file()}
    listed = set().union(*(task_files(t) for t in TASKS),
                         *(entry_files("features", f) for f in FEATURES),
                         *(set(part["files"]) for _, part in group_parts(TASKS, FEATURES)))
    folders = {str(parent) for path in shipped for parent in Path(path).parents} - {"."}
    assert MANIFEST["folders"] == sorted(
        folder for folder in folders
        if all(path in listed for path in shipped if path.startswith(folder + "/")))
    # what every task needs stays shared: the core of each package and the default config
    assert not {p for p in listed if p.endswith("/base.py") or p.endswith("__init__.py")}
    # tests/conftest.py knows a feature by one of its files
    conftest = (REPO / "template/tests/conftest.py").read_text()
    for feature in FEATURES:
        [line] = [line for line in conftest.splitlines() if line.startswith(f'    "{feature}": ')]
        assert line.split(": ")[1].strip('",') in entry_files("features", feature), feature


def test_both_tools_offer_the_manifests_tasks_and_features_in_its_order():
    questions = copier_questions()
    assert list(questions["tasks"]["choices"].values()) == TASKS
    assert list(questions["features"]["choices"].values()) == FEATURES
    prompts = json.loads((REPO / "cookiecutter.json").read_text())["__prompts__"]
    assert ", ".join(TASKS) in prompts["tasks"]
    assert all(f"{feature}: " in prompts["features"] for feature in FEATURES)


@pytest.mark.parametrize("answer", RENDERS)
def test_each_task_alone_each_feature_and_all_render_lint_and_hold_only_their_files(tmp_path,
                                                                                    answer):
    project = generate(tmp_path, **answers_of(answer))
    tasks, features = chosen(answer)
    files = project_files(project)
    for pattern in unchosen_files(answer):
        assert not present(project, pattern), f"{pattern} of an unchosen part is in {answer}"
    for pattern in chosen_files(answer):
        assert present(project, pattern), f"{pattern} of {answer} is missing"
    assert not [path for path in project.rglob("*") if path.is_dir() and not any(path.iterdir())]
    assert_clean_render(project)
    lint = ruff_check(project)
    assert lint.returncode == 0, lint.stdout
    assert missing_imports(project) == []  # (the tasks' renders also import it all, below)
    formatted = subprocess.run([str(BIN / "ruff"), "format", "--check", "--no-cache", "."],
                               cwd=project, capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout

    # the dependencies and extras follow the tasks and features; [dev] installs every extra
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    dependencies = " ".join(pyproject["dependencies"])
    entries = chosen_entries(answer)
    for key, requirement in MANIFEST["requirements"].items():
        wanted = any(key in entry.get("dependencies", []) for entry in entries)
        assert (requirement in dependencies) == wanted, (answer, key)
    extras = pyproject["optional-dependencies"]
    for key in MANIFEST["extras"]:
        assert (key in extras) == any(key in entry["extras"] for entry in entries), (answer, key)
    # the missing-module hint (training/errors.py) names the extras of the project's parts only
    [errors] = project.glob("src/*/training/errors.py")
    hints = errors.read_text()
    for key, extra in MANIFEST["extras"].items():
        for module in extra["modules"]:
            assert (f'"{module}": "{key}"' in hints) == (key in extras), (answer, key, module)
    [itself] = [r for r in extras["dev"] if r.startswith(f"{pyproject['name']}[")]
    assert set(itself.partition("[")[2].rstrip("]").split(",")) == set(extras) - {"dev"}

    # name, description and default task follow the tasks
    domains = {MANIFEST["tasks"][t]["domain"] for t in tasks}
    name = f"My {domains.pop() if len(domains) == 1 else 'Deep Learning'} Project"
    assert (project / "README.md").read_text().startswith(f"# {name}\n")
    if len(tasks) == 1:
        assert pyproject["description"].startswith(MANIFEST["tasks"][tasks[0]]["title"])
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert {"task": tasks[0]} in train["defaults"]
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["tasks"] == tasks and answers["default_task"] == tasks[0]
    assert answers["features"] == features
    assert "configs/task/" + tasks[0] + ".yaml" in files
    # experiment=ladder trains the default task's models, all of them in this project
    ladder = yaml.safe_load((project / "configs/experiment/ladder.yaml").read_text())
    models = ladder["hydra"]["sweeper"]["params"]["model"].split(",")
    assert models == MANIFEST["tasks"][tasks[0]]["ladder"]
    assert all(f"configs/model/{m}.yaml" in files for m in models)
    # the notebook's next steps: the default task's models and own-data command
    notebook = json.loads((project / "notebooks/quickstart.ipynb").read_text())
    steps = "".join(notebook["cells"][-1]["source"])
    assert MANIFEST["tasks"][tasks[0]]["own_data"] in steps and f"model={models[0]}`" in steps


@pytest.mark.parametrize("tool", ["cookiecutter", "copier"])
@pytest.mark.parametrize("task", ["segmentation", "text"])
def test_the_optuna_preset_searches_the_default_tasks_model_option(tmp_path, task, tool):
    """hparams_search/optuna.yaml searches the option manifest.yaml gives the default task."""
    if tool == "cookiecutter":
        project = generate(tmp_path, tasks=task, features="sweeps")
    else:
        from copier import run_copy

        project = tmp_path / "project"
        run_copy(str(REPO), project, data={"tasks": [task], "features": ["sweeps"]},
                 defaults=True, quiet=True)
    preset = yaml.safe_load((project / "configs/hparams_search/optuna.yaml").read_text())
    key, _, space = MANIFEST["tasks"][task]["search"].partition(": ")
    assert preset["hydra"]["sweeper"]["params"][key] == space
    # the manifest is the one place that knows it
    template = (REPO / "template/configs/hparams_search/optuna.yaml").read_text()
    assert not [t for t in TASKS if MANIFEST["tasks"][t]["search"] in template]


TRANSFER_FILES = ["src/*/training/finetune.py", "src/*/models/zoo.py", "src/*/models/weights.py",
                  "src/*/models/hub.py", "configs/finetune/fine_tune.yaml",
                  "configs/model/resnet18.yaml", "configs/model/timm.yaml",
                  "configs/experiment/transfer_demo.yaml", "docs/transfer.md",
                  "tests/test_finetune.py", "tests/test_transfer.py", "tests/test_zoo.py"]


def test_transfer_learning_comes_only_with_the_transfer_feature(default_project, tmp_path):
    """The default project has no fine-tuning schedules, zoo or timm extra, and says how to add
    them; features=transfer (with image classification) has all of them."""
    assert not [pattern for pattern in TRANSFER_FILES if present(default_project, pattern)]
    assert "timm" not in tomllib.loads((default_project / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]
    train = yaml.safe_load((default_project / "configs/train.yaml").read_text())
    assert {"finetune": None} in train["defaults"]
    [errors] = default_project.glob("src/*/training/errors.py")
    left_out = re.search(r'\n    "features transfer": (".*?"),\n', errors.read_text(), re.S)
    assert "finetune/fine_tune" in ast.literal_eval(f"({left_out[1]})").split()
    project = generate(tmp_path, features="transfer")
    assert [pattern for pattern in TRANSFER_FILES if not present(project, pattern)] == []
    assert "timm" in tomllib.loads((project / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert {"finetune": "none"} in train["defaults"]


RESUME_FILES = ["src/*/training/resume.py", "docs/resume.md", "tests/test_resume.py"]


def callbacks(project: Path) -> set[str]:
    return set(yaml.safe_load((project / "configs/callbacks/default.yaml").read_text()))


def test_resuming_comes_with_the_resume_feature_and_its_module_with_cv_too(default_project,
                                                                          tmp_path):
    """The default project writes checkpoints (checkpoint_writer.py) but cannot resume from them:
    no resume.py, no callbacks of it, and the docs say how to add it. features=resume has all its
    files; so has features=cv (an interrupted cross-validation resumes its folds with it)."""
    assert not [pattern for pattern in RESUME_FILES if present(default_project, pattern)]
    assert present(default_project, "src/*/training/checkpoint_writer.py")
    assert not {"resume", "rng_state"} & callbacks(default_project)
    readme = (default_project / "README.md").read_text()
    assert "resuming with `ckpt_path=last` comes with the `resume` feature" in readme
    assert "- `resume`: resume an interrupted run: ckpt_path=last" in readme
    scale_out = (default_project / "docs/scale-out.md").read_text()
    assert "ckpt_path=outputs" not in scale_out and "comes with the `resume` feature" in scale_out
    project = generate(tmp_path / "resume", features="resume")
    assert [pattern for pattern in RESUME_FILES if not present(project, pattern)] == []
    assert {"resume", "rng_state"} <= callbacks(project)
    assert "docs/resume.md" in (project / "README.md").read_text()
    cv = generate(tmp_path / "cv", features="cv")
    assert [pattern for pattern in RESUME_FILES if not present(cv, pattern)] == []
    assert {"resume", "rng_state"} <= callbacks(cv)
    assert "docs/resume.md" in (cv / "README.md").read_text()


PREDICT_FILES = ["predict.py", "configs/predict.yaml", "src/*/analysis/predict_files.py",
                 "docs/deploy.md"]
DDP_FILES = ["src/*/training/distributed.py", "src/*/training/threads.py",
             "configs/trainer/ddp.yaml", "configs/trainer/ddp_cpu.yaml", "tests/test_ddp.py",
             "tests/test_threads.py"]


def project_text(project: Path) -> str:
    """The README and every page of docs/, as one text."""
    pages = [project / "README.md", *sorted((project / "docs").rglob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def test_predicting_and_ddp_come_with_their_features(default_project, tmp_path):
    """The default project has neither predict.py nor the DDP code, and its README and docs say
    which feature brings them; features=deploy,ddp has all their files and names them."""
    assert not [p for p in PREDICT_FILES + DDP_FILES if present(default_project, p)]
    text = project_text(default_project)
    assert "predict.py" not in text and "python train.py trainer=ddp" not in text
    assert "(`trainer=ddp`, `trainer=ddp_cpu`) come with the\n`ddp` feature" in text
    assert "Predicting new files,\nexporting and serving come with the `deploy` feature" in text
    assert "- `deploy`: predict new files, export to ONNX" in text
    assert "- `ddp`: several GPUs or CPU processes with Lightning DDP" in text
    [errors] = default_project.glob("src/*/training/errors.py")
    assert '"features ddp": "trainer/ddp trainer/ddp_cpu",' in errors.read_text()
    project = generate(tmp_path, features="deploy,ddp")
    assert [p for p in PREDICT_FILES + DDP_FILES if not present(project, p)] == []
    text = project_text(project)
    assert "python predict.py ckpt_path=" in text and "## Several GPUs or nodes (DDP)" in text
    # threads.py: also with the sweeps feature's parallel launcher, or cv.parallel
    for feature in ("sweeps", "cv"):
        project = generate(tmp_path / feature, features=feature)
        assert present(project, "src/*/training/threads.py"), feature
        assert not present(project, "src/*/training/distributed.py"), feature


def test_the_default_project_is_image_classification_named_as_before(default_project):
    assert default_project.name == "my-vision-project"
    assert sorted(p.stem for p in (default_project / "configs/task").glob("*.yaml")) == [
        "classification"]


def render_env(project: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize(("answer", "message"), [
    ("tasks=images", "images is not a task"),
    ("tasks=text,tabel", "tabel is not a task"),
    ("tasks=,", "no task given"),
])
def test_an_invalid_tasks_answer_says_so_in_one_line_and_writes_nothing(tmp_path, answer,
                                                                        message):
    out = tmp_path / "out"
    out.mkdir()
    result = cookiecutter_cli("--no-input", str(REPO), answer, "-o", str(out), cwd=tmp_path)
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if "tasks=" in line]
    assert message in line and ", ".join(TASKS) in line and "or all" in line
    assert "Traceback" not in result.stderr + result.stdout
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("answer", ["features=cv,serve", "features=deploy,"])
def test_an_invalid_features_answer_says_so_in_one_line_and_writes_nothing(tmp_path, answer):
    out = tmp_path / "out"
    out.mkdir()
    result = cookiecutter_cli("--no-input", str(REPO), answer, "-o", str(out), cwd=tmp_path)
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if "features=" in line]
    assert "is not a feature" in line and ", ".join(FEATURES) in line
    assert "Traceback" not in result.stderr + result.stdout
    assert list(out.iterdir()) == []


def test_a_default_task_outside_the_chosen_tasks_is_refused(tmp_path):
    result = cookiecutter_cli("--no-input", str(REPO), "tasks=tabular,text",
                              "default_task=classification", "-o", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert ("default_task='classification' is not one of the chosen tasks: tabular, text"
            in result.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("answers", "message"), [
    ({"tasks": []}, "Choose at least one task"),
    ({"tasks": ["tabular"], "default_task": "text"},
     "default_task must be one of the chosen tasks: tabular"),
])
def test_copier_refuses_no_task_and_a_default_task_not_chosen(tmp_path, answers, message):
    from copier import run_copy

    with pytest.raises(ValueError, match=message):
        run_copy(str(REPO), tmp_path / "project", data=answers, defaults=True, quiet=True)
    assert not (tmp_path / "project").exists()


@pytest.mark.slow
@pytest.mark.parametrize("answer", TASKS)
def test_each_task_alone_imports_passes_its_fast_tier_and_overfits_from_the_command_line(
        tmp_path, answer):
    """Each module of the pruned package imports; `pytest` passes in the render (unit tests
    and one overfit run per chosen task); `python train.py mode=overfit` runs the task end to
    end. (tasks=all's: in test_generated_project.py, with its slow tier)"""
    project = generate(tmp_path, tasks=answer)
    # -n0: this suite already runs one test per core; test processes of its own per render
    # would each import torch and Lightning again (the project's own default is -n auto)
    result = imports_then_pytest(project, "-q", "-n0", env=render_env(project))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    run_dir = tmp_path / "run"
    result = subprocess.run([sys.executable, "train.py", "mode=overfit", "print_config=false",
                             f"hydra.run.dir={run_dir}"], cwd=project, env=render_env(project),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task"]["name"] == answer and summary["verdicts"]["overfit"]["reached"]


# One interpreter collects several times (pytest.main again and again): the test modules and
# torch are imported once, not once per collection.
_COLLECT_EACH = """\
import json, sys
import pytest
for args in json.loads(sys.argv[1]):
    code = pytest.main(["--collect-only", "-q", "-n0", "-p", "no:cacheprovider", *args])
    print(f"== collected with {args}: exit {int(code)}", flush=True)
"""


def collected(project: Path, *selections: list[str]) -> list[set[str]]:
    """The test ids `pytest` collects in ``project`` with each list of arguments."""
    result = subprocess.run([sys.executable, "-c", _COLLECT_EACH, json.dumps(selections)],
                            cwd=project, env=render_env(project), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs, ids = [], set()
    for line in result.stdout.splitlines():
        if line.startswith("== collected with "):
            assert line.endswith(": exit 0"), result.stdout[-3000:]
            runs.append(ids)
            ids = set()
        elif "::" in line:
            ids.add(line)
    assert len(runs) == len(selections), result.stdout[-3000:]
    return runs


def test_pytest_runs_the_fast_tier_and_m_slow_the_rest(tmp_path):
    """`pytest`: unit tests and one overfit run per task; `pytest -m slow`: what runs a training,
    an evaluation or a command otherwise; together, every test."""
    project = generate(tmp_path, tasks="all", features="all")
    fast, slow, both = collected(project, [], ["-m", "slow"], ["-m", "slow or not slow"])
    assert fast and slow and not fast & slow
    assert fast | slow == both
    overfits = {t for t in fast if "test_overfit_reaches_the_target_and_lr_zero_fails[" in t}
    assert {t.rpartition("[")[2].rstrip("]") for t in overfits} == set(TASKS)
    assert not any(name.startswith("tests/test_cli.py::") for name in fast)  # marked by hand
    # found by reading the code: the other overfit runs (run_train) are end to end
    assert any(name.startswith("tests/test_modes.py::test_overfit") for name in slow)


