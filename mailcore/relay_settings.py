"""The SMTP relay of an environment: Postfix on EC2, relaying to SES with SASL.

``relay:`` is off unless ``enabled: true``. :func:`relay_problem` holds the
checks that need the rest of the environment (its SMTP users and region);
``mailcore.config`` turns what it returns into a ``ConfigError``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from pydantic import Field, ValidationInfo, field_validator

from mailcore.settings_base import Settings

if TYPE_CHECKING:
    from mailcore.config import EnvironmentConfig

__all__ = [
    "NEW_VPC_SUBNET_GROUPS",
    "NEW_VPC_SUBNET_MASK",
    "NEW_VPC_ZONES",
    "PRIVATE_NETWORKS",
    "RelaySettings",
    "RelayVpcSettings",
    "maillog_group_name",
    "relay_problem",
    "relay_stack_name",
]

_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_TOPIC_ARN = re.compile(r"^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[\w-]+$")
# Graviton (arm64) families: a1, and a "g" right after the generation digit
# (t4g, m7g, c7gn, r8gd, x2gd, im4gn, is4gen ...).
_GRAVITON_TYPE = re.compile(
    r"^(a1|[a-z]+\d+g[a-z]*)\.(nano|micro|small|medium|large|metal|\d*xlarge)$"
)
# A new VPC's layout, which stacks/relay_network.py builds: a public and a
# private subnet group, each with one subnet of this mask per zone.
NEW_VPC_ZONES = 2
NEW_VPC_SUBNET_GROUPS = 2
NEW_VPC_SUBNET_MASK = 24
# From /16 down to the smallest VPC those subnets fit in.
_NEW_VPC_PREFIXES = range(
    16,
    NEW_VPC_SUBNET_MASK - (NEW_VPC_ZONES * NEW_VPC_SUBNET_GROUPS - 1).bit_length() + 1,
)
# Networks whose clients may relay: RFC 1918 and the shared address space of
# RFC 6598 (carrier-grade NAT). Anything public would open the relay to the
# part of the internet it covers.
PRIVATE_NETWORKS = tuple(
    ipaddress.IPv4Network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
_MAX_INSTANCES = 10
# SES's SMTP ports: STARTTLS on 587 and 2587, TLS from the first byte on 465 and
# 2465. Port 25 works with SES but EC2 throttles it.
_SES_PORTS = (587, 2587, 465, 2465)


class RelayVpcSettings(Settings):
    """Where the relay runs: a new VPC, or subnets of an existing one."""

    id: str | None = None
    subnet_ids: list[str] = Field(default_factory=list)
    cidr: str | None = None
    nat: bool = False

    @field_validator("id")
    @classmethod
    def _vpc_id(cls, value: str | None) -> str | None:
        if value is not None and not _VPC_ID.match(value):
            raise ValueError("expected a VPC id such as vpc-0123456789abcdef0")
        return value

    @field_validator("subnet_ids")
    @classmethod
    def _subnet_ids(cls, value: list[str]) -> list[str]:
        for subnet in value:
            if not _SUBNET_ID.match(subnet):
                raise ValueError(
                    f"{subnet!r} is not a subnet id; expected ids such as "
                    "subnet-0123456789abcdef0"
                )
        if len(set(value)) != len(value):
            raise ValueError("a subnet is listed twice; expected each once")
        return value

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            raise ValueError(
                "expected an IPv4 network such as 10.80.0.0/16 (host bits zero)"
            ) from None
        if network.prefixlen not in _NEW_VPC_PREFIXES or not network.is_private:
            raise ValueError(
                f"expected a private IPv4 network of /{_NEW_VPC_PREFIXES[0]} to "
                f"/{_NEW_VPC_PREFIXES[-1]}, such as 10.80.0.0/16: the relay's VPC "
                f"holds {NEW_VPC_ZONES * NEW_VPC_SUBNET_GROUPS} subnets of "
                f"/{NEW_VPC_SUBNET_MASK}"
            )
        return str(network)

    @field_validator("subnet_ids")
    @classmethod
    def _subnets_need_a_vpc(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value and info.data.get("id") is None:
            raise ValueError(
                "subnet_ids applies to an existing VPC; expected id: with them, "
                "or no subnet_ids for a new VPC"
            )
        return value

    @field_validator("cidr", "nat")
    @classmethod
    def _new_vpc_only(cls, value: object, info: ValidationInfo) -> object:
        if info.data.get("id") is not None and value not in (None, False):
            raise ValueError(
                "cidr and nat apply to a new VPC; expected either id: and "
                "subnet_ids: of an existing VPC, or cidr:/nat: for a new one"
            )
        return value

    @property
    def new_vpc_cidr(self) -> str:
        return self.cidr or "10.80.0.0/16"


# A security group takes 60 inbound rules unless a quota increase says otherwise;
# the relay adds up to two of its own for the load balancer and endpoints.
_INBOUND_RULES = 58


def _inbound_rules(allowed: list[str], submission: list[str]) -> int:
    """Rules the relay's security groups hold: 25 and 587 per allowed network,
    587 per submission network."""
    return 2 * len(allowed) + len(submission)


class RelaySettings(Settings):
    """An SMTP relay: Postfix on EC2 that relays what allowed clients send to SES."""

    enabled: bool = False
    smtp_user: str | None = None
    vpc: RelayVpcSettings = Field(default_factory=RelayVpcSettings)
    instance_type: str = "t4g.nano"
    count: int = Field(1, ge=1, le=_MAX_INSTANCES, strict=True)
    allowed_cidrs: list[str] = Field(default_factory=list)
    ses_port: int = Field(587, strict=True)
    submission_auth: bool = False
    submission_cidrs: list[str] = Field(default_factory=list)
    queue_alarm_threshold: int = Field(100, ge=1, strict=True)
    alarm_topic_arn: str | None = None

    @field_validator("instance_type")
    @classmethod
    def _graviton(cls, value: str) -> str:
        value = value.lower()
        if not _GRAVITON_TYPE.match(value):
            raise ValueError(
                "expected a Graviton (arm64) instance type such as t4g.nano, "
                "t4g.small or m7g.medium: the relay runs the arm64 Amazon Linux "
                "2023 image"
            )
        return value

    @field_validator("allowed_cidrs", "submission_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        networks = []
        for entry in value:
            try:
                network = ipaddress.IPv4Network(entry, strict=True)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IPv4 network; expected networks such as "
                    "10.0.0.0/8 or 192.0.2.10/32 (host bits zero)"
                ) from None
            if not any(network.subnet_of(p) for p in PRIVATE_NETWORKS):
                raise ValueError(
                    f"{entry!r} is not a private network (public clients would "
                    "make an open relay): expected networks within 10.0.0.0/8, "
                    "172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10"
                )
            if str(network) in networks:
                raise ValueError(f"{entry!r} is listed twice; expected each once")
            networks.append(str(network))
        # submission_cidrs are counted with allowed_cidrs in _submission.
        if info.field_name == "allowed_cidrs" and (
            _inbound_rules(networks, []) > _INBOUND_RULES
        ):
            raise ValueError(
                f"{len(networks)} networks need {_inbound_rules(networks, [])} "
                f"inbound rules (ports 25 and 587 each); expected at most "
                f"{_INBOUND_RULES // 2} networks, or wider ones"
            )
        return networks

    @field_validator("submission_cidrs")
    @classmethod
    def _submission(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # submission_auth is declared, and so validated, before submission_cidrs.
        if value and not info.data.get("submission_auth"):
            raise ValueError(
                "submission_cidrs applies to submission_auth: true only; expected "
                "submission_auth: true, or no submission_cidrs"
            )
        rules = _inbound_rules(info.data.get("allowed_cidrs", []), value)
        if rules > _INBOUND_RULES:
            raise ValueError(
                f"with allowed_cidrs the relay's security group would need {rules} "
                f"inbound rules; expected at most {_INBOUND_RULES} (fewer or wider "
                "networks)"
            )
        return value

    @field_validator("ses_port")
    @classmethod
    def _ses_port(cls, value: int) -> int:
        if value == 25:
            raise ValueError(
                "EC2 throttles outbound port 25; expected 587 (STARTTLS), 2587, "
                "465 or 2465 (TLS from the first byte)"
            )
        if value not in _SES_PORTS:
            raise ValueError(
                "expected a port of SES's SMTP endpoint: 587 (STARTTLS), 2587, "
                "465 or 2465 (TLS from the first byte)"
            )
        return value

    @field_validator("alarm_topic_arn")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and not _TOPIC_ARN.match(value):
            raise ValueError(
                "expected an SNS topic ARN such as "
                "arn:aws:sns:eu-west-1:123456789012:mail-alarms"
            )
        return value


def relay_stack_name(config: EnvironmentConfig) -> str:
    """The relay's stack: ``<app>-<env>-relay``."""
    return f"{config.app}-{config.name}-relay"


