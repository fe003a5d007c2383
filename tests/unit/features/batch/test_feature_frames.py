"""The batch engine's frames: the key columns, the attributes taken per snapshot and the
feature block, as one frame with each column's dtype and the block not copied."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from features.batch.batch_engine import assemble_frame, attribute_arrays
from features.batch.grouping import utc_datetimes
from features.batch.kernel_layout import computed_names
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.spec import FeatureParams, build_feature_spec
from features.time_rule import DAY_NS

ATTRIBUTES = [
    ("industry", "categorical", "Industry"),
    ("annual_revenue", "numeric", "Revenue"),
    ("is_customer", "boolean", "Existing customer"),
]


def _leads() -> pd.DataFrame:
    # Attributes as loaders may give them: a categorical, integers, booleans.
    return pd.DataFrame(
        {
            c.LEAD_ID: ["a", "b", "c"],
            "industry": pd.Categorical(["saas", None, "retail"]),
            "annual_revenue": [10, 20, 30],
            "is_customer": [True, False, True],
        }
    )


def _frame(spec, block: np.ndarray) -> pd.DataFrame:
    leads = _leads()
    query_lead = np.array([2, 2, 0, 1])
    keys = {
        c.LEAD_ID: leads[c.LEAD_ID].astype("str").array.take(query_lead),
        AS_OF: utc_datetimes(np.arange(4, dtype=np.int64) * DAY_NS),
        c.LABEL: np.array([0, 1, 0, 0], dtype=np.int8),
    }
    return assemble_frame(spec, attribute_arrays(spec, leads), keys, query_lead, block)


def test_frame_gives_each_column_its_dtype_and_holds_the_block_uncopied() -> None:
    spec = build_feature_spec(ATTRIBUTES, ["email_open"], FeatureParams())
    names = computed_names(spec)
    block = np.arange(len(names) * 4, dtype=np.float64).reshape(len(names), 4)

    frame = _frame(spec, block)

    assert list(frame.columns) == [c.LEAD_ID, AS_OF, c.LABEL, *spec.names]
    assert frame[c.LEAD_ID].dtype == "str"
    assert frame[c.LEAD_ID].tolist() == ["c", "c", "a", "b"]
    assert frame[AS_OF].dtype == pd.DatetimeTZDtype("ns", "UTC")
    assert frame[AS_OF].iloc[1] == pd.Timestamp("1970-01-02", tz="UTC")
    assert frame[c.LABEL].dtype == np.int8
    assert frame[c.LABEL].tolist() == [0, 1, 0, 0]
    assert frame["industry"].dtype == "str"
    assert frame["industry"].iloc[:3].tolist() == ["retail", "retail", "saas"]
    assert pd.isna(frame["industry"].iloc[3])
    assert frame["annual_revenue"].dtype == np.float64
    assert frame["annual_revenue"].tolist() == [30.0, 30.0, 10.0, 20.0]
    assert frame["is_customer"].tolist() == [1.0, 1.0, 1.0, 0.0]
    np.testing.assert_array_equal(frame[names].to_numpy().T, block)
    assert all(frame[name].dtype == np.float64 for name in names)
    # The features are the block itself: chunks write it once and pandas takes it as is.
    assert np.shares_memory(frame[names[0]].to_numpy(), block)
    # The frame works as any other: a new column, a copy, a filter.
    frame["extra"] = 1.0
    assert len(frame[frame[c.LABEL] == 1]) == 1


def test_frame_follows_a_hand_made_spec_order() -> None:
    built = build_feature_spec(ATTRIBUTES, ["email_open"], FeatureParams())
    spec = dataclasses.replace(built, features=tuple(reversed(built.features)))
    names = computed_names(spec)
    block = np.arange(len(names) * 4, dtype=np.float64).reshape(len(names), 4)

    frame = _frame(spec, block)

    assert list(frame.columns) == [c.LEAD_ID, AS_OF, c.LABEL, *spec.names]
    assert frame[names[0]].tolist() == block[0].tolist()
    assert frame["industry"].iloc[0] == "retail"
