"""Threads per run when several runs share the machine (no speed measured: the decision only)."""

import pytest
from omegaconf import OmegaConf

from {{ cookiecutter.package_name }}.training.threads import concurrent_runs, thread_count
{%- if "sweeps" in cookiecutter.__features.split(",") %}

# the sweeps feature's launchers
JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
SUBMITIT_LOCAL = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"
SUBMITIT_SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
{%- endif %}


def hydra(launcher: dict | None = None, mode: str = "MULTIRUN", overrides=()) -> dict:
    return {"mode": mode, "launcher": launcher or {}, "overrides": {"task": list(overrides)}}


def trainer(accelerator: str = "auto", strategy: str = "auto", devices=1):
    return OmegaConf.create(
        {"trainer": {"accelerator": accelerator, "strategy": strategy, "devices": devices}}
    )


@pytest.mark.parametrize(
    ("cores", "concurrent", "expected"),
    [(2, 1, None), (2, 2, 1), (8, 2, 4), (8, 3, 2), (2, 4, 1), (16, 4, 4)],
)
def test_each_run_gets_its_share_of_the_cores(cores, concurrent, expected):
    assert thread_count(cores, concurrent, environ={}) == expected


def test_omp_num_threads_always_wins():
    assert thread_count(8, 4, environ={"OMP_NUM_THREADS": "3"}) is None


CASES = {
    "single run": (trainer(), hydra(mode="RUN"), 1),
    "basic launcher, one job at a time": (trainer(), hydra({"_target_": "BasicLauncher"}), 1),
{%- if "ddp" in cookiecutter.__features.split(",") %}
    "ddp on 2 CPU processes": (trainer("cpu", "ddp", 2), hydra(mode="RUN"), 2),
    "ddp on GPUs": (trainer("gpu", "ddp", 4), hydra(mode="RUN"), 1),
{%- endif %}
{%- if "sweeps" in cookiecutter.__features.split(",") %}
    "joblib n_jobs=2": (trainer(), hydra({"_target_": JOBLIB, "n_jobs": 2}), 2),
    "joblib n_jobs=-1 (every core)": (trainer(), hydra({"_target_": JOBLIB, "n_jobs": -1}), 8),
    "joblib n_jobs=-2": (trainer(), hydra({"_target_": JOBLIB, "n_jobs": -2}), 7),
    "submitit local, 3 jobs": (
        trainer(),
        hydra({"_target_": SUBMITIT_LOCAL}, overrides=["model=linear,mlp,cnn"]),
        3,
    ),
    "submitit on SLURM: its own node share": (trainer(), hydra({"_target_": SUBMITIT_SLURM}), 1),
{%- if "ddp" in cookiecutter.__features.split(",") %}
    "joblib x ddp on the CPU": (
        trainer("cpu", "ddp_spawn", 2),
        hydra({"_target_": JOBLIB, "n_jobs": 2}),
        4,
    ),
{%- endif %}
{%- endif %}
}


@pytest.mark.parametrize("case", list(CASES))
def test_how_many_runs_share_the_machine(case):
    cfg, hydra_cfg, expected = CASES[case]
    assert concurrent_runs(cfg, OmegaConf.create(hydra_cfg), cores=8) == expected
