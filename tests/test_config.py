"""Good settings and their defaults, and the checks a single setting goes through."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailcore.config import (
    ConfigError,
    DomainSettings,
    load_environment,
    parse_environment,
    spf_lookup_count,
)
from tests.conftest import (
    ENVIRONMENTS,
    RSA_PUBLIC_KEY,
    SHIPPED_ENVIRONMENTS,
    domain_settings,
    make_config,
)


def only_domain(**domain: Any) -> DomainSettings:
    """The one domain of an environment in us-east-1 (example.com unless named)."""
    return make_config(domain_settings(**domain)).domains[0]


@pytest.mark.parametrize("mail_from", ["mail..", "mail.example.com.."])
def test_mail_from_with_a_doubled_final_dot_is_rejected(mail_from: str) -> None:
    with pytest.raises(
        ConfigError,
        match=rf"domains\[0\]\.mail_from = '{re.escape(mail_from)}': expected a "
        "subdomain of example.com",
    ):
        only_domain(mail_from=mail_from)


def test_mail_from_with_one_final_dot_is_a_full_name_or_a_label() -> None:
    assert only_domain(mail_from="mail.").mail_from == "mail.example.com"
    assert only_domain(mail_from="bounce.example.com.").mail_from == (
        "bounce.example.com"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "1: one\nregion: us-east-1\ndomains: [{name: example.com}]",
            "test.yaml: (file): key 1 is not text: expected a setting name, one of "
            "app, account, region,",
        ),
        (
            "region: us-east-1\ndomains: [{name: example.com, yes: 1}]",
            "test.yaml: domains[0]: key True is not text: expected a setting name, "
            "one of name, hosted_zone,",
        ),
        (
            "region: us-east-1\ntags: {3: x}\ndomains: [{name: example.com}]",
            "test.yaml: tags: key 3 is not text: expected keys written as text "
            "(put them in quotes)",
        ),
    ],
)
def test_a_key_yaml_reads_as_a_number_or_flag_is_named_as_such(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_environment(text, name="test", source="test.yaml")

    assert str(raised.value).startswith(message)


def test_mail_from_defaults_to_mail_below_the_domain() -> None:
    assert only_domain().mail_from == "mail.example.com"


def test_a_single_label_mail_from_is_relative_to_the_domain() -> None:
    assert only_domain(mail_from="bounce").mail_from == "bounce.example.com"


def test_mail_from_as_a_full_name_inside_the_domain_is_accepted() -> None:
    domain = only_domain(mail_from="Bounce.Example.com.")

    assert domain.mail_from == "bounce.example.com"


def test_mail_from_outside_the_domain_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"domains\[0\]\.mail_from = 'mail\.other"):
        only_domain(mail_from="mail.other.org")


def test_mail_from_equal_to_the_apex_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"must not be the apex example\.com"):
        only_domain(mail_from="example.com")


def test_mail_from_in_a_domain_that_only_ends_like_it_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"expected a subdomain of example\.com"):
        only_domain(mail_from="mail.notexample.com")


def test_dkim_defaults_to_easy_dkim_with_2048_bit_keys() -> None:
    dkim = only_domain().dkim

    assert dkim.signing == "easy"
    assert dkim.key_length == 2048


def test_spf_defaults_to_amazon_ses_with_softfail() -> None:
    assert only_domain().spf.value() == "v=spf1 include:amazonses.com ~all"


def test_dmarc_defaults_to_a_monitoring_policy() -> None:
    assert only_domain().dmarc.value() == "v=DMARC1; p=none"


def test_records_default_to_a_ttl_of_1800_seconds() -> None:
    assert only_domain().ttl == 1800


def test_ses_region_falls_back_to_the_environment_region() -> None:
    config = make_config(domain_settings())

    assert config.ses_region_of(config.domains[0]) == "us-east-1"


def test_a_domain_ses_region_wins_over_the_environment_region() -> None:
    config = make_config(domain_settings(ses_region="eu-central-1"))

    assert config.ses_region_of(config.domains[0]) == "eu-central-1"


def test_a_domain_name_is_stripped_lowered_and_loses_its_trailing_dot() -> None:
    assert only_domain(name=" Example.COM. ").name == "example.com"


def test_an_existing_zone_of_a_parent_domain_may_hold_a_subdomain() -> None:
    domain = only_domain(
        name="notify.example.com",
        hosted_zone={"id": "Z0EXAMPLE0000000000", "name": "Example.com."},
    )

    assert domain.hosted_zone is not None
    assert domain.hosted_zone.name == "example.com"


def test_an_existing_zone_of_a_lookalike_domain_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"zone 'ample\.com' cannot hold"):
        only_domain(hosted_zone={"id": "Z0EXAMPLE0000000000", "name": "ample.com"})


def test_a_hosted_zone_without_create_or_id_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"domains\[0\]\.hosted_zone = \{name\}"):
        only_domain(hosted_zone={"name": "example.com"})


@pytest.mark.parametrize(
    ("name", "protected"),
    [
        ("production", True),
        ("prod-eu", True),
        ("eu-prd", True),
        ("test", False),
        ("staging", False),
        ("nonprod", False),
        ("preprod", False),
        ("product", False),
    ],
)
def test_termination_protection_defaults_on_for_production_names(
    name: str, protected: bool
) -> None:
    assert make_config(domain_settings(), name=name).protect_stacks is protected


@pytest.mark.parametrize(("name", "setting"), [("production", False), ("dev", True)])
def test_an_explicit_termination_protection_setting_wins(
    name: str, setting: bool
) -> None:
    settings = {**domain_settings(), "termination_protection": setting}

    assert make_config(settings, name=name).protect_stacks is setting


def test_stack_names_join_app_environment_and_domain_with_hyphens() -> None:
    settings = {**domain_settings(name="notify.example.com"), "app": "post"}
    config = make_config(settings, name="staging")

    assert config.stack_name_of(config.domains[0]) == "post-staging-notify-example-com"


def test_app_defaults_to_mail_in_stack_names() -> None:
    config = make_config(domain_settings())

    assert config.stack_name_of(config.domains[0]) == "mail-test-example-com"


def test_domains_whose_stack_names_collide_are_rejected() -> None:
    settings = {
        "region": "us-east-1",
        "domains": [{"name": n} for n in ("a-b.com", "a.b.com")],
    }

    with pytest.raises(ConfigError, match=r"also that of domains\[0\]"):
        make_config(settings)


def test_a_domain_listed_twice_in_other_case_is_rejected() -> None:
    settings = {
        "region": "us-east-1",
        "domains": [{"name": "example.com"}, {"name": "EXAMPLE.com."}],
    }

    with pytest.raises(ConfigError, match=r"domains\[1\]\.name = 'example\.com'"):
        make_config(settings)


def test_an_unlisted_ses_region_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"domains\[0\]\.ses_region = 'eu-south-3'"):
        make_config(domain_settings(ses_region="eu-south-3"))


def test_additional_ses_regions_lets_a_new_region_through() -> None:
    settings = {
        **domain_settings(ses_region="eu-south-3"),
        "additional_ses_regions": ["eu-south-3"],
    }
    config = make_config(settings)

    assert config.ses_region_of(config.domains[0]) == "eu-south-3"


def test_a_malformed_additional_ses_region_is_rejected() -> None:
    settings = {**domain_settings(), "additional_ses_regions": ["Europe"]}

    with pytest.raises(ConfigError, match="'Europe' is not a region name"):
        make_config(settings)


def test_an_account_id_must_have_twelve_digits() -> None:
    settings = {**domain_settings(), "account": "12345"}

    with pytest.raises(ConfigError, match="account = '12345': expected a 12-digit"):
        make_config(settings)


@pytest.mark.parametrize(
    ("terms", "count"),
    [
        (["include:amazonses.com"], 1),
        (["a", "mx", "ptr", "exists:%{i}.x.example"], 4),
        (["a:mail.example.com/24", "mx/24", "+include:x.example"], 3),
        (["ip4:192.0.2.0/24", "ip6:2001:db8::/32"], 0),
    ],
)
def test_spf_lookups_count_dns_querying_mechanisms_only(
    terms: list[str], count: int
) -> None:
    assert spf_lookup_count(terms) == count


def _mechanisms(lookups: int) -> list[str]:
    includes = [f"include:spf{n}.example.net" for n in range(lookups)]
    return [*includes, "ip4:192.0.2.0/24", "ip6:2001:db8::/32"]


def test_spf_with_exactly_ten_lookups_is_accepted() -> None:
    spf = only_domain(spf={"mechanisms": _mechanisms(10)}).spf

    assert spf.value().startswith("v=spf1 include:spf0.example.net ")
    assert spf.value().endswith(" ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all")


def test_spf_with_eleven_lookups_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match=r"11 mechanisms query DNS; expected at most 10"
    ):
        only_domain(spf={"mechanisms": _mechanisms(11)})


@pytest.mark.parametrize("term", ["all", "-all", "~all", "v=spf1"])
def test_spf_terms_the_project_writes_itself_are_rejected(term: str) -> None:
    with pytest.raises(ConfigError, match=r"domains\[0\]\.spf\.mechanisms"):
        only_domain(spf={"mechanisms": ["include:amazonses.com", term]})


@pytest.mark.parametrize("term", ["inclde:x.example", "ip4:192.0.2", "mx:"])
def test_a_bad_spf_mechanism_is_rejected(term: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{term!r} is not an")):
        only_domain(spf={"mechanisms": [term]})


def test_an_spf_redirect_is_rejected_in_favour_of_include() -> None:
    with pytest.raises(ConfigError, match=r"redirect is ignored.*expected include:"):
        only_domain(spf={"mechanisms": ["redirect=_spf.example.net"]})


def test_an_spf_mechanism_listed_twice_is_rejected() -> None:
    with pytest.raises(ConfigError, match="listed twice"):
        only_domain(spf={"mechanisms": ["mx", "MX"]})


def test_spf_with_a_hard_fail_ends_in_minus_all() -> None:
    spf = only_domain(spf={"mechanisms": ["mx"], "all": "-all"}).spf

    assert spf.value() == "v=spf1 mx -all"


def test_dmarc_renders_every_tag_in_rfc_order() -> None:
    dmarc = only_domain(
        dmarc={
            "policy": "reject",
            "subdomain_policy": "quarantine",
            "pct": 50,
            "rua": ["mailto:agg@example.com", "agg@reports.example.net"],
            "ruf": ["forensic@example.com"],
            "adkim": "s",
            "aspf": "s",
        }
    ).dmarc

    assert dmarc.value() == (
        "v=DMARC1; p=reject; sp=quarantine; pct=50; "
        "rua=mailto:agg@example.com,mailto:agg@reports.example.net; "
        "ruf=mailto:forensic@example.com; adkim=s; aspf=s"
    )


def test_a_dmarc_policy_typo_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"policy = 'rejct': expected 'none'"):
        only_domain(dmarc={"policy": "rejct"})


def test_a_dmarc_percentage_over_100_is_rejected() -> None:
    with pytest.raises(ConfigError, match="pct = 101: expected less than or equal"):
        only_domain(dmarc={"pct": 101})


def test_a_dmarc_report_address_without_at_sign_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match=r"'reports\.example\.com' is not an email address"
    ):
        only_domain(dmarc={"rua": ["reports.example.com"]})


def test_quotes_around_an_apex_txt_value_are_stripped_once() -> None:
    domain = only_domain(txt=['"site-verification=abc"', '"long-token=ab" "cd"'])

    assert domain.txt == ["site-verification=abc", "long-token=abcd"]


@pytest.mark.parametrize("value", ['say "hi"', '""inner""', "back\\slash"])
def test_a_txt_value_with_inner_quotes_or_backslashes_is_rejected(value: str) -> None:
    with pytest.raises(ConfigError, match="holds a double quote or backslash"):
        only_domain(txt=[value])


def test_a_txt_value_longer_than_a_record_can_hold_is_rejected() -> None:
    with pytest.raises(ConfigError, match="5000 characters is too long"):
        only_domain(txt=["x" * 5000])


def test_an_apex_txt_value_starting_with_v_spf1_is_rejected() -> None:
    with pytest.raises(ConfigError, match="built from the spf settings"):
        only_domain(txt=["V=SPF1 mx ~all"])


def test_a_dmarc_report_address_may_end_in_a_size_limit() -> None:
    dmarc = only_domain(dmarc={"rua": ["mailto:dmarc@example.com!10M"]}).dmarc

    assert dmarc.rua == ["mailto:dmarc@example.com!10m"]
    assert "rua=mailto:dmarc@example.com!10m;" in dmarc.value() + ";"


@pytest.mark.parametrize(
    "address", ["a!b@example.com", "dmarc@example.com!", "dmarc@example.com!10mb"]
)
def test_a_dmarc_report_address_with_any_other_bang_is_rejected(address: str) -> None:
    with pytest.raises(
        ConfigError,
        match=rf"dmarc\.rua = .*: '{re.escape(address)}': '!' starts a report size "
        r"limit; expected an address without '!'",
    ):
        only_domain(dmarc={"rua": [address]})


def test_a_dmarc_record_in_apex_txt_is_rejected() -> None:
    with pytest.raises(ConfigError, match="DMARC lives at _dmarc"):
        only_domain(txt=["v=DMARC1; p=none"])


def test_a_non_ascii_apex_txt_value_is_rejected() -> None:
    with pytest.raises(ConfigError, match="expected printable ASCII"):
        only_domain(txt=["café"])


def test_byo_dkim_lowers_the_selector_and_strips_the_pem_armour() -> None:
    dkim = only_domain(
        dkim={
            "signing": "byo",
            "selector": "SES2026",
            "private_key_secret": "mail/test/dkim",
            "public_key": "-----BEGIN PUBLIC KEY-----\n"
            + "\n".join(RSA_PUBLIC_KEY[i : i + 64] for i in range(0, 392, 64))
            + "\n-----END PUBLIC KEY-----\n",
        }
    ).dkim

    assert dkim.selector == "ses2026"
    assert dkim.public_key == RSA_PUBLIC_KEY


def test_a_private_key_given_as_the_public_key_is_refused() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
    with pytest.raises(ConfigError, match="this is a PRIVATE key"):
        only_domain(
            dkim={
                "signing": "byo",
                "selector": "s1",
                "private_key_secret": "mail/test/dkim",
                "public_key": pem,
            }
        )


@pytest.mark.parametrize("value", ["AAAA", "MIIBIjAN" + "A" * 384 + "IDAQAB"])
def test_a_public_key_that_is_not_an_rsa_key_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="expected an RSA public key"):
        only_domain(
            dkim={
                "signing": "byo",
                "selector": "s1",
                "private_key_secret": "mail/test/dkim",
                "public_key": value,
            }
        )


def test_key_material_given_as_the_secret_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="never the key itself"):
        only_domain(
            dkim={
                "signing": "byo",
                "selector": "s1",
                "private_key_secret": "MIIEvQIBADAN" + "B" * 1600,
                "public_key": RSA_PUBLIC_KEY,
            }
        )


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("ip4:300.1.1.1/40", "not an IPv4 address"),
        ("ip4:1.2.3.4/99", "not an IPv4 address"),
        ("ip6:1/200", "not an IPv6 address"),
        ("ip6:192.0.2.1", "not an IPv6 address"),
        ("include:.", "which is not a domain"),
        ("a/33", "prefix length out of range"),
        ("mx//129", "prefix length out of range"),
    ],
)
def test_spf_terms_that_receivers_would_reject_are_refused(
    term: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        only_domain(spf={"mechanisms": [term]})


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("dmarc", {"pct": True}),
        ("ttl", False),
        ("mx", [{"host": "mx.example.net", "priority": True}]),
    ],
)
def test_a_boolean_where_a_number_belongs_is_refused(
    setting: str, value: object
) -> None:
    with pytest.raises(ConfigError, match="expected a valid integer"):
        only_domain(**{setting: value})


def test_a_byo_setting_with_easy_dkim_is_rejected() -> None:
    with pytest.raises(ConfigError, match="selector applies to signing: byo only"):
        only_domain(dkim={"selector": "ses2026"})


def test_an_unknown_setting_lists_the_allowed_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"domains\[0\]\.spf\.mechanism is not a setting: expected"
    ):
        only_domain(spf={"mechanism": ["mx"]})


def test_inbound_mx_hosts_are_normalised_and_keep_their_priority() -> None:
    mx = only_domain(mx=[{"host": "MX1.Example.net.", "priority": 5}]).mx

    assert [(entry.host, entry.priority) for entry in mx] == [("mx1.example.net", 5)]


def test_an_inbound_mx_host_listed_twice_is_rejected() -> None:
    with pytest.raises(ConfigError, match="a host is listed twice"):
        only_domain(mx=[{"host": "mx.example.net"}, {"host": "MX.example.net"}])


@pytest.mark.parametrize("name", SHIPPED_ENVIRONMENTS)
def test_every_shipped_environment_loads(name: str) -> None:
    config = load_environment(name, ENVIRONMENTS)

    assert config.name == name
    assert config.domains


def test_the_production_environment_keeps_its_documented_choices() -> None:
    config = load_environment("production", ENVIRONMENTS)
    eu, notify, team = config.domains

    assert config.protect_stacks is True
    assert config.workmail is not None
    assert config.workmail.region == config.ses_region_of(team) == "eu-west-1"
    assert [domain.name for domain in config.workmail.domains] == [team.name]
    assert config.ses_region_of(eu) == "eu-central-1"
    assert config.ses_region_of(notify) == "eu-west-1"
    assert notify.name == "notify.example.com"
    assert notify.mail_from == "bounce.notify.example.com"
    assert notify.dkim.signing == "byo"
    assert eu.dkim.key_length == 2048


def test_an_unknown_environment_names_the_ones_that_exist() -> None:
    with pytest.raises(
        ConfigError, match=r"no such environment 'nope': expected one of example"
    ):
        load_environment("nope", ENVIRONMENTS)


def test_an_environment_name_that_cannot_be_a_file_name_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"-c env='Prod_1': expected the name"):
        load_environment("Prod_1", ENVIRONMENTS)


def test_configuration_set_names_are_stack_names_cut_to_64_with_a_digest() -> None:
    long_domain = "a" * 60 + ".example.com"
    config = make_config(
        {
            "region": "us-east-1",
            "domains": [{"name": "example.com"}, {"name": long_domain}],
        }
    )

    short, long = (config.configuration_set_name_of(d) for d in config.domains)

    assert short == "mail-test-example-com"
    assert len(long) == 64
    assert long.startswith("mail-test-aaaa")
    assert long != config.configuration_set_name_of(config.domains[0])


def test_a_mail_from_that_is_another_configured_domain_is_rejected() -> None:
    settings = {
        "region": "us-east-1",
        "domains": [
            {"name": "example.com", "mail_from": "notify"},
            {"name": "notify.example.com"},
        ],
    }

    with pytest.raises(
        ConfigError,
        match=re.escape(
            "domains[0].mail_from = 'notify.example.com': it is also domains[1].name"
        ),
    ):
        make_config(settings)


def test_an_inbound_mx_host_that_is_the_mail_from_domain_is_rejected() -> None:
    with pytest.raises(ConfigError, match="must not receive mail"):
        only_domain(mx=[{"host": "mail.example.com"}])


def _tagged(tags: dict[str, str]) -> dict[str, Any]:
    return {**domain_settings(), "tags": tags}


def test_tags_in_any_script_with_the_allowed_marks_are_accepted() -> None:
    tags = {"Kostenstelle": "Zürich 4", "team/owner": "ops@example.com_+=.:-"}

    assert make_config(_tagged(tags)).tags == tags


def test_fifty_one_tags_are_rejected_with_the_limit_of_fifty() -> None:
    tags = {f"key{n}": "v" for n in range(51)}

    with pytest.raises(
        ConfigError, match=r"^test\.yaml: tags = \{key0, .*\}: 51 tags; expected at "
    ) as raised:
        make_config(_tagged(tags))

    assert "at most 50" in str(raised.value)
    assert len(str(raised.value)) < 200


@pytest.mark.parametrize(
    ("tags", "shown"),
    [
        ({"cost center!": "a"}, r"tag key 'cost center!' holds '!'"),
        ({"owner": "a,b"}, r"tag value 'a,b' holds ','"),
        ({"owner": "tab\there"}, r"tag value 'tab\\there' holds '\\t'"),
    ],
)
def test_a_tag_character_aws_refuses_is_rejected(
    tags: dict[str, str], shown: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^test\.yaml: tags = .*: {shown}; "):
        make_config(_tagged(tags))


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({"aws:owner": "a"}, "not starting with 'aws:'"),
        ({"k" * 129: "a"}, "expected 1 to 128 characters"),
        ({"owner": "v" * 257}, "has a value of 257 characters; expected at most 256"),
    ],
)
def test_tag_keys_and_values_outside_aws_limits_are_rejected(
    tags: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        make_config(_tagged(tags))


def test_yaml_merge_keys_share_settings_and_may_be_overridden() -> None:
    text = """
