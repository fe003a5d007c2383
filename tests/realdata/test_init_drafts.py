"""`leadscore init` on the shipped data sets: how far its drafts are from the shipped configs,
and what training on the X Education draft says about what it missed."""

from __future__ import annotations

import pytest
import yaml

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _draft(datasets, tmp_path, data: str, **options):
    from features.ingest.config_draft import draft_config
    from features.ingest.dataset_config import load_config

    draft = draft_config(datasets / data, **options)
    path = tmp_path / f"{draft.name}.yaml"
    path.write_text(draft.text)
    assert yaml.safe_load(draft.text)["name"] == draft.name
    return load_config(path)


def test_olist_draft_matches_the_shipped_config(datasets, tmp_path) -> None:
    from features.ingest.dataset_config import load_config

    drafted = _draft(
        datasets, tmp_path, "olist_marketing_qualified_leads.csv",
        outcomes=datasets / "olist_closed_deals.csv", name="olist",
    )  # fmt: skip
    shipped = load_config("olist")
    assert drafted.leads.columns == shipped.leads.columns
    assert drafted.leads.timestamp_format == shipped.leads.timestamp_format
    assert drafted.leads.attributes == shipped.leads.attributes
    assert drafted.leads.missing_values == shipped.leads.missing_values
    assert drafted.outcomes.columns == shipped.outcomes.columns
    assert drafted.outcomes.timestamp_format == shipped.outcomes.timestamp_format
    assert drafted.outcomes.all_won and drafted.snapshots == shipped.snapshots


def test_xeducation_draft_and_what_training_on_it_says(datasets, tmp_path) -> None:
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from training.pipeline import train_model
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    drafted = _draft(datasets, tmp_path, "xeducation_leads.csv")
    shipped = load_config("xeducation")
    assert drafted.leads.columns == shipped.leads.columns
    assert drafted.order_by == shipped.order_by == "Lead Number"  # it numbers the rows
    assert set(drafted.leads.missing_values) == {"Select", "unknown"}
    # By name: Tags, Lead Quality and both activity columns; the four Asymmetrique scores and
    # Lead Profile give nothing away in their names and stay attributes.
    assert set(drafted.leads.post_outcome) == {
        "Tags", "Lead Quality", "Last Activity", "Last Notable Activity",
    }  # fmt: skip
    missed = set(shipped.leads.post_outcome) - set(drafted.leads.post_outcome)
    assert missed == {"Lead Profile", "Asymmetrique Activity Index", "Asymmetrique Profile Index",
                      "Asymmetrique Activity Score", "Asymmetrique Profile Score"}  # fmt: skip
    assert missed <= set(drafted.leads.attributes)
    # Trained on the draft, the model is too good to be true, and says so.
    dataset = load_dataset(drafted, datasets)
    config = TrainingConfig(cv_folds=0)
    result = train_model(dataset, feature_params(dataset, 90, 30), config, seed=42)
    assert result.metrics["roc_auc"] >= 0.9
    assert any("too good to be true" in warning for warning in result.warnings)
