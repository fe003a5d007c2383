"""Column names that say a field is filled in after the outcome is known.

CRMs and campaign tools store what happened to a lead next to who the lead is: the deal stage,
the lead status, the reason it was lost, sales tags, the call's duration, the last activity.
Such a field describes the outcome, so a model trained on it scores history, not propensity.
The names are a hint, not proof: ``leadscore init`` lists matching columns under
``post_outcome`` (with the word that matched) and the leakage audit excludes matching
attributes unless the user keeps them (``--allow-feature``).
"""

from __future__ import annotations

import re

# Each phrase is matched on whole words of the snake_cased name ("Lead Status" -> lead status),
# so "stage" matches "deal_stage" but not "stagehand", and "tags" not "hashtags". Why each one:
POST_OUTCOME_PHRASES: dict[str, str] = {
    "status": "a lead or deal status is updated as the lead progresses or closes",
    "stage": "a pipeline stage records how far the lead went",
    "tag": "sales tags record what happened after contact",
    "tags": "sales tags record what happened after contact",
    "reason": "a won/lost reason exists only once the outcome is known",
    "result": "a result is the outcome itself",
    "outcome": "an outcome field is the outcome itself",
    "disposition": "a call disposition is written after the call",
    "duration": "a call or meeting duration is known only after it happened",
    "last activity": "the last activity includes the sales actions around the outcome",
    "last notable activity": "the last activity includes the sales actions around the outcome",
    "last contact": "the last contact may be the closing call",
    "last contacted": "the last contact may be the closing call",
    "closed": "a close date or flag exists only once the deal closed",
    "close date": "a close date exists only once the deal closed",
    "won": "a won flag is the outcome itself",
    "lost": "a lost flag or reason is the outcome itself",
    "converted": "a conversion flag is the outcome itself",
    "conversion": "a conversion date or flag is the outcome itself",
    "lead quality": "a quality grade is set by sales after talking to the lead",
    "next step": "next steps are planned by sales during the deal",
    "notes": "sales notes are written during and after the deal",
}


def words_of(column: str) -> str:
    """A column name as lower-case words separated by single spaces ('LeadStatus_2' ->
    'lead status 2'), the form the phrases are matched on."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", column)
    return " ".join(re.split(r"[^0-9a-zA-Z]+", spaced)).strip().lower()


def post_outcome_hint(column: str) -> str | None:
    """Why ``column``'s name suggests a post-outcome field ("name has 'status': ..."), or
    None. The longest matching phrase wins, so 'Last Notable Activity' names its own."""
    words = f" {words_of(column)} "
    found = [phrase for phrase in POST_OUTCOME_PHRASES if f" {phrase} " in words]
    if not found:
        return None
    phrase = max(found, key=len)
    return f"name has '{phrase}': {POST_OUTCOME_PHRASES[phrase]}"
