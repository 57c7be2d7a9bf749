"""The relay settings: defaults, and one-line mistakes naming setting and value."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mailcore.config import ConfigError
from tests.conftest import make_config


def settings(**relay: Any) -> dict[str, Any]:
    return {
        "region": "eu-west-1",
        "domains": [
            {"name": "example.com"},
            {"name": "example.eu", "ses_region": "eu-central-1"},
        ],
        "smtp_users": [
            {"name": "app-relay", "send_as": ["example.com"]},
            {
                "name": "eu-relay",
                "ses_region": "eu-central-1",
                "send_as": ["example.eu"],
            },
        ],
        "relay": {
            "enabled": True,
            "smtp_user": "app-relay",
            "allowed_cidrs": ["10.0.0.0/8"],
            **relay,
        },
    }


def test_defaults_are_one_t4g_nano_on_587_in_a_new_vpc_without_nat() -> None:
    relay = make_config(settings()).relay

    assert relay.instance_type == "t4g.nano"
    assert relay.count == 1
    assert relay.ses_port == 587
    assert relay.submission_auth is False
    assert relay.vpc.id is None
    assert relay.vpc.nat is False
    assert relay.vpc.new_vpc_cidr == "10.80.0.0/16"


def test_the_relay_is_off_by_default() -> None:
    config = make_config({"region": "eu-west-1", "domains": [{"name": "example.com"}]})

    assert config.relay.enabled is False


@pytest.mark.parametrize("port", [587, 2587, 465, 2465])
def test_ses_ports_with_starttls_or_wrapper_mode_are_accepted(port: int) -> None:
    assert make_config(settings(ses_port=port)).relay.ses_port == port


@pytest.mark.parametrize(
    "instance_type", ["t4g.small", "m7g.large", "c7gn.xlarge", "a1.medium"]
)
def test_graviton_instance_types_are_accepted(instance_type: str) -> None:
    assert make_config(settings(instance_type=instance_type)).relay.instance_type == (
        instance_type
    )


@pytest.mark.parametrize(
    ("relay", "message"),
    [
        (
            {"allowed_cidrs": ["0.0.0.0/0"]},
            "relay.allowed_cidrs = ['0.0.0.0/0']: '0.0.0.0/0' is not a private "
            "network (public clients would make an open relay): expected networks "
            "within 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10",
        ),
        (
            {"allowed_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
            "relay.allowed_cidrs = ['0.0.0.0/1', '128.0.0.0/1']: '0.0.0.0/1' is not "
            "a private network",
        ),
        (
            {"allowed_cidrs": ["10.0.0.0/8", "198.51.100.0/24"]},
            "'198.51.100.0/24' is not a private network",
        ),
        (
            {"allowed_cidrs": ["10.0.0.0/7"]},
            "'10.0.0.0/7' is not a private network",
        ),
        (
            {"submission_auth": True, "submission_cidrs": ["203.0.113.7/32"]},
            "relay.submission_cidrs = ['203.0.113.7/32']: '203.0.113.7/32' is not a "
            "private network",
        ),
        (
            {"vpc": {"cidr": "10.80.0.0/23"}},
            "relay.vpc.cidr = '10.80.0.0/23': expected a private IPv4 network of /16 "
            "to /22, such as 10.80.0.0/16: the relay's VPC holds 4 subnets of /24",
        ),
        (
            {"vpc": {"id": "vpc-0123456789abcdef0", "cidr": "10.80.0.0/16"}},
            "relay.vpc.cidr = '10.80.0.0/16': cidr and nat apply to a new VPC",
        ),
        (
            {"vpc": {"subnet_ids": ["subnet-0123456789abcdef0"]}},
            "relay.vpc.subnet_ids = ['subnet-0123456789abcdef0']: subnet_ids applies "
            "to an existing VPC",
        ),
        (
            {"allowed_cidrs": ["10.0.0.1/8"]},
            "relay.allowed_cidrs = ['10.0.0.1/8']: '10.0.0.1/8' is not an IPv4 network",
        ),
        ({"allowed_cidrs": []}, "relay.allowed_cidrs is missing"),
        ({"ses_port": 25}, "relay.ses_port = 25: EC2 throttles outbound port 25"),
        ({"ses_port": 2525}, "relay.ses_port = 2525: expected a port of SES's SMTP"),
        (
            {"instance_type": "t3.nano"},
            "relay.instance_type = 't3.nano': expected a Graviton (arm64) instance",
        ),
        ({"count": 0}, "relay.count = 0: expected"),
        ({"smtp_user": "nobody"}, "relay.smtp_user = 'nobody': expected the name of"),
        ({"smtp_user": None}, "relay.smtp_user is missing"),
        (
            {"smtp_user": "eu-relay"},
            "relay.smtp_user = 'eu-relay': it sends through SES in eu-central-1",
        ),
        ({"vpc": {"id": "vpc-123"}}, "relay.vpc.id = 'vpc-123': expected a VPC id"),
        (
            {"vpc": {"id": "vpc-0123456789abcdef0"}},
            "relay.vpc.subnet_ids is missing: an existing VPC needs subnet_ids",
        ),
        (
            {"vpc": {"cidr": "10.80.0.0/8"}},
            "relay.vpc.cidr = '10.80.0.0/8': expected an IPv4 network",
        ),
        (
            {"vpc": {"cidr": "8.8.0.0/16"}},
            "relay.vpc.cidr = '8.8.0.0/16': expected a private IPv4 network",
        ),
        (
            {"submission_cidrs": ["172.16.0.0/12"]},
            "relay.submission_cidrs = ['172.16.0.0/12']: submission_cidrs applies to "
            "submission_auth: true only",
        ),
        (
            {"alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:alarms"},
            "relay.alarm_topic_arn = 'arn:aws:sns:us-east-1:123456789012:alarms': "
            "expected a topic in the environment's region eu-west-1",
        ),
        ({"ssh_key": "mine"}, "relay.ssh_key is not a setting"),
    ],
)
def test_a_relay_mistake_fails_in_one_line(relay: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        make_config(settings(**relay))

    assert "\n" not in str(raised.value)


def test_a_relay_in_another_ses_region_needs_nat() -> None:
    config = make_config(settings(smtp_user="eu-relay", vpc={"nat": True}))

    assert config.relay.smtp_user == "eu-relay"


def test_a_disabled_relay_needs_no_smtp_user() -> None:
    config = make_config(
        {"region": "eu-west-1", "domains": [{"name": "example.com"}], "relay": {}}
    )

    assert config.relay.enabled is False


@pytest.mark.parametrize(
    "cidrs", [["100.64.0.0/10"], ["172.16.0.0/12", "192.168.10.0/24", "10.1.2.3/32"]]
)
def test_private_and_carrier_grade_nat_networks_may_relay(cidrs: list[str]) -> None:
    assert make_config(settings(allowed_cidrs=cidrs)).relay.allowed_cidrs == cidrs
