"""notebooks/quickstart.ipynb runs top to bottom, headless, on this interpreter (four real runs:
marked slow)."""

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
KERNEL = "project-under-test"


@pytest.mark.slow
def test_quickstart_notebook_runs_and_prints_the_verdicts(tmp_path, monkeypatch):
    # a kernel spec for this very interpreter, found only through JUPYTER_PATH: the notebook runs
    # against the environment under test, whatever kernels the machine has installed
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": KERNEL,
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("QUICKSTART_OUTPUTS", str(tmp_path / "runs"))

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=600,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert [out for out in outputs if out.output_type == "error"] == []
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    overfit = json.loads((tmp_path / "runs/overfit/summary.json").read_text())
    assert overfit["status"] == "completed"
    assert f"overfit verdict: {overfit['verdicts']['overfit']['message']}" in printed
    assert "fit verdict: " in printed
    for step in ("fraction", "full", "eval"):
        summary = json.loads((tmp_path / f"runs/{step}/summary.json").read_text())
        assert summary["status"] == "completed", step
        assert "test" in summary["metrics"], step
    assert any("image/png" in out.get("data", {}) for out in outputs)  # the comparison plot
