"""SPF records checked the way a receiver evaluates them (RFC 7208), without DNS.

:func:`check_spf` walks a record and every ``include:`` and ``redirect=`` it
names, through a lookup function the caller gives, and counts what a receiver
would count: terms that query DNS (limit 10, section 4.6.4) and lookups that
find nothing (limit 2, "void lookups"). :func:`syntax_problems` checks one
record's terms. Both are pure, so the rules are tested without a resolver.

Like a receiver, the walk stops once the lookup limit is exceeded, and each
name is asked once per walk, so a mesh of includes cannot make it slow.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "LOOKUP_LIMIT",
    "VOID_LOOKUP_LIMIT",
    "Lookup",
    "SpfReport",
    "TemporaryError",
    "check_spf",
    "spf_records",
    "syntax_problems",
]

LOOKUP_LIMIT = 10
VOID_LOOKUP_LIMIT = 2

Lookup = Callable[[str, str], list[str]]
"""``lookup(name, rtype)``: the record texts found, ``[]`` when there are none.

TXT records come back with their strings joined as receivers join them: with
nothing between. A query that gets no usable answer raises
:class:`TemporaryError`.
"""


class TemporaryError(Exception):
    """A lookup got no usable answer (SERVFAIL, REFUSED, timeout): a temperror."""


class _Stop(Exception):
    """Raised inside the walk where a receiver stops: past the limit, temperror."""


_QUALIFIER = "+-~?"
_DOMAIN_SPEC = r"[a-z0-9_.%{}-]+"
_MECHANISM = re.compile(
    r"^[+\-~?]?("
    r"all"
    rf"|include:{_DOMAIN_SPEC}"
    rf"|a(:{_DOMAIN_SPEC})?(/\d{{1,2}})?(//\d{{1,3}})?"
    rf"|mx(:{_DOMAIN_SPEC})?(/\d{{1,2}})?(//\d{{1,3}})?"
    rf"|ptr(:{_DOMAIN_SPEC})?"
    r"|ip4:\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?"
    r"|ip6:[0-9a-f:.]+(/\d{1,3})?"
    rf"|exists:{_DOMAIN_SPEC}"
    r")$"
)
_MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(\S*)$")
_LOOKUP_WORDS = ("include", "a", "mx", "ptr", "exists", "redirect")


@dataclass
class SpfReport:
    """What a receiver would find evaluating the SPF record of one domain."""

    record: str
    lookups: int = 0
    void_lookups: int = 0
    problems: list[str] = field(default_factory=list)
    temperror: str | None = None
    """The lookup that failed, when one did (RFC 7208 2.6.6)."""

    @property
    def over_limit(self) -> bool:
        """True when the walk stopped because it passed :data:`LOOKUP_LIMIT`."""
        return self.lookups > LOOKUP_LIMIT


def spf_records(texts: list[str]) -> list[str]:
    """The TXT texts that are SPF records: ``v=spf1`` alone or followed by a space."""
    return [
        t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")
    ]


def syntax_problems(record: str) -> list[str]:
    """Each term of ``record`` that a receiver would reject, as a sentence."""
    terms = record.split()
    if not terms or terms[0].lower() != "v=spf1":
        return [f"{record!r} does not start with 'v=spf1 '"]
    problems = []
    modifiers: set[str] = set()
    seen_all = False
    for term in terms[1:]:
        lowered = term.lower()
        modifier = _MODIFIER.match(lowered)
        if modifier:
            name = modifier.group(1)
            if name in ("redirect", "exp"):
                if name in modifiers:
                    problems.append(f"{name}= appears twice; expected it once")
                if not modifier.group(2):
                    problems.append(f"{term!r} names no domain")
            modifiers.add(name)
            continue
        if not _MECHANISM.match(lowered):
            problems.append(
                f"{term!r} is not an SPF term; expected a mechanism such as "
                "include:amazonses.com, ip4:, mx or ~all"
            )
            continue
        if seen_all:
            problems.append(f"{term!r} comes after 'all' and is never evaluated")
        if lowered.lstrip(_QUALIFIER) == "all":
            seen_all = True
    if seen_all and "redirect" in modifiers:
        problems.append("redirect= is ignored because the record has an 'all'")
    return problems


def check_spf(domain: str, lookup: Lookup, *, record: str | None = None) -> SpfReport:
    """Evaluate the SPF record of ``domain`` (or ``record``) with its includes.

    Every include and redirect target is fetched through ``lookup`` and
    evaluated in turn, so the count is the one a receiver reaches, not just the
    terms of the top record. Includes are followed to a depth of 10, and each
    domain once, so a loop cannot run forever.
    """
    answers: dict[tuple[str, str], list[str]] = {}

    def cached(name: str, rtype: str) -> list[str]:
        key = (name.lower(), rtype)
        if key not in answers:
            answers[key] = lookup(name, rtype)
        return answers[key]

    if record is None:
        found = spf_records(lookup(domain, "TXT"))
        record = found[0] if found else ""
    report = SpfReport(record=record)
    with contextlib.suppress(_Stop):
        _walk(domain, record, cached, report, depth=0, visited={domain})
    return report


def _walk(
    domain: str,
    record: str,
    lookup: Lookup,
    report: SpfReport,
    *,
    depth: int,
    visited: set[str],
) -> None:
    problems = syntax_problems(record)
    prefix = "" if depth == 0 else f"in the SPF record of {domain}: "
    report.problems.extend(prefix + problem for problem in problems)
    if problems:
        # A receiver stops at the first syntax error (permerror), before any
        # lookup; counting the broken terms would only add noise.
        return

    for term in record.split()[1:]:
        lowered = term.lower().lstrip(_QUALIFIER)
        parts = re.split(r"[:=]", lowered, maxsplit=1)
        word = parts[0].split("/", 1)[0]
        argument = parts[1].split("/", 1)[0] if len(parts) > 1 else ""
        if word not in _LOOKUP_WORDS:
            continue
        report.lookups += 1
        if report.over_limit:
            raise _Stop
        target = argument or domain
        if "%" in target:
            continue
        try:
            if word in ("include", "redirect"):
                _follow(word, target, lookup, report, depth=depth, visited=visited)
            elif word in ("a", "exists"):
                if not lookup(target, "A") and not (
                    word == "a" and lookup(target, "AAAA")
                ):
                    report.void_lookups += 1
            elif word == "mx" and not lookup(target, "MX"):
                report.void_lookups += 1
        except TemporaryError as error:
            # A receiver stops here with temperror; name the term that failed.
            if report.temperror is None:
                report.temperror = f"{word} {target}: {error}"
            raise _Stop from None


def _follow(
    word: str,
    target: str,
    lookup: Lookup,
    report: SpfReport,
    *,
    depth: int,
    visited: set[str],
) -> None:
    texts = lookup(target, "TXT")
    if not texts:
        report.void_lookups += 1
    records = spf_records(texts)
    if not records:
        report.problems.append(
            f"{word} {target} has no SPF record; receivers fail the whole check "
            "(permerror)"
        )
        return
    if len(records) > 1:
        report.problems.append(
            f"{target} has {len(records)} SPF records; receivers fail the whole "
            "check (permerror)"
        )
        return
    if target in visited or depth >= LOOKUP_LIMIT:
        report.problems.append(f"{word} {target} loops back on itself")
        return
    _walk(
        target,
        records[0],
        lookup,
        report,
        depth=depth + 1,
        visited=visited | {target},
    )
