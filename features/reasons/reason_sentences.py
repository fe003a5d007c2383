"""Reason groups and the small sentence language they are written in.

A reason group gathers the features that tell one behaviour or fact (every feature about
pricing-page views; one attribute) so their SHAP contributions add up into one reason. Its
sentences are rules tried in order. A rule applies when each of its conditions holds and
every value its text names is recorded; the first that applies is the sentence. When every
feature of the group is missing, the group's ``missing`` sentence says so honestly ("No
department recorded").

- A condition is ``"<feature> <op> <number>"`` with ``==, !=, >, >=, <, <=``; a missing value
  satisfies none.
- A text is a ``str.format`` template over the group's features, each with a human format
  after the colon: ``num`` (default for numbers: "50 M"), ``text`` (default for strings:
  underscores as spaces), ``times`` ("once", "3 times"), ``plural <noun>`` ("2 days";
  ``person|people`` for irregular plurals), ``ago`` (days -> "yesterday"), ``span`` (days ->
  "5 weeks"), ``percent`` (a fraction), ``yesno``.

Everything here is plain data (it travels in the model bundle's JSON); :class:`GroupSentences`
checks a group against its features once and renders a sentence per lead.
"""

from __future__ import annotations

import operator
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from features.reasons.human_numbers import (
    format_ago,
    format_number,
    format_percent,
    format_plural,
    format_span,
    format_text,
    format_times,
)

_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(==|!=|>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt,
    ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}  # fmt: skip


def _default(value: Any, _: str) -> str:
    return format_text(value) if isinstance(value, str) else format_number(float(value))


_FORMATS: dict[str, Callable[[Any, str], str]] = {
    "": _default,
    "num": lambda value, _: format_number(float(value)),
    "text": lambda value, _: format_text(value),
    "times": lambda value, _: format_times(float(value)),
    "plural": lambda value, noun: format_plural(float(value), noun),
    "ago": lambda value, _: format_ago(float(value)),
    "span": lambda value, _: format_span(float(value)),
    "percent": lambda value, _: format_percent(float(value)),
    "yesno": lambda value, _: "yes" if float(value) else "no",
}


@dataclass(frozen=True)
class SentenceRule:
    """One way to say a group's reason: ``text`` when every condition in ``when`` holds."""

    text: str
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReasonGroup:
    """Features that tell one fact or behaviour, read as one reason.

    ``label`` names it in short (waterfall rows), ``rules`` say it in full, ``missing`` is the
    sentence when nothing about it is recorded, ``headline`` is the feature whose value is the
    reason's ``value`` in the API.
    """

    key: str
    label: str
    rules: tuple[SentenceRule, ...]
    missing: str
    headline: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReasonGroup:
        rules = tuple(
            SentenceRule(rule["text"], tuple(rule.get("when", ()))) for rule in data["rules"]
        )
        return cls(data["key"], data["label"], rules, data["missing"], data["headline"])


def is_missing(value: Any) -> bool:
    """None, NaN and pandas' NA are "not recorded"."""
    if value is None:
        return True
    kind = value.__class__
    if kind is float:  # the engines' numbers: checked first, this runs per value per lead
        return value != value
    if kind is str:
        return False
    try:
        return bool(value != value)  # NaN-likes (numpy floats, pd.NA raises TypeError)
    except TypeError:
        return True


class GroupSentences:
    """A :class:`ReasonGroup` checked against its features and ready to render.

    Raises ``ValueError`` naming the group when a rule names a feature outside the group, an
    unknown format or a malformed condition, or when its last rule could fail to apply.
    """

    def __init__(self, group: ReasonGroup, features: Sequence[str]) -> None:
        self.group = group
        self.features = tuple(features)
        where = f"reason group {group.key!r}"
        if not self.features:
            raise ValueError(f"{where}: no feature belongs to it")
        if group.headline not in self.features:
            raise ValueError(f"{where}: headline {group.headline!r} is not one of its features")
        if not group.rules or group.rules[-1].when:
            raise ValueError(f"{where}: the last sentence rule must have no condition")
        self._rules = [self._compile(rule, where) for rule in group.rules]
        if any(name is not None for _, name, _, _ in string.Formatter().parse(group.missing)):
            raise ValueError(f"{where}: the missing sentence cannot name a value (none is known)")
        self._missing = group.missing.format()  # literal text: "{{" in a label reads "{"

    def _compile(self, rule: SentenceRule, where: str) -> tuple[list[Any], list[Any]]:
        conditions = []
        for condition in rule.when:
            match = _CONDITION.match(condition)
            if match is None or match.group(1) not in self.features:
                raise ValueError(
                    f"{where}: condition {condition!r} is not '<feature of the group> <op> "
                    f"<number>' (features: {list(self.features)})"
                )
            name, op, number = match.groups()
            conditions.append((name, _OPERATORS[op], float(number)))
        pieces = []
        try:
            parsed = list(string.Formatter().parse(rule.text))
        except ValueError as exc:
            raise ValueError(f"{where}: sentence {rule.text!r}: {exc}") from exc
        for literal, name, spec, conversion in parsed:
            if name is None:
                pieces.append((literal, None, None, ""))
                continue
            head, _, arg = (spec or "").partition(" ")
            if name not in self.features:
                raise ValueError(
                    f"{where}: sentence {rule.text!r}: {name!r} is not a feature of the group "
                    f"(features: {list(self.features)})"
                )
            if conversion or head not in _FORMATS:
                raise ValueError(
                    f"{where}: sentence {rule.text!r}: unknown format {spec!r} for {name!r} "
                    f"(known: {sorted(f for f in _FORMATS if f)})"
                )
            pieces.append((literal, name, _FORMATS[head], arg))
        return conditions, pieces

    def is_missing(self, values: Mapping[str, Any]) -> bool:
        """True when no feature of the group is recorded for this lead."""
        return all(is_missing(values[name]) for name in self.features)

    def sentence(self, values: Mapping[str, Any]) -> str:
        """The first rule that applies to ``values`` (every feature of the group by name)."""
        if self.is_missing(values):
            return self._missing
        for conditions, pieces in self._rules:
            text = _render(conditions, pieces, values)
            if text is not None:
                return text
        return self.group.label  # only when the last rule names a value that is missing


def _render(conditions: list[Any], pieces: list[Any], values: Mapping[str, Any]) -> str | None:
    for name, compare, number in conditions:
        value = values[name]
        if value is None or value != value or not compare(value, number):  # NaN: no match
            return None
    out = []
    for literal, name, render, arg in pieces:
        out.append(literal)
        if name is not None:
            value = values[name]
            if is_missing(value):
                return None
            out.append(render(value, arg))
    return "".join(out)