def maillog_group_name(config: EnvironmentConfig) -> str:
    """The relay's Postfix log group: ``/<app>/<env>/relay/maillog``."""
    return f"/{config.app}/{config.name}/relay/maillog"


def relay_problem(config: EnvironmentConfig) -> str | None:
    """The first mistake across ``relay`` and the rest, as one line, or None."""
    relay = config.relay
    if relay.vpc.id is not None and not relay.vpc.subnet_ids:
        return (
            "relay.vpc.subnet_ids is missing: an existing VPC needs subnet_ids: "
            "expected the private subnets (with a route to SES, SSM and Secrets "
            "Manager) to run the relay in"
        )
    if not relay.enabled:
        return None
    if config.region is None:
        return (
            "region is missing: expected the environment's region, where the "
            "relay stack is deployed"
        )
    if relay.smtp_user is None:
        return (
            "relay.smtp_user is missing: expected the name of an smtp_users entry "
            "whose credentials the relay uses"
        )
    users = {user.name: user for user in config.smtp_users}
    user = users.get(relay.smtp_user)
    if user is None:
        known = ", ".join(sorted(users)) or "none configured"
        return (
            f"relay.smtp_user = {relay.smtp_user!r}: expected the name of an "
            f"smtp_users entry ({known})"
        )
    if not relay.allowed_cidrs:
        return (
            "relay.allowed_cidrs is missing: expected the networks of the clients "
            "that may relay, such as [10.0.0.0/8]"
        )
    ses_region = user.region_in(config.region)
    if relay.vpc.id is None and not relay.vpc.nat and ses_region != config.region:
        return (
            f"relay.smtp_user = {relay.smtp_user!r}: it sends through SES in "
            f"{ses_region}, which the relay's VPC endpoints in {config.region} "
            "cannot reach: expected a user of the environment's region, or "
            "vpc: {nat: true}"
        )
    if relay.alarm_topic_arn and f":{config.region}:" not in relay.alarm_topic_arn:
        return (
            f"relay.alarm_topic_arn = {relay.alarm_topic_arn!r}: expected a topic "
            f"in the environment's region {config.region}"
        )
    return None
