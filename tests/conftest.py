"""Fixtures shared by every test folder (the lead store's databases), and a check that
pytest-xdist really groups the tests marked ``xdist_group``."""

from __future__ import annotations

import pytest

pytest_plugins = ["store_fixtures"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """Under ``--dist loadgroup`` pytest-xdist adds ``@<group>`` to the node id of each test
    marked ``xdist_group`` and schedules by that suffix. If a pytest release keeps node ids
    where xdist does not write (pytest 9.2 did), the marks silently do nothing: the tests of a
    module sharing one running service then run on both workers, each half against its own
    copy, and fail by chance. Stop the run instead."""
    if node.config.getoption("dist", "no") != "loadgroup" or not ids:
        return
    if not any("@" in nodeid.rsplit("]", 1)[-1] for nodeid in ids):
        raise pytest.UsageError(
            "pytest-xdist did not group the tests marked xdist_group: this pytest and "
            "pytest-xdist do not work together; use the versions pinned in requirements.lock "
            "(`make test` installs them)"
        )
