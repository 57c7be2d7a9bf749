"""One stack per sending domain, deployed to the domain's SES region."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, RemovalPolicy, Stack
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from constructs import Construct

from mailcore.bounce_settings import EVENTS_TABLE_OUTPUT
from mailcore.config import DomainSettings
from mailcore.records import domain_records
from stacks.configuration_set import DeliveryConfigurationSet
from stacks.delivery_events import DeliveryEventProcessing
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
        events_retention_days: int | None = None,
        alarm_topic_name: str | None = None,
        **stack_options: Any,
    ) -> None:
        """Optional keyword arguments, each off by default:

        - ``workmail_region``: the region of the WorkMail organisation serving
          the domain, whose MX and autodiscover records this stack then writes.
        - ``events_retention_days`` and ``alarm_topic_name`` (the topic of the
          region's monitoring stack): record delivery events in a table.
        """
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

        self.events: DeliveryEventProcessing | None = None
        if events_retention_days is not None and alarm_topic_name is not None:
            # Found by name, not exported: the monitoring stack can be updated
            # without CloudFormation refusing to change an export in use.
            alarm_topic = sns.Topic.from_topic_arn(
                self,
                "AlarmTopic",
                self.format_arn(service="sns", resource=alarm_topic_name),
            )
            self.events = DeliveryEventProcessing(
                self,
                "DeliveryEvents",
                topic=delivery.topic,
                configuration_set_name=configuration_set_name,
                retention_days=events_retention_days,
                alarm_topic=alarm_topic,
            )
            CfnOutput(
                self,
                EVENTS_TABLE_OUTPUT,
                value=self.events.table.table_name,
                description="DynamoDB table of recorded delivery events",
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
