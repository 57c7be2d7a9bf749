"""Bounce and complaint handling of an environment: records, alarms, a dashboard.

The ``bounces:`` block turns on, for every domain, a queue-fed Lambda that records
bounces, complaints, rejects and delivery delays in a DynamoDB table, and, per
SES region the environment sends from, alarms on the account's reputation
metrics. Thresholds are written in percent, as SES's console shows them; the
CloudWatch metrics are fractions (``0.05`` is 5 %).

Names built here are contracts: stack names, the alarm topic's name and the
CloudFormation output ``mailctl bounces`` reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from mailcore import names
from mailcore.settings_base import Settings

if TYPE_CHECKING:
    from mailcore.config import EnvironmentConfig

__all__ = [
    "EVENTS_TABLE_OUTPUT",
    "AlarmSettings",
    "BounceSettings",
    "RateThresholds",
    "alarm_topic_name",
    "dashboard_name",
    "dashboard_region",
    "monitoring_regions",
    "monitoring_stack_name",
    "ses_regions",
]

# The CloudFormation output of a domain's stack that names its events table.
EVENTS_TABLE_OUTPUT = "DeliveryEventsTableName"


class RateThresholds(Settings):
    """A warning and a critical level of a rate, in percent of messages sent."""

    warning: float = Field(gt=0, le=100)
    critical: float = Field(gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> RateThresholds:
        if self.warning >= self.critical:
            raise ValueError(
                f"warning {self.warning} is not below critical {self.critical}: "
                "expected warning < critical, both in percent"
            )
        return self


class AlarmSettings(Settings):
    """Reputation alarm thresholds; defaults follow SES's own review levels."""

    bounce_rate: RateThresholds = Field(
        default_factory=lambda: RateThresholds(warning=5, critical=10)
    )
    complaint_rate: RateThresholds = Field(
        default_factory=lambda: RateThresholds(warning=0.1, critical=0.5)
    )


class BounceSettings(Settings):
    """The ``bounces:`` block of an environment; on unless ``enabled: false``."""

    enabled: bool = Field(True, strict=True)
    retention_days: int = Field(90, ge=1, le=3650, strict=True)
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)
    notify: list[str] = Field(default_factory=list)

    @field_validator("notify")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        cleaned = []
        for entry in value:
            address = names.normalise_address(entry, example="ops@example.com")
            if address in cleaned:
                raise ValueError(f"{entry!r} is listed twice; expected each once")
            cleaned.append(address)
        return cleaned


def ses_regions(config: EnvironmentConfig) -> list[str]:
    """The SES regions of the environment's domains, each once, in order of use."""
    regions: list[str] = []
    for domain in config.domains:
        region = config.ses_region_of(domain)
        if region not in regions:
            regions.append(region)
    return regions


def monitoring_regions(config: EnvironmentConfig) -> list[str]:
    """Regions of the monitoring stacks: each SES region, then the dashboard's.

    Reputation metrics are per account and region, so alarms live in each SES
    region the environment sends from; the dashboard's region is one of them
    unless every domain sends from a region other than the environment's.
    """
    regions = ses_regions(config)
    home = dashboard_region(config)
    return regions if home in regions else [*regions, home]


def dashboard_region(config: EnvironmentConfig) -> str:
    """The environment's region, or the first domain's SES region without one."""
    return config.region or config.ses_region_of(config.domains[0])


def monitoring_stack_name(config: EnvironmentConfig, region: str) -> str:
    """``<app>-<env>-monitoring-<region>``: a region's alarms, maybe the dashboard."""
    return f"{config.app}-{config.name}-monitoring-{region}"


def alarm_topic_name(config: EnvironmentConfig) -> str:
    """The SNS topic alarms notify; one per region, each with this name."""
    return f"{config.app}-{config.name}-mail-alarms"


def dashboard_name(config: EnvironmentConfig) -> str:
    """The CloudWatch dashboard of the environment."""
    return f"{config.app}-{config.name}-mail"
