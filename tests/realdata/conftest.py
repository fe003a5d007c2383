"""The real-data tests read the shared data sets in place. Where they are absent (a clone
outside this workspace) they are set aside and the run's summary says why, once; where
``LEADSCORE_REQUIRE_DATASETS=1`` (CI, which has them) their absence is an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shared_datasets import REQUIRE_ENV, absent_reason, find_datasets_dir

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    realdata = [item for item in items if item.get_closest_marker("realdata")]
    if not realdata or find_datasets_dir() is not None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        raise pytest.UsageError(f"{absent_reason()} ({REQUIRE_ENV}=1 requires them)")
    items[:] = [item for item in items if not item.get_closest_marker("realdata")]
    config.hook.pytest_deselected(items=realdata)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    # Decided here again rather than passed on: with pytest-xdist the workers collect, and
    # this runs in the controller.
    if _selected(config) and find_datasets_dir() is None:
        terminalreporter.write_line(
            f"SKIPPED the real-data tests (tests/realdata): {absent_reason()}"
        )


def _selected(config: pytest.Config) -> bool:
    """Whether the run's arguments include this folder (or a file in it)."""
    for argument in config.args or [str(config.rootpath)]:
        path = (config.invocation_params.dir / argument.split("::")[0]).resolve()
        if path == HERE or path in HERE.parents or HERE in path.parents:
            return True
    return False


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The folder holding the shared data sets."""
    found = find_datasets_dir()
    assert found is not None, absent_reason()
    return found
