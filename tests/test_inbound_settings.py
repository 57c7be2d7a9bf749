"""Inbound settings: the shorthand, defaults, regions, names and the inbound MX."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mailcore.config import ConfigError
from mailcore.inbound_settings import (
    InboundSettings,
    receipt_rule_name,
    receipt_rule_set_name,
)
from mailcore.records import domain_records
from mailcore.regions import (
    RECEIVING_REGIONS,
    RECEIVING_REGIONS_CHECKED,
    SES_REGIONS,
    inbound_mx_host,
)
from tests.conftest import make_config

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:inbound"


def one_domain(inbound: Any, **domain: Any) -> dict[str, Any]:
    return {
        "region": "us-east-1",
        "domains": [{"name": "example.com", "inbound": inbound, **domain}],
    }


def test_inbound_ses_shorthand_is_the_mapping_with_every_default() -> None:
    [domain] = make_config(one_domain("ses")).domains

    assert domain.inbound == InboundSettings(type="ses")
    assert domain.inbound.model_dump() == {
        "type": "ses",
        "recipients": [],
        "scan": True,
        "notify": False,
        "lambda_arn": None,
        "expire_after_days": None,
        "noncurrent_expire_after_days": None,
    }


def test_a_domain_without_inbound_receives_nothing() -> None:
    [domain] = make_config(
        {"region": "us-east-1", "domains": [{"name": "a.com"}]}
    ).domains

    assert domain.inbound is None


def test_recipients_are_normalised_to_lower_case() -> None:
    inbound = {"type": "ses", "recipients": [" Support@Example.COM. "]}

    [domain] = make_config(one_domain(inbound)).domains

    assert domain.inbound is not None
    assert domain.inbound.recipients == ["support@example.com"]


def test_the_same_recipient_twice_is_refused() -> None:
    inbound = {"type": "ses", "recipients": ["a@example.com", "A@example.com"]}

    with pytest.raises(ConfigError, match=r"'A@example.com' is listed twice"):
        make_config(one_domain(inbound))


def test_more_than_a_hundred_recipients_are_refused() -> None:
    inbound = {"type": "ses", "recipients": [f"u{i}@example.com" for i in range(101)]}

    with pytest.raises(ConfigError, match=r"101 recipients listed; expected at most"):
        make_config(one_domain(inbound))


def test_a_region_opened_later_is_accepted_once_listed() -> None:
    assert "ap-south-1" not in RECEIVING_REGIONS
    settings = one_domain("ses", ses_region="ap-south-1")
    with pytest.raises(ConfigError, match="does not receive mail in 'ap-south-1'"):
        make_config(settings)

    config = make_config({**settings, "additional_receiving_regions": ["ap-south-1"]})

    assert config.domains[0].inbound is not None


def test_receiving_regions_are_dated_and_all_send_too() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", RECEIVING_REGIONS_CHECKED)
    assert RECEIVING_REGIONS <= SES_REGIONS
    assert {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"} <= RECEIVING_REGIONS
    assert "us-west-1" not in RECEIVING_REGIONS


def test_a_function_of_another_account_is_refused_when_the_account_is_known() -> None:
    inbound = {"type": "ses", "lambda_arn": FUNCTION}

    with pytest.raises(ConfigError, match="expected a function of account 999"):
        make_config({**one_domain(inbound), "account": "999999999999"})
    assert make_config(one_domain(inbound)).domains[0].inbound is not None


def test_the_longest_app_and_environment_names_give_a_valid_rule_set_name() -> None:
    config = make_config({**one_domain("ses"), "app": "a" * 20}, name="e" * 30)

    name = receipt_rule_set_name(config.app, config.name)

    assert len(name) <= 64
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name)


def test_the_rule_set_is_named_for_app_and_environment() -> None:
    assert receipt_rule_set_name("mail", "production") == "mail-production-inbound"


def test_a_long_domain_gets_a_short_stable_rule_name() -> None:
    domain = ("a" * 60) + ".example.com"

    name = receipt_rule_name(domain)

    assert len(name) <= 64
    assert name == receipt_rule_name(domain)
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name)
    assert receipt_rule_name("example.com") == "example.com"


def test_receiving_domain_gets_one_apex_mx_at_its_ses_region() -> None:
    [domain] = make_config(one_domain("ses", ses_region="eu-west-2")).domains

    records = domain_records(domain, ses_region="eu-west-2")

    [mx] = [r for r in records if r.name == "example.com" and r.type == "MX"]
    assert mx.key == "InboundMx"
    assert mx.values == ("10 inbound-smtp.eu-west-2.amazonaws.com",)
    assert inbound_mx_host("eu-west-2") == "inbound-smtp.eu-west-2.amazonaws.com"
