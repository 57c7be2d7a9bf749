"""One stack per sending domain, deployed to the domain's SES region."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, RemovalPolicy, Stack
from aws_cdk import aws_route53 as route53
from constructs import Construct

from mailcore.config import DomainSettings
from mailcore.records import domain_records
from stacks.configuration_set import DeliveryConfigurationSet
from stacks.domain_records import DomainRecords
from stacks.sending_identity import SendingIdentity

__all__ = ["SendingDomainStack"]


class SendingDomainStack(Stack):
    """An SES sending domain, its configuration set and every DNS record it needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: DomainSettings,
        ses_region: str,
        configuration_set_name: str,
        workmail_region: str | None = None,
        **stack_options: Any,
    ) -> None:
        """``workmail_region``: the region of the WorkMail organisation serving
        the domain, whose MX and autodiscover records this stack then writes.
        Default: none, the domain does not receive mail in WorkMail."""
        super().__init__(scope, construct_id, **stack_options)

        delivery = DeliveryConfigurationSet(
            self, "ConfigurationSet", domain=domain.name, name=configuration_set_name
        )
        identity = SendingIdentity(
            self,
            "Identity",
            domain=domain,
            configuration_set=delivery.configuration_set,
        )

        zone = self._hosted_zone(domain)
        records = domain_records(
            domain,
            ses_region=ses_region,
            easy_dkim=identity.easy_dkim_records(),
            workmail_region=workmail_region,
        )
        DomainRecords(self, "Dns", records=records, ttl=domain.ttl, zone=zone)

        CfnOutput(
            self,
            "ConfigurationSetName",
            value=delivery.configuration_set.configuration_set_name,
            description="Default configuration set of the identity",
        )
        CfnOutput(
            self,
            "EventTopicArn",
            value=delivery.topic.topic_arn,
            description="SNS topic receiving bounces, complaints, rejects, delays",
        )

    def _hosted_zone(self, domain: DomainSettings) -> route53.IHostedZone | None:
        settings = domain.hosted_zone
        if settings is None:
            return None
        if settings.create:
            zone = route53.PublicHostedZone(self, "Zone", zone_name=domain.name)
            # A new zone comes with new name servers; deleting it with the stack
            # would silently break the delegation the parent zone points at.
            zone.apply_removal_policy(RemovalPolicy.RETAIN)
            CfnOutput(
                self,
                "NameServers",
                value=Fn.join(" ", zone.hosted_zone_name_servers or []),
                description=f"Delegate {domain.name} to these name servers",
            )
            return zone
        assert settings.id and settings.name
        return route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=settings.id, zone_name=settings.name
        )
