"""SPF as a receiver evaluates it: lookups counted through includes, syntax, voids."""

from __future__ import annotations

import pytest

from mailctl.spf import TemporaryError, check_spf, spf_records, syntax_problems


def dns(records: dict[tuple[str, str], list[str]]):
    def lookup(name: str, rtype: str) -> list[str]:
        return records.get((name, rtype), [])

    return lookup


def test_lookups_are_counted_through_nested_includes() -> None:
    lookup = dns(
        {
            ("example.com", "TXT"): ["v=spf1 include:a.test mx ~all"],
            ("example.com", "MX"): ["10 mx.example.com"],
            ("a.test", "TXT"): ["v=spf1 include:b.test ip4:192.0.2.1 -all"],
            ("b.test", "TXT"): ["v=spf1 a:host.b.test exists:%{i}.b.test -all"],
            ("host.b.test", "A"): ["192.0.2.7"],
        }
    )

    report = check_spf("example.com", lookup)

    assert report.record == "v=spf1 include:a.test mx ~all"
    assert report.lookups == 5
    assert report.void_lookups == 0
    assert report.problems == []


def test_lookups_hidden_in_includes_stop_the_walk_past_ten() -> None:
    records = {("example.com", "TXT"): ["v=spf1 include:big.test ~all"]}
    records[("big.test", "TXT")] = [
        "v=spf1 " + " ".join(f"include:p{n}.test" for n in range(5)) + " ~all"
    ]
    for n in range(5):
        records[(f"p{n}.test", "TXT")] = ["v=spf1 a mx -all"]
        records[(f"p{n}.test", "A")] = ["192.0.2.1"]
        records[(f"p{n}.test", "MX")] = ["10 mx.test"]

    report = check_spf("example.com", dns(records))

    # A receiver stops at the eleventh lookup, and so does the walk.
    assert report.lookups == 11
    assert report.over_limit
    assert report.void_lookups == 0


def test_lookups_that_find_nothing_are_void() -> None:
    lookup = dns(
        {
            ("example.com", "TXT"): [
                "v=spf1 a:gone.test mx:gone.test include:x.test ~all"
            ]
        }
    )

    report = check_spf("example.com", lookup)

    assert report.void_lookups == 3
    assert report.problems == [
        "include x.test has no SPF record; receivers fail the whole check (permerror)"
    ]


def test_an_include_loop_stops_and_is_reported() -> None:
    lookup = dns(
        {
            ("example.com", "TXT"): ["v=spf1 include:a.test ~all"],
            ("a.test", "TXT"): ["v=spf1 include:example.com ~all"],
        }
    )

    report = check_spf("example.com", lookup)

    assert report.lookups == 2
    assert report.problems == ["include example.com loops back on itself"]


def test_an_include_with_two_spf_records_is_a_permerror() -> None:
    lookup = dns(
        {
            ("example.com", "TXT"): ["v=spf1 include:a.test ~all"],
            ("a.test", "TXT"): ["v=spf1 -all", "v=spf1 ip4:192.0.2.1 -all"],
        }
    )

    assert check_spf("example.com", lookup).problems == [
        "a.test has 2 SPF records; receivers fail the whole check (permerror)"
    ]


def test_syntax_errors_inside_an_include_name_the_included_domain() -> None:
    lookup = dns(
        {
            ("example.com", "TXT"): ["v=spf1 include:a.test ~all"],
            ("a.test", "TXT"): ["v=spf1 ip4:192.0.2 -all"],
        }
    )

    (problem,) = check_spf("example.com", lookup).problems

    assert problem.startswith("in the SPF record of a.test: 'ip4:192.0.2' is not")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            "v=spf1 include:amazonses.com~all",
            "'include:amazonses.com~all' is not an SPF term",
        ),
        ("v=spf1 ip4:192.0.2 ~all", "'ip4:192.0.2' is not an SPF term"),
        ("v=spf1 -all include:amazonses.com", "comes after 'all'"),
        ("v=spf1 redirect=a.test ~all", "redirect= is ignored"),
        ("v=spf1 redirect=a.test redirect=b.test", "redirect= appears twice"),
        ("spf1 include:amazonses.com ~all", "does not start with 'v=spf1 '"),
    ],
)
def test_syntax_problems_name_the_term(record: str, problem: str) -> None:
    problems = syntax_problems(record)

    assert any(problem in text for text in problems), problems


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 include:amazonses.com ~all",
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24 ptr -all",
        "v=spf1 exists:%{i}._spf.example.com ?all",
        "v=spf1 redirect=_spf.example.com",
        "v=spf1 include:amazonses.com exp=explain.example.com -all",
    ],
)
def test_valid_records_have_no_problems(record: str) -> None:
    assert syntax_problems(record) == []


def test_only_v_spf1_records_count_as_spf() -> None:
    texts = ["v=spf1 -all", "v=spf10 -all", "google-site-verification=x", "v=spf1"]

    assert spf_records(texts) == ["v=spf1 -all", "v=spf1"]


def test_a_record_with_a_syntax_error_is_not_evaluated_further() -> None:
    queried: list[str] = []

    def lookup(name: str, rtype: str) -> list[str]:
        queried.append(name)
        return []

    report = check_spf(
        "example.com", lookup, record="v=spf1 include:amazonses.com~all mx ~all"
    )

    assert report.lookups == 0
    assert queried == []
    assert len(report.problems) == 1


def test_a_mesh_of_includes_stops_past_the_limit_and_asks_each_name_once() -> None:
    names = [f"n{n}.test" for n in range(30)]
    records = {("example.com", "TXT"): ["v=spf1 include:n0.test ~all"]}
    for name in names:
        others = " ".join(f"include:{other}" for other in names if other != name)
        records[(name, "TXT")] = [f"v=spf1 {others} ~all"]
    asked: list[tuple[str, str]] = []

    def lookup(name: str, rtype: str) -> list[str]:
        asked.append((name, rtype))
        # An unbounded walk of this mesh would not end in a lifetime.
        assert len(asked) < 100, "the walk did not stop past the lookup limit"
        return records.get((name, rtype), [])

    report = check_spf("example.com", lookup)

    assert report.lookups == 11
    assert report.over_limit
    assert len(asked) == len(set(asked)) <= 12


def test_a_failed_include_lookup_is_a_temperror_naming_it() -> None:
    def lookup(name: str, rtype: str) -> list[str]:
        if name == "_spf.broken.test":
            raise TemporaryError("SERVFAIL")
        return {("example.com", "TXT"): ["v=spf1 include:_spf.broken.test ~all"]}[
            (name, rtype)
        ]

    report = check_spf("example.com", lookup)

    assert report.temperror == "include _spf.broken.test: SERVFAIL"
    assert report.problems == []
