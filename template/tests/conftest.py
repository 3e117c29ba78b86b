"""Shared fixtures: compose the real configs with Hydra and run the jobs in-process (fast)."""

{% if "deploy" in cookiecutter.__features.split(",") -%}
import contextlib
{% endif -%}
import inspect
import os
import re
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one thread per test process (pytest -n: one process per core), set before torch starts;
    # the runs the tests start inherit it. N processes x N threads would fight over the cores.
    os.environ["OMP_NUM_THREADS"] = "1"

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from {{ cookiecutter.package_name }} import noise

PROJECT = Path(__file__).resolve().parents[1]
CONFIGS = PROJECT / "configs"

os.environ.setdefault("WANDB_MODE", "offline")

# Small and quick, but still a real run of the real configs.
QUICK = [
    "print_config=false",
    "logger=csv",
    "+trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def compose_config(name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(name, overrides=[f"paths.output_dir={output_dir}", *overrides])


# Two tiers. `pytest` runs the fast one: unit tests, and ONE end-to-end overfit run per task (the
# tests named in FAST_END_TO_END). `pytest -m slow` runs every other end-to-end test: those that
# train, evaluate or start a command, in their own code or through a fixture (found by reading the
# code, so a new test lands in the right tier by itself), and those marked slow by hand.
FAST_END_TO_END = {"test_tasks.py::test_overfit_reaches_the_target_and_lr_zero_fails"}
END_TO_END = re.compile(
    r"(?<![.\w])(train|train_\w+|evaluate|hydra_main|run_train)\(|\bsubprocess\b"
)


def _source(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _runs_end_to_end(item) -> bool:
    functions = [item.function]
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        functions += [definition.func for definition in definitions]
    return any(END_TO_END.search(_source(function)) for function in functions)


# The tasks this project holds. A test of what only some tasks have, in a file every project
# gets, says so with @pytest.mark.task("name", ...): a project without any of them deselects it
# (it is not a skip: the test does not exist there, as the task does not).
PROJECT_TASKS = {path.stem for path in (CONFIGS / "task").glob("*.yaml")}


# The optional features this project holds (the `features` answer), known by one file each; a test
# of one in a file every project gets says so with @pytest.mark.feature("name").
FEATURE_FILES = {
    "lr_find": "configs/lr_find/report.yaml",
    "clean": "configs/clean.yaml",
    "cv": "configs/cv/kfold.yaml",
    "sweeps": "configs/hparams_search/optuna.yaml",
    "ddp": "configs/trainer/ddp.yaml",
    "deploy": "configs/serve.yaml",
    "transfer": "configs/finetune/fine_tune.yaml",
    # (cv brings training/resume.py too, and resumes its folds with it: a cv project resumes)
    "resume": "src/*/training/resume.py",
}
PROJECT_FEATURES = {name for name, path in FEATURE_FILES.items() if any(PROJECT.glob(path))}


def _for_absent_parts(item) -> bool:
    return any(
        not PROJECT_TASKS.intersection(marker.args) for marker in item.iter_markers("task")
    ) or any(
        not PROJECT_FEATURES.issuperset(marker.args) for marker in item.iter_markers("feature")
    )


def pytest_collection_modifyitems(config, items: list) -> None:
    absent = [item for item in items if _for_absent_parts(item)]
    if absent:
        config.hook.pytest_deselected(items=absent)
        items[:] = [item for item in items if item not in absent]
    for item in items:
        name = f"{item.path.name}::{item.originalname}"
        if name not in FAST_END_TO_END and _runs_end_to_end(item):
            item.add_marker(pytest.mark.slow)


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: the cores this process may use (xdist would count physical cores, which is 1
    on many 2-vCPU machines)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@pytest.fixture(autouse=True)
def _quiet():
    """pytest resets warning filters for every test: apply the project's filters inside it."""
    noise.silence()


@pytest.fixture
def run_train(tmp_path):
    """run_train("mode=overfit", ...) -> summary in a fresh output folder each call."""
    from {{ cookiecutter.package_name }}.training.run import train

    counter = iter(range(1000))

    def run(*overrides: str, quick: bool = True) -> dict:
        output_dir = tmp_path / f"run{next(counter)}"
        summary = train(
            compose_config("train", [*(QUICK if quick else []), *overrides], output_dir)
        )
        return summary.to_dict()

    return run
{%- if "text" in cookiecutter.__tasks.split(",") %}


@pytest.fixture(scope="session")
def tiny_text_model(tmp_path_factory) -> Path:
    """A save_pretrained folder with a tiny random-weight BERT and a WordPiece tokenizer trained
    on a few reviews: the pretrained text path for real, with no download."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from {{ cookiecutter.package_name }}.data.text_reviews import make_reviews

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        make_reviews(300, seed=5)[0],
        trainers.WordPieceTrainer(vocab_size=200, special_tokens=special, show_progress=False),
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    ).save_pretrained(folder)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder
{%- endif %}
{%- if "deploy" in cookiecutter.__features.split(",") %}


@contextlib.contextmanager
def serving(task, datamodule, **options):
    """serve.py's app for ``task`` (``options``: create_app's, e.g. api_key=) on a free port of
    127.0.0.1, in a thread: yields its URL."""
    import threading

    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("fastapi")
    from {{ cookiecutter.package_name }}.analysis.serve import create_app

    app = create_app(task, datamodule, **options)
    # port 0: the system picks a free port as the server binds (no race with another test)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(400):  # until it listens
            if server.started:
                break
            thread.join(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
{%- endif %}