region: us-east-1
domains:
  - &base
    name: example.com
    ttl: 300
    dmarc: {policy: reject}
  - <<: *base
    name: example.net
"""

    config = parse_environment(text, name="test", source="test.yaml")

    assert [d.name for d in config.domains] == ["example.com", "example.net"]
    assert [d.ttl for d in config.domains] == [300, 300]
    assert config.domains[1].dmarc.policy == "reject"


def test_a_key_written_twice_beside_a_merge_key_is_still_rejected() -> None:
    text = """
region: us-east-1
defaults: &base {ttl: 300}
domains:
  - <<: *base
    name: example.com
    name: example.net
"""

    with pytest.raises(
        ConfigError, match=r"^test\.yaml: line 7: 'name' appears twice: expected"
    ):
        parse_environment(text, name="test", source="test.yaml")


def _rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _byo_dkim(public_key: str) -> dict[str, Any]:
    return {
        "signing": "byo",
        "selector": "s1",
        "private_key_secret": "mail/test/dkim",
        "public_key": public_key,
    }


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )


def test_a_1024_bit_byo_dkim_key_is_accepted() -> None:
    pem = _public_pem(_rsa_key(1024))

    dkim = only_domain(dkim=_byo_dkim(pem)).dkim

    assert dkim.public_key is not None
    assert dkim.public_key in "".join(pem.splitlines())


@pytest.mark.parametrize("bits", [768, 3072])
def test_a_byo_dkim_key_ses_cannot_sign_with_is_refused(bits: int) -> None:
    # Only the modulus length matters here; cryptography makes no key under 1024.
    modulus = (1 << (bits - 1)) | 1
    pem = (
        rsa.RSAPublicNumbers(65537, modulus)
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )

    with pytest.raises(
        ConfigError,
        match=rf"dkim\.public_key = .*: the key is {bits} bits long; expected an RSA "
        r"key of 1024 to 2048 bits",
    ):
        only_domain(dkim=_byo_dkim(pem))


@pytest.mark.parametrize(
    "private_format",
    [serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8],
    ids=["pkcs1", "pkcs8"],
)
def test_an_unarmoured_private_key_is_refused_without_showing_it(
    private_format: serialization.PrivateFormat,
) -> None:
    der = _rsa_key(1024).private_bytes(
        serialization.Encoding.DER, private_format, serialization.NoEncryption()
    )
    body = base64.b64encode(der).decode()

    with pytest.raises(ConfigError) as raised:
        only_domain(dkim=_byo_dkim(body))

    message = str(raised.value)
    assert message.startswith(
        "test.yaml: domains[0].dkim.public_key = (a private key, not shown): this "
        "is a PRIVATE key, which must never be published; expected the public key"
    )
    assert body[:12] not in message


def test_an_environment_name_over_thirty_characters_names_the_limit(
    tmp_path: Path,
) -> None:
    name = "a" * 31
    (tmp_path / f"{name}.yaml").write_text("region: us-east-1\n")

    with pytest.raises(ConfigError, match=re.escape("1 to 30 lower-case letters")):
        load_environment(name, tmp_path)
