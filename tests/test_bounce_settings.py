"""The ``bounces:`` settings: defaults, regions of the monitoring stacks, mistakes."""

from __future__ import annotations

from typing import Any

import pytest

from mailcore.bounce_settings import (
    dashboard_region,
    monitoring_regions,
    monitoring_stack_name,
    ses_regions,
)
from mailcore.config import ConfigError
from tests.conftest import make_config


def settings(**bounces: Any) -> dict[str, Any]:
    return {
        "region": "eu-west-1",
        "domains": [
            {"name": "example.eu", "ses_region": "eu-central-1"},
            {"name": "example.com"},
            {"name": "example.org", "ses_region": "eu-central-1"},
        ],
        "bounces": bounces,
    }


def test_no_bounces_block_means_bounce_handling_is_off():
    config = make_config({"region": "us-east-1", "domains": [{"name": "a.com"}]})

    assert config.bounces is None


def test_an_empty_block_turns_it_on_with_the_documented_defaults():
    bounces = make_config(settings()).bounces

    assert bounces is not None
    assert bounces.enabled is True
    assert bounces.retention_days == 90
    assert bounces.notify == []
    assert (
        bounces.alarms.bounce_rate.warning,
        bounces.alarms.bounce_rate.critical,
    ) == (
        5,
        10,
    )
    assert (
        bounces.alarms.complaint_rate.warning,
        bounces.alarms.complaint_rate.critical,
    ) == (0.1, 0.5)


def test_notify_addresses_are_trimmed_and_lower_case():
    bounces = make_config(settings(notify=["  Ops@Example.COM "])).bounces

    assert bounces is not None
    assert bounces.notify == ["ops@example.com"]


def test_a_notify_address_in_an_internationalised_domain_is_written_as_xn():
    bounces = make_config(settings(notify=["ops@example.xn--p1ai"])).bounces

    assert bounces is not None
    assert bounces.notify == ["ops@example.xn--p1ai"]


def test_monitoring_regions_are_each_ses_region_once_in_order_of_first_use():
    config = make_config(settings())

    assert ses_regions(config) == ["eu-central-1", "eu-west-1"]
    assert monitoring_regions(config) == ["eu-central-1", "eu-west-1"]
    assert dashboard_region(config) == "eu-west-1"
    assert monitoring_stack_name(config, "eu-west-1") == (
        "mail-test-monitoring-eu-west-1"
    )


@pytest.mark.parametrize(
    ("bounces", "message"),
    [
        (
            {"notify": ["ops@example.com", "OPS@example.com"]},
            r"bounces\.notify = .*'OPS@example\.com' is listed twice",
        ),
        (
            {"alarms": {"complaint_rate": {"warning": 0.5, "critical": 0.5}}},
            r"bounces\.alarms\.complaint_rate = .*warning 0\.5 is not below "
            r"critical 0\.5",
        ),
        (
            {"alarms": {"bounce_rate": {"warning": 5, "critical": 101}}},
            r"bounces\.alarms\.bounce_rate\.critical = 101: expected less than or "
            r"equal to 100",
        ),
        (
            {"retention_days": 3651},
            r"bounces\.retention_days = 3651: expected less than or equal to 3650",
        ),
        (
            {"retention_days": "30"},
            r"bounces\.retention_days = '30': expected a valid integer",
        ),
    ],
    ids=["duplicate-notify", "warning-equals-critical", "over-100", "ttl-10y", "text"],
)
def test_a_mistake_fails_in_one_line_naming_the_setting(bounces, message):
    with pytest.raises(ConfigError, match=message) as raised:
        make_config(settings(**bounces))

    assert "\n" not in str(raised.value)
