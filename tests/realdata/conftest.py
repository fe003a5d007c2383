"""The real-data tests read the shared data sets in place. Where they are absent (a clone
outside this workspace) the tests are skipped with the reason; where
``LEADSCORE_REQUIRE_DATASETS=1`` (CI, which has them) their absence is an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shared_datasets import REQUIRE_ENV, absent_reason, find_datasets_dir


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    realdata = [item for item in items if item.get_closest_marker("realdata")]
    if not realdata or find_datasets_dir() is not None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        raise pytest.UsageError(f"{absent_reason()} ({REQUIRE_ENV}=1 requires them)")
    skip = pytest.mark.skip(reason=absent_reason())
    for item in realdata:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The folder holding the shared data sets (the tests are skipped without it)."""
    found = find_datasets_dir()
    assert found is not None, absent_reason()
    return found
