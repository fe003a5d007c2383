"""Hot reload: follow the registry alias and swap the served model atomically.

A daemon thread polls the alias every ``interval`` seconds. When the version changes it loads
the new model completely, then replaces one reference. Readers call :meth:`AliasWatcher.current`
once per request and use that object throughout, so every request is served wholly by the old
or wholly by the new version. A poll that fails (the registry unreachable, corrupted or locked,
or a broken new version) keeps the last good model; the registry's state is reported by
``GET /model`` and logged once per change (not once per poll).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from serving.model_handle import ServedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryState:
    """Whether the last poll of the registry worked, since when, and why not."""

    reachable: bool
    since: datetime
    last_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"since": self.since.isoformat()}


def describe_failure(exc: BaseException) -> str:
    """One line: the error's class and the first line of its message (at most 200 chars)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


class AliasWatcher:
    """Holds the served model and refreshes it when ``resolve()`` reports a new version."""

    def __init__(
        self,
        resolve: Callable[[], str],
        load: Callable[[str], ServedModel],
        interval: float,
    ) -> None:
        self._resolve = resolve
        self._load = load
        self._interval = interval
        # The first load happens here, synchronously: a service without a model must not start.
        self._current = load(resolve())
        self._state = RegistryState(reachable=True, since=datetime.now(UTC))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> ServedModel:
        """The model to use for one whole request (a single reference read is atomic)."""
        return self._current

    def registry_state(self) -> RegistryState:
        return self._state

    def poll(self) -> None:
        """One check; a failure keeps the served model and changes the reported state."""
        try:
            self.check_once()
        except Exception as exc:
            failure = describe_failure(exc)
            if self._state.reachable:
                logger.warning(
                    "model registry check failed (%s); still serving v%s",
                    failure,
                    self._current.version,
                )
            since = self._state.since if not self._state.reachable else datetime.now(UTC)
            self._state = RegistryState(reachable=False, since=since, last_error=failure)
            return
        if not self._state.reachable:
            logger.warning("model registry reachable again; serving v%s", self._current.version)
            self._state = RegistryState(reachable=True, since=datetime.now(UTC))

    def check_once(self) -> bool:
        """Reload if the alias moved; return True when a new model was swapped in."""
        version = self._resolve()
        if version == self._current.version:
            return False
        fresh = self._load(version)  # fully loaded before anyone can see it
        previous = self._current
        self._current = fresh
        logger.info("champion moved: serving v%s (was v%s)", fresh.version, previous.version)
        return True

    def start(self) -> None:
        """Poll in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="alias-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread to finish its current check."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()
