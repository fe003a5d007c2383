"""What the command line prints for a person: its own summaries, not the libraries' chatter.

By default MLflow's INFO lines (store migrations, "validating input example"), its notice that
the python model is pickled (it always is: the bundle inside is plain JSON and text), artifact
download bars and the INFO logs of Dask, Optuna and friends are hidden; warnings and errors
still show. ``leadscore -v`` shows everything.
"""

from __future__ import annotations

import logging
import os

# Environment read by the libraries themselves (set only where the user has not).
QUIET_ENVIRONMENT = {
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "TQDM_DISABLE": "1",
}
CHATTY_LOGGERS = (
    "mlflow", "alembic", "distributed", "optuna", "urllib3", "matplotlib", "shap", "lightgbm",
)  # fmt: skip
PICKLE_NOTICE = "serialized using CloudPickle"


class _DropPickleNotice(logging.Filter):
    """MLflow warns on every pyfunc logged from a Python object; ours pickles only a thin
    wrapper around the plain bundle, so the warning is noise to a user."""

    def filter(self, record: logging.LogRecord) -> bool:
        return PICKLE_NOTICE not in record.getMessage()


def configure_output(verbose: bool) -> None:
    """Hide third-party INFO lines, the pickle notice and progress bars unless ``verbose``."""
    if verbose:
        logging.basicConfig(level=logging.INFO)
        return
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    pyfunc = logging.getLogger("mlflow.pyfunc")
    if not any(isinstance(f, _DropPickleNotice) for f in pyfunc.filters):
        pyfunc.addFilter(_DropPickleNotice())


def route_lightgbm_logs() -> None:
    """LightGBM prints its Python-side messages (lightgbm.dask's "Finding random open ports for
    workers") to stdout, where `--json` writes its document: send them to the ``lightgbm``
    logger instead (on stderr with ``-v``, hidden otherwise)."""
    import lightgbm

    lightgbm.register_logger(logging.getLogger("lightgbm"))
