"""Column names that say a field is filled in after the outcome, matched on whole words."""

from __future__ import annotations

import pytest

from features.ingest.post_outcome_names import post_outcome_hint, words_of


@pytest.mark.parametrize(
    ("column", "phrase"),
    [
        ("Lead Status", "status"),
        ("deal_stage", "stage"),
        ("DealStage", "stage"),
        ("Tags", "tags"),
        ("Lost Reason", "reason"),
        ("call duration (s)", "duration"),
        ("Last Activity", "last activity"),
        ("Last Notable Activity", "last notable activity"),
        ("close_date", "close date"),
        ("Lead Quality", "lead quality"),
        ("Converted", "converted"),
    ],
)
def test_post_outcome_names_say_which_word_and_why(column: str, phrase: str) -> None:
    hint = post_outcome_hint(column)
    assert hint is not None and hint.startswith(f"name has '{phrase}': ")


@pytest.mark.parametrize(
    "column",
    ["Lead Source", "Stagehand", "hashtags", "industry", "TotalVisits", "poutcome", "Page Views"],
)
def test_other_names_pass(column: str) -> None:
    assert post_outcome_hint(column) is None


def test_words_of_splits_case_and_punctuation() -> None:
    assert words_of("LeadStatus_2") == "lead status 2"
    assert words_of("  Last--Notable Activity ") == "last notable activity"
