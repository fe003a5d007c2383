"""A model trained once on a simulated CRM, shared by the model tests that need a real one.

The modules using it are marked ``xdist_group("simulated_model")`` so that, under
``pytest -n 2 --dist loadgroup``, one worker trains it once.
"""

from __future__ import annotations

import pytest

from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm
from training.pipeline import train_model
from training.training_config import TrainingConfig
from training.training_set import feature_params


@pytest.fixture(scope="session")
def simulated(tmp_path_factory):
    """(dataset, TrainResult) of 3,000 simulated leads over two years."""
    folder = tmp_path_factory.mktemp("crm")
    simulate_crm(SimulationConfig(n_leads=3000, days=730, seed=3), folder)
    dataset = load_dataset(load_config("demo"), folder)
    config = TrainingConfig(num_boost_round=300, early_stopping_rounds=30)
    result = train_model(dataset, feature_params(dataset, 90, 30), config, seed=42)
    return dataset, result
