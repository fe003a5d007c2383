"""`leadscore init`'s drafts: sniffed dialect, guessed roles and types, post-outcome suspects
with their reason, and a draft that loads as it is."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from telemarketing_export import telemarketing_frame, write_telemarketing_csv

from features.ingest.config_draft import draft_config
from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset


def _draft_and_load(tmp_path: Path, data: Path, **options: object):
    draft = draft_config(data, **options)
    path = tmp_path / f"{draft.name}.yaml"
    path.write_text(draft.text)
    return draft, yaml.safe_load(draft.text), load_dataset(load_config(path), data.parent)


def test_telemarketing_export_drafts_a_static_config_in_time_order(tmp_path: Path) -> None:
    data = write_telemarketing_csv(tmp_path / "campaign.csv", n=3000)
    draft, raw, dataset = _draft_and_load(tmp_path, data)
    assert raw["mode"] == "static" and raw["order_by"] == "row"
    leads = raw["leads"]
    assert leads["csv_options"] == {"sep": ";"}
    assert leads["columns"] == {"label": "y"}  # no id column: rows are numbered
    assert leads["post_outcome"] == ["duration"]
    assert leads["missing_values"] == ["unknown"]
    assert leads["attributes"]["age"] == "numeric"
    assert leads["attributes"]["housing"] == "boolean"
    assert leads["attributes"]["job"] == "categorical"
    assert "y" not in leads["attributes"]
    # Every choice carries its reason.
    assert (
        "duration  # name has 'duration': a call or meeting duration is known only after"
        in draft.text
    )
    assert "order_by: row  # rows look ordered in time: the label rate is" in draft.text
    assert "age: numeric  # 67 distinct numbers, none missing" in draft.text.replace(
        "68", "67"
    ) or ("age: numeric  # " in draft.text)
    assert any(note.startswith("no id column") for note in draft.notes)
    assert dataset.leads["label"].sum() == (telemarketing_frame(3000)["y"] == "yes").sum()


def test_ids_dates_identifiers_free_text_and_converter_only_columns(tmp_path: Path) -> None:
    n = 400
    frame = telemarketing_frame(n).drop(columns=["duration"])
    frame.insert(0, "Contact ID", [f"C{i:05d}" for i in range(n)])
    frame["signed_up"] = pd.date_range("2022-01-01", periods=n, freq="D").strftime("%d/%m/%Y")
    frame["email"] = [f"person{i}@example.com" for i in range(n)]
    frame["remarks"] = [f"talked about item {i % 300}" for i in range(n)]
    frame["sales_notes"] = ["will call back" if i % 2 else "" for i in range(n)]
    frame["renewal_ref"] = ["R-1" if y == "yes" else "" for y in frame["y"]]
    frame["campaign_kind"] = "outbound"
    frame = frame.sample(frac=1.0, random_state=3)  # no row order to find
    data = tmp_path / "export.csv"
    frame.to_csv(data, index=False, encoding="cp1252")
    draft, raw, dataset = _draft_and_load(tmp_path, data, name="export")
    leads = raw["leads"]
    assert leads["columns"] == {"lead_id": "Contact ID", "label": "y"}
    assert raw["order_by"] == "signed_up" and leads["timestamp_format"] == "%d/%m/%Y"
    assert "csv_options" not in leads  # plain ASCII decodes as UTF-8, comma-separated
    excluded = "\n".join(line for line in draft.text.splitlines() if line.startswith("    - "))
    assert "- email  # unique in every row: an identifier" in excluded
    assert "- remarks  # free text (300 distinct values)" in excluded
    assert "- campaign_kind  # the same value in every row" in excluded
    assert "- renewal_ref  # populated for 100% of converters but 0% of the others" in excluded
    assert "- sales_notes  # name has 'notes': sales notes are written" in excluded
    assert leads["post_outcome"] == ["sales_notes", "renewal_ref"]
    assert dataset.config.order_by == "signed_up" and dataset.leads["order_key"].notna().all()


def test_leads_and_deals_draft_a_temporal_config(tmp_path: Path) -> None:
    (tmp_path / "mqls.csv").write_text(
        "mql_id,first_contact_date,origin,company_id,campaign_key\n"
        + "".join(
            f"m{i},{1 + i % 12}/{1 + i % 27}/2018,{['ads', 'seo', 'unknown'][i % 3]},c{i % 9},"
            f"k{i % 4}\n"
            for i in range(60)
        )
    )
    (tmp_path / "deals.csv").write_text(
        "mql_id,seller_id,won_date,business_segment,declared_monthly_revenue\n"
        + "".join(f"m{i},s{i},15-0{1 + i % 9}-2019 10:00,pets,{100 * i}\n" for i in range(0, 60, 5))
    )
    draft, raw, dataset = _draft_and_load(
        tmp_path, tmp_path / "mqls.csv", outcomes=tmp_path / "deals.csv"
    )
    assert raw["mode"] == "temporal"
    assert raw["leads"]["columns"] == {
        "lead_id": "mql_id", "created_at": "first_contact_date", "account_id": "company_id",
    }  # fmt: skip
    assert raw["leads"]["attributes"] == {"origin": "categorical"}
    assert "- campaign_key  # named like an identifier" in draft.text
    assert raw["leads"]["timestamp_format"] == "%m/%d/%Y"
    assert raw["outcomes"]["columns"] == {
        "lead_id": "mql_id", "closed_at": "won_date", "amount": "declared_monthly_revenue",
    }  # fmt: skip
    assert raw["outcomes"]["all_won"] is True
    assert raw["outcomes"]["timestamp_format"] == "%d-%m-%Y %H:%M"
    assert raw["snapshots"] == {"grid": "at_creation", "horizon_days": 90}
    assert "not read: ['seller_id', 'business_segment']" in draft.text
    assert len(dataset.outcomes) == 12


def test_unknown_label_column_and_empty_export_are_errors(tmp_path: Path) -> None:
    data = write_telemarketing_csv(tmp_path / "campaign.csv", n=20)
    with pytest.raises(ValueError, match=r"--label 'converted': no such column \(found: \['age'"):
        draft_config(data, label="converted")
    empty = write_telemarketing_csv(tmp_path / "empty.csv", frame=telemarketing_frame(5).iloc[:0])
    with pytest.raises(ValueError, match="the export has no rows"):
        draft_config(empty)
