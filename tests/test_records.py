"""The DNS records of a sending domain, as they go on the wire and into zone files."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mailcore.config import ConfigError, DomainSettings
from mailcore.records import (
    MAIL_FROM_SPF,
    DnsRecord,
    domain_records,
    records_problem,
    txt_value,
)
from tests.conftest import RSA_PUBLIC_KEY, domain_settings, make_config

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PUBLIC_KEY = RSA_PUBLIC_KEY
_EASY_DKIM = (
    ("tok1._domainkey.example.com", "tok1.dkim.amazonses.com"),
    ("tok2._domainkey.example.com", "tok2.dkim.amazonses.com"),
    ("tok3._domainkey.example.com", "tok3.dkim.amazonses.com"),
)


def strings_of(value: str) -> list[str]:
    """The character-strings of a TXT value, unescaped as a resolver reads them."""
    assert _QUOTED.sub("", value).strip(" ") == "", f"unquoted text in {value!r}"
    return [re.sub(r"\\(.)", r"\1", s) for s in _QUOTED.findall(value)]


def only_domain(**domain: Any) -> DomainSettings:
    return make_config(domain_settings(**domain)).domains[0]


def records_of(
    sending_region: str = "us-east-1", easy_dkim: Any = (), **domain: Any
) -> dict[tuple[str, str], DnsRecord]:
    """The records of one domain by (name, type); fails if any slot is taken twice."""
    records = domain_records(
        only_domain(**domain), ses_region=sending_region, easy_dkim=easy_dkim
    )
    by_slot = {(r.name, r.type): r for r in records}
    assert len(by_slot) == len(records)
    return by_slot


def test_a_short_txt_value_is_one_quoted_string() -> None:
    assert txt_value("v=spf1 mx ~all") == '"v=spf1 mx ~all"'


def test_a_600_character_value_splits_into_255_255_and_90() -> None:
    text = "".join(chr(ord("a") + n % 26) for n in range(600))

    strings = strings_of(txt_value(text))

    assert [len(s) for s in strings] == [255, 255, 90]
    assert "".join(strings) == text


def test_quotes_and_backslashes_are_escaped_exactly_once() -> None:
    value = txt_value('say "hi" \\o/')

    assert value == '"say \\"hi\\" \\\\o/"'
    assert strings_of(value) == ['say "hi" \\o/']


def test_escaping_does_not_move_the_255_character_split() -> None:
    text = '"' * 300

    strings = strings_of(txt_value(text))

    assert [len(s) for s in strings] == [255, 45]


def test_every_record_set_has_its_own_name_and_type() -> None:
    records = records_of(
        easy_dkim=_EASY_DKIM,
        txt=["google-site-verification=abc"],
        mx=[{"host": "mx1.example.net"}],
    )

    assert sorted(records) == [
        ("_dmarc.example.com", "TXT"),
        ("example.com", "MX"),
        ("example.com", "TXT"),
        ("mail.example.com", "MX"),
        ("mail.example.com", "TXT"),
        ("tok1._domainkey.example.com", "CNAME"),
        ("tok2._domainkey.example.com", "CNAME"),
        ("tok3._domainkey.example.com", "CNAME"),
    ]


def test_apex_spf_and_extra_txt_values_share_one_record_set() -> None:
    records = records_of(txt=["google-site-verification=abc"])

    assert records["example.com", "TXT"].values == (
        '"v=spf1 include:amazonses.com ~all"',
        '"google-site-verification=abc"',
    )


def test_dmarc_is_published_at_underscore_dmarc() -> None:
    records = records_of(dmarc={"policy": "reject", "rua": ["d@example.com"]})

    assert records["_dmarc.example.com", "TXT"].values == (
        '"v=DMARC1; p=reject; rua=mailto:d@example.com"',
    )


def test_the_mail_from_mx_points_at_the_ses_region_passed_in() -> None:
    records = records_of(sending_region="eu-central-1", mail_from="bounce")

    mx = records["bounce.example.com", "MX"]
    assert mx.values == ("10 feedback-smtp.eu-central-1.amazonses.com",)
    assert records["bounce.example.com", "TXT"].values == (f'"{MAIL_FROM_SPF}"',)


def test_the_mail_from_mx_ignores_the_domain_ses_region_setting() -> None:
    records = records_of(sending_region="eu-west-1", ses_region="eu-central-1")

    assert records["mail.example.com", "MX"].values == (
        "10 feedback-smtp.eu-west-1.amazonses.com",
    )


def test_a_byo_dkim_key_is_published_under_its_selector() -> None:
    records = records_of(
        dkim={
            "signing": "byo",
            "selector": "ses2026",
            "private_key_secret": "mail/test/dkim",
            "public_key": _PUBLIC_KEY,
        }
    )

    record = records["ses2026._domainkey.example.com", "TXT"]
    (value,) = record.values
    strings = strings_of(value)
    assert "".join(strings) == f"v=DKIM1; k=rsa; p={_PUBLIC_KEY}"
    assert [len(s) for s in strings] == [255, 155]
    assert not any(r.type == "CNAME" for r in records.values())


def test_easy_dkim_pairs_are_passed_through_unchanged() -> None:
    pairs = (
        ("${Token[TOKEN.1]}", "${Token[TOKEN.2]}"),
        ("Odd.Name.Example.com", "target.dkim.amazonses.com"),
    )

    records = domain_records(only_domain(), ses_region="us-east-1", easy_dkim=pairs)

    cnames = [(r.key, r.name, r.values) for r in records if r.type == "CNAME"]
    assert cnames == [
        ("DkimToken1", "${Token[TOKEN.1]}", ("${Token[TOKEN.2]}",)),
        ("DkimToken2", "Odd.Name.Example.com", ("target.dkim.amazonses.com",)),
    ]


def test_no_dmarc_record_when_dmarc_is_disabled() -> None:
    records = records_of(dmarc={"enabled": False})

    assert ("_dmarc.example.com", "TXT") not in records


def test_no_apex_txt_when_spf_is_disabled_and_no_txt_is_given() -> None:
    records = records_of(spf={"enabled": False})

    assert ("example.com", "TXT") not in records


def test_extra_txt_stays_at_the_apex_when_spf_is_disabled() -> None:
    records = records_of(spf={"enabled": False}, txt=["verify=1"])

    assert records["example.com", "TXT"].values == ('"verify=1"',)


def test_inbound_mx_values_are_priority_then_host() -> None:
    records = records_of(
        mx=[
            {"host": "MX1.Provider.example.", "priority": 10},
            {"host": "mx2.provider.example", "priority": 20},
        ]
    )

    assert records["example.com", "MX"].values == (
        "10 mx1.provider.example",
        "20 mx2.provider.example",
    )


def test_no_inbound_mx_unless_hosts_are_listed() -> None:
    assert ("example.com", "MX") not in records_of()


def test_record_keys_are_stable_pascal_case_ids() -> None:
    records = domain_records(
        only_domain(txt=["verify=1"], mx=[{"host": "mx.example.net"}]),
        ses_region="us-east-1",
        easy_dkim=_EASY_DKIM[:1],
    )

    assert [r.key for r in records] == [
        "DkimToken1",
        "MailFromMx",
        "MailFromSpf",
        "ApexTxt",
        "Dmarc",
        "InboundMx",
    ]


@pytest.mark.parametrize(
    ("record", "lines"),
    [
        (
            DnsRecord("M", "mail.example.com", "MX", ("10 mx.example.net",), ""),
            ["mail.example.com. 300 IN MX 10 mx.example.net."],
        ),
        (
            DnsRecord("C", "t._domainkey.example.com", "CNAME", ("t.dkim.x",), ""),
            ["t._domainkey.example.com. 300 IN CNAME t.dkim.x."],
        ),
        (
            DnsRecord("T", "example.com", "TXT", ('"a"', '"b"'), ""),
            ['example.com. 300 IN TXT "a"', 'example.com. 300 IN TXT "b"'],
        ),
    ],
)
def test_zone_lines_use_fully_qualified_names_with_a_final_dot(
    record: DnsRecord, lines: list[str]
) -> None:
    assert record.zone_lines(300) == lines


def test_zone_lines_of_a_whole_domain_carry_its_ttl() -> None:
    domain = only_domain(ttl=600)
    records = domain_records(domain, ses_region="us-east-1")

    lines = [line for r in records for line in r.zone_lines(domain.ttl)]

    assert "mail.example.com. 600 IN MX 10 feedback-smtp.us-east-1.amazonses.com." in (
        lines
    )
    assert '_dmarc.example.com. 600 IN TXT "v=DMARC1; p=none"' in lines


def test_a_workmail_domain_gets_inbound_mx_and_autodiscover_once() -> None:
    records = domain_records(
        only_domain(), ses_region="eu-west-1", workmail_region="eu-west-1"
    )
    by_key = {record.key: record for record in records}

    assert by_key["InboundMx"].name == "example.com"
    assert by_key["InboundMx"].values == ("10 inbound-smtp.eu-west-1.amazonaws.com",)
    assert by_key["WorkMailAutodiscover"].zone_lines(300) == [
        "autodiscover.example.com. 300 IN CNAME "
        "autodiscover.mail.eu-west-1.awsapps.com."
    ]
    assert len({(r.name, r.type) for r in records}) == len(records)


def test_workmail_and_listed_mx_hosts_cannot_share_the_apex() -> None:
    domain = only_domain(mx=[{"host": "mx.example.net"}])

    with pytest.raises(ValueError, match=r"two MX record sets at example\.com"):
        domain_records(domain, ses_region="us-east-1", workmail_region="us-east-1")


def _workmail_environment(*domains: dict[str, Any]) -> dict[str, Any]:
    """team.example.com served by WorkMail in us-east-1, then ``domains``."""
    return {
        "region": "us-east-1",
        "domains": [{"name": "team.example.com"}, *domains],
        "workmail": {
            "region": "us-east-1",
            "organization": {"alias": "team"},
            "domains": ["team.example.com"],
        },
    }


def test_mail_from_at_the_workmail_autodiscover_name_is_refused_by_config() -> None:
    settings = _workmail_environment()
    settings["domains"][0]["mail_from"] = "autodiscover"

    with pytest.raises(ConfigError) as raised:
        make_config(settings)

    message = str(raised.value)
    assert message.startswith(
        "test.yaml: domains[0].mail_from = 'autodiscover.team.example.com': "
    )
    assert "a CNAME allows no other record at its name; expected" in message


def test_another_domains_mail_from_at_the_autodiscover_name_is_refused() -> None:
    settings = _workmail_environment(
        {"name": "example.com", "mail_from": "autodiscover.team.example.com"}
    )
    settings["domains"][0]["name"] = "team.example.com"

    with pytest.raises(
        ConfigError,
        match=r"^test\.yaml: domains\[1\]\.mail_from = "
        r"'autodiscover\.team\.example\.com': .* CNAME .* of domains\[0\] "
        r"team\.example\.com .*a CNAME allows no other record",
    ):
        make_config(settings)


def test_a_domain_named_like_the_autodiscover_name_is_refused() -> None:
    settings = _workmail_environment({"name": "autodiscover.team.example.com"})

    with pytest.raises(
        ConfigError,
        match=r"^test\.yaml: domains\[1\]\.name = "
        r"'autodiscover\.team\.example\.com': the TXT record .*a CNAME allows",
    ):
        make_config(settings)


def test_records_problem_blames_the_later_domain_for_a_shared_txt_set() -> None:
    config = make_config(
        {
            "region": "us-east-1",
            "domains": [{"name": "example.com"}, {"name": "mail2.example.com"}],
        }
    )
    clash = config.model_copy(
        update={
            "domains": [
                config.domains[0],
                config.domains[1].model_copy(update={"name": "example.com"}),
            ]
        }
    )

    assert records_problem(clash) == (
        "domains[1].name = 'example.com': the TXT record (apex SPF and other apex "
        "TXT values) of domains[1] example.com and the TXT record (apex SPF and "
        "other apex TXT values) of domains[0] example.com are both at example.com; "
        "Route 53 takes one TXT record set per name; expected a name that no other "
        "record of the environment uses"
    )
