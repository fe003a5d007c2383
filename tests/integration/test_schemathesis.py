"""Property-based fuzzing of the running service's OpenAPI document: no input yields a 5xx.

Schemathesis generates valid and invalid bodies for every documented operation (``/score``
and the health routes) and sends them with a valid API key. Example counts are bounded so the
run stays well under two minutes on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from serving_support import AUTH, RunningService, register_stub, run_service

from serving.schemas import ScoreResponse

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("serving")]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    store: Path = tmp_path_factory.mktemp("schemathesis")
    register_stub(store)
    with run_service(store) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(service: RunningService) -> schemathesis.BaseSchema:
    document = httpx.get(f"{service.url}/docs.json", headers=AUTH, timeout=30)
    document.raise_for_status()
    loaded = schemathesis.openapi.from_dict(document.json())
    loaded.config.base_url = service.url  # type: ignore[attr-defined]
    return loaded


# Schemathesis' pytest plugin (``from_fixture``/``parametrize``) breaks on pytest 9.2
# ("'Function' object has no attribute '_nodeid'"), so each operation's Hypothesis strategy
# is driven directly: the same generated cases, without the plugin.
MAX_EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 100}


@pytest.mark.parametrize("mode", list(MAX_EXAMPLES), ids=lambda m: m.value)
def test_no_input_causes_a_server_error(
    api_schema: schemathesis.BaseSchema, service: RunningService, mode: GenerationMode
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert "/score" in {op.path for op in operations}
    seen: dict[str, set[int]] = {}

    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # parameterless GETs have no invalid variant to generate

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES[mode],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,  # same examples every run: a failure reproduces
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=service.url, headers=AUTH, timeout=60)
            seen.setdefault(case.path, set()).add(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.path} body={case.body!r:.300}: {response.text[:500]}"
            )
            if case.path == "/score" and response.status_code == 200:
                ScoreResponse.model_validate_json(response.content)
            elif case.path == "/score":
                assert response.status_code in (400, 413, 415, 422), response.text[:500]

        check()
    # The run really reached the scorer: positive cases score, negative ones are refused.
    expected = 200 if mode is GenerationMode.POSITIVE else 422
    assert expected in seen["/score"], seen
