"""The walkthrough notebook runs top to bottom and shows what it promises."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("notebook")]

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "walkthrough.ipynb"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_walkthrough_executes_and_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The notebook works in a folder of its own under the system's temporary directory (the
    # kernel inherits TMPDIR): here pytest's, so each run's data and MLflow store are cleaned.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert not any(line.lstrip().startswith(("def ", "class ")) for src in code
                   for line in src.splitlines())  # fmt: skip  # no logic of its own
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    outputs = "\n".join(_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert "holdout ROC-AUC 0." in outputs and "registered v1" in outputs
    assert "rule-based points" in outputs and "oracle (true propensity)" in outputs
    auc = float(outputs.split("holdout ROC-AUC ")[1][:5])
    assert 0.6 < auc < 0.95
    assert outputs.count("tier A") == 5 or outputs.count("  tier ") == 5
    (work,) = tmp_path.glob("leadscore-walkthrough-*")  # its one folder is there
    assert (work / "mlflow.db").is_file() and (work / "data" / "events.parquet").is_file()
