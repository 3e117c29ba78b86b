"""The `next:` lines of a verdict are commands that can be copied and run: this run's folder in
them, not `...`."""

import shlex

from {{ cookiecutter.package_name }}.console import print_summary


def summary(output_dir: str, advice: list[str]) -> dict:
    return {
        "mode": "full",
        "status": "completed",
        "wall_time_s": 1.0,
        "output_dir": output_dir,
        "verdicts": {"fit": {"message": "good fit", "advice": advice}},
    }


def next_lines(capsys) -> list[str]:
    out = capsys.readouterr().out
    return [line.split("next: ", 1)[1] for line in out.splitlines() if "next: " in line]


def test_an_elided_command_gets_this_run_s_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "outputs" / "full" / "2026-01-01_10-00-00"
    print_summary(summary(str(run), ["read the report (python eval.py ...)"]))
    (line,) = next_lines(capsys)
    command = line[line.index("python") : line.rindex(")")]
    assert shlex.split(command) == [
        "python",
        "eval.py",
        "ckpt_path=outputs/full/2026-01-01_10-00-00",
    ]


def test_the_run_folder_placeholder_is_quoted_for_the_shell(tmp_path, capsys):
    run = tmp_path / "my runs" / "a"  # outside the current folder: the absolute path
    print_summary(summary(str(run), ["python predict.py ckpt_path=<run> inputs=new/"]))
    (line,) = next_lines(capsys)
    assert shlex.split(line) == ["python", "predict.py", f"ckpt_path={run}", "inputs=new/"]


def test_an_eval_run_s_commands_name_the_checkpoint_it_measured(tmp_path, capsys, monkeypatch):
    """An eval.py run's folder holds no checkpoints/: its commands name the one it measured."""
    monkeypatch.chdir(tmp_path)
    trained = tmp_path / "outputs" / "full" / "2026-01-01_10-00-00"
    (trained / "checkpoints").mkdir(parents=True)
    measured = summary(str(tmp_path / "outputs" / "eval" / "2026-01-01_11-00-00"), [])
    measured["verdicts"]["fit"]["advice"] = ["read the report (python eval.py ...)"]
    print_summary({**measured, "mode": "eval", "checkpoint": str(trained)})
    (line,) = next_lines(capsys)
    assert "ckpt_path=outputs/full/2026-01-01_10-00-00)" in line
