"""Tone guardrail: reject shaming or judgmental wording in anything shown to a user.

Two lists: plain phrases (matched as whole words, case-insensitive) and regex
patterns for families of wording. The same compiled pattern serves Python
checks (catalog text at load) and Polars expressions (rationales at run), so
one list governs both. Patterns use only syntax shared by Python ``re`` and
Rust ``regex`` (no look-around).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

SHAMING_PHRASES: tuple[str, ...] = (
    "overspending",
    "overspend",
    "overspent",
    "bad with money",
    "terrible with money",
    "hopeless with money",
    "irresponsible",
    "irresponsibly",
    "wasteful",
    "wasting your money",
    "waste of money",
    "you should be ashamed",
    "ashamed",
    "shameful",
    "reckless",
    "recklessly",
    "careless",
    "lazy",
    "foolish",
    "stupid",
    "dumb",
    "spendthrift",
    "frivolous",
    "poor choices",
    "bad decisions",
    "bad habits",
    "out of control",
    "living beyond your means",
    "beyond your means",
    "financially illiterate",
    "no self-control",
    "lack of discipline",
    "undisciplined",
    "pathetic",
    "embarrassing",
    "what were you thinking",
    "get your act together",
    "you failed",
    "your fault",
)

SHAMING_PATTERNS: tuple[str, ...] = (
    # "you're so bad / terrible / hopeless at ..."
    r"\byou(?:'re| are)\s+(?:so\s+|too\s+|really\s+|just\s+)?(?:bad|terrible|awful|hopeless|clueless|careless|irresponsible)\b",
    # "you should feel guilty", "you ought to be embarrassed"
    r"\b(?:should|ought\s+to)\s+(?:be|feel)\s+(?:ashamed|embarrassed|guilty|bad)\b",
    # "you can't manage money", "you cannot handle money"
    r"\byou\s+(?:can't|cannot|can not)\s+(?:manage|handle|control)\b",
    # "blowing all your money", "blew the money"
    r"\b(?:blow|blew|blowing|blown)\s+(?:all\s+)?(?:of\s+)?(?:your|the)\s+(?:money|paycheck|savings)\b",
    # "stop wasting", "quit throwing money away"
    r"\b(?:stop|quit)\s+(?:wasting|throwing|blowing)\b",
    # "you always / never manage to ..." style blame
    r"\byou\s+(?:always|never)\s+(?:overspend|waste|fail|mess)\w*",
    # "waste(s|d) money"
    r"\bwaste[sd]?\s+(?:your\s+|so\s+much\s+)?money\b",
)

_APOSTROPHES = ("\u2019", "\u2018", "`")


def _phrase_regex(phrase: str) -> str:
    """A whole-word regex for a plain phrase, tolerant of runs of whitespace."""
    return r"\b" + r"\s+".join(re.escape(word) for word in phrase.split()) + r"\b"


def shaming_regex(extra_phrases: Iterable[str] = ()) -> str:
    """One case-insensitive alternation of every phrase and pattern (Python and Rust compatible)."""
    parts = [_phrase_regex(p) for p in (*SHAMING_PHRASES, *extra_phrases)]
    parts.extend(SHAMING_PATTERNS)
    return "(?i)(?:" + "|".join(parts) + ")"


_COMPILED = re.compile(shaming_regex())


def _normalise(text: str) -> str:
    for mark in _APOSTROPHES:
        text = text.replace(mark, "'")
    return text


def tone_violations(text: str) -> list[str]:
    """The shaming or judgmental fragments found in ``text`` (empty when the tone is acceptable)."""
    return [m.group(0) for m in _COMPILED.finditer(_normalise(text))]


def _normalised_expr(column: str) -> pl.Expr:
    normalised = pl.col(column)
    for mark in _APOSTROPHES:
        normalised = normalised.str.replace_all(mark, "'", literal=True)
    return normalised


def tone_violations_expr(column: str) -> pl.Expr:
    """Polars expression: the list of shaming fragments in string ``column`` (empty list when fine)."""
    return _normalised_expr(column).str.extract_all(shaming_regex())


def tone_flagged_expr(column: str) -> pl.Expr:
    """Polars expression: True where :func:`tone_violations_expr` finds a fragment (null for null).

    The same text and pattern, without building a list per row: the cheap first look of a
    check over many rows, which lists the fragments only where this is True.
    """
    return _normalised_expr(column).str.contains(shaming_regex())
