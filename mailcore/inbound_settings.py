"""Inbound mail through SES receiving: which domains receive, for whom, and where to.

A domain with ``inbound: ses`` (or the mapping form) receives its mail through SES
in its ``ses_region``: the raw messages go to an S3 bucket shared by the
environment's receiving domains of that region, under the prefix ``<domain>/``.
:func:`inbound_problem` holds the checks that need the rest of the environment;
``mailcore.config`` turns what it returns into a ``ConfigError``.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from mailcore import names
from mailcore.regions import RECEIVING_REGIONS
from mailcore.settings_base import Settings

if TYPE_CHECKING:
    from mailcore.config import DomainSettings, EnvironmentConfig

__all__ = [
    "InboundSettings",
    "inbound_problem",
    "inbound_stack_name",
    "object_prefix",
    "receipt_rule_name",
    "receipt_rule_set_name",
    "receiving_domains_by_region",
]

# SES limits: rule and rule set names, recipients per rule. A rule set name
# (app of at most 20 characters, environment of at most 30) always fits.
_SES_NAME_LIMIT = 64
_RECIPIENT_LIMIT = 100
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_FUNCTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):"
    r"(?P<account>\d{12}):function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$"
)


class InboundSettings(Settings):
    """How a domain receives mail. ``inbound: ses`` is ``{type: ses}``."""

    type: Literal["ses"] = Field(description="the receiving service, 'ses'")
    recipients: list[str] = Field(default_factory=list)
    scan: bool = Field(True, strict=True)
    notify: bool = Field(False, strict=True)
    lambda_arn: str | None = None
    expire_after_days: int | None = Field(None, ge=1, strict=True)
    noncurrent_expire_after_days: int | None = Field(None, ge=1, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, bool | int | float):
            raise ValueError(
                "expected 'ses' or a mapping such as {type: ses, recipients: [...]}"
            )
        if isinstance(value, str):
            if value.strip().lower() == "ses":
                return {"type": "ses"}
            raise ValueError(
                "expected 'ses' or a mapping such as {type: ses, recipients: [...]}"
            )
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        if len(value) > _RECIPIENT_LIMIT:
            raise ValueError(
                f"{len(value)} recipients listed; expected at most "
                f"{_RECIPIENT_LIMIT} (SES's limit per receipt rule)"
            )
        cleaned: list[str] = []
        for entry in value:
            address = _normalise_address(entry)
            if address in cleaned:
                raise ValueError(f"{entry!r} is listed twice; expected each once")
            cleaned.append(address)
        return cleaned

    @field_validator("lambda_arn")
    @classmethod
    def _lambda_arn(cls, value: str | None) -> str | None:
        if value is not None and not _FUNCTION_ARN.match(value):
            raise ValueError(
                "expected a Lambda function ARN such as "
                "arn:aws:lambda:eu-west-1:123456789012:function:inbound-mail"
            )
        return value

    @property
    def lambda_region(self) -> str | None:
        match = _FUNCTION_ARN.match(self.lambda_arn or "")
        return match["region"] if match else None

    @property
    def lambda_account(self) -> str | None:
        match = _FUNCTION_ARN.match(self.lambda_arn or "")
        return match["account"] if match else None


def receipt_rule_set_name(app: str, environment: str) -> str:
    """The environment's receipt rule set, the same name in each region."""
    return f"{app}-{environment}-inbound"


def inbound_stack_name(app: str, environment: str, region: str) -> str:
    """The stack receiving an environment's mail in one SES region."""
    return f"{app}-{environment}-inbound-{region}"


def receipt_rule_name(domain: str) -> str:
    """A domain's receipt rule: the domain, shortened with a digest past 64."""
    if len(domain) <= _SES_NAME_LIMIT:
        return domain
    digest = hashlib.sha256(domain.encode()).hexdigest()[:8]
    return f"{domain[: _SES_NAME_LIMIT - 9].rstrip('.-')}-{digest}"


def object_prefix(domain: str) -> str:
    """Where a domain's messages go in the bucket."""
    return f"{domain}/"


def receiving_domains_by_region(
    config: EnvironmentConfig,
) -> dict[str, list[DomainSettings]]:
    """Receiving domains grouped by SES region, regions in order of first use."""
    grouped: dict[str, list[DomainSettings]] = {}
    for domain in config.domains:
        if domain.inbound is not None:
            grouped.setdefault(config.ses_region_of(domain), []).append(domain)
    return grouped


def inbound_problem(config: EnvironmentConfig) -> str | None:
    """The first mistake across ``inbound`` settings and the rest, or None."""
    for region in config.additional_receiving_regions:
        if not _REGION.match(region):
            return (
                f"additional_receiving_regions = {region!r}: expected region names "
                "such as eu-south-3"
            )
    receiving = RECEIVING_REGIONS | set(config.additional_receiving_regions)

    for index, domain in enumerate(config.domains):
        inbound = domain.inbound
        if inbound is None:
            continue
        where = f"domains[{index}]"
        region = config.ses_region_of(domain)
        if region not in receiving:
            return (
                f"{where}.inbound = 'ses': SES does not receive mail in "
                f"{region!r}, the domain's SES region: expected a domain whose "
                "ses_region receives mail (see mailcore/regions.py, or list a "
                "newer region in additional_receiving_regions)"
            )
        if domain.mx:
            hosts = ", ".join(mx.host for mx in domain.mx)
            return (
                f"{where}.mx = [{hosts}]: the domain receives with inbound: ses, "
                "whose MX record SES names: expected no mx hosts (one MX record "
                "set per name)"
            )
        for position, address in enumerate(inbound.recipients):
            if address.rpartition("@")[2] != domain.name:
                return (
                    f"{where}.inbound.recipients[{position}] = {address!r}: "
                    f"expected an address of {domain.name}"
                )
        if inbound.lambda_arn is not None:
            if inbound.lambda_region != region:
                return (
                    f"{where}.inbound.lambda_arn = {inbound.lambda_arn!r}: the "
                    f"function is in {inbound.lambda_region}: expected a function "
                    f"in {region}, where SES receives the domain's mail"
                )
            if config.account and inbound.lambda_account != config.account:
                return (
                    f"{where}.inbound.lambda_arn = {inbound.lambda_arn!r}: expected "
                    f"a function of account {config.account}, which may let SES "
                    "invoke it"
                )

    return None


def _normalise_address(entry: str) -> str:
    text = entry.strip().lower()
    local, at, _ = text.rpartition("@")
    if "*" in local:
        raise ValueError(
            f"{entry!r}: SES receipt rules match exact addresses, not patterns; "
            "expected an address such as support@example.com, or no recipients "
            "to receive for the whole domain"
        )
    if not at:
        raise ValueError(
            f"{entry!r} is not an email address; expected addresses such as "
            "support@example.com (leave recipients out to receive for the whole "
            "domain)"
        )
    return names.normalise_address(entry, example="support@example.com")
