"""The monitoring stack of one region: reputation alarms, and maybe the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from mailcore.bounce_settings import AlarmSettings
from stacks.delivery_dashboard import DeliveryDashboard
from stacks.reputation_alarms import ReputationAlarms
from stacks.smtp_relay import queue_metric

__all__ = ["MonitoringStack"]


class MonitoringStack(Stack):
    """Alarms on the account's SES reputation in the stack's region.

    Reputation metrics belong to the account and region, not to a domain, so
    each region gets one of these stacks however many domains send from it.
    The stack in the environment's region also holds the dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_topic_name: str,
        thresholds: AlarmSettings,
        notify: Sequence[str],
        alarms: bool,
        dashboard_name: str | None = None,
        dashboard_regions: Sequence[str] = (),
        relay_name: str | None = None,
        **stack_options: Any,
    ) -> None:
        """Keyword arguments:

        - ``alarms``: whether domains send from this region (the reputation
          alarms and the alarm topic are built only then).
        - ``dashboard_name``: build the dashboard here, under this name, with a
          row for each of ``dashboard_regions``. Default: no dashboard.
        - ``relay_name``: add a row for that SMTP relay's queue to the dashboard
          (the relay runs in this stack's region). Default: no relay row.
        """
        super().__init__(scope, construct_id, **stack_options)

        self.reputation: ReputationAlarms | None = None
        if alarms:
            self.reputation = ReputationAlarms(
                self,
                "Reputation",
                topic_name=alarm_topic_name,
                thresholds=thresholds,
                notify=notify,
            )
            CfnOutput(
                self,
                "AlarmTopicArn",
                value=self.reputation.topic.topic_arn,
                description="SNS topic of the reputation and dead-letter alarms",
            )

        self.dashboard: DeliveryDashboard | None = None
        if dashboard_name is not None:
            self.dashboard = DeliveryDashboard(
                self,
                "Dashboard",
                dashboard_name=dashboard_name,
                ses_regions=dashboard_regions,
                thresholds=thresholds,
                extra_rows=[_relay_row(relay_name, self.region)] if relay_name else [],
            )
            CfnOutput(
                self,
                "DashboardName",
                value=dashboard_name,
                description="CloudWatch dashboard of the environment's mail",
            )


def _relay_row(relay_name: str, region: str) -> list[cloudwatch.IWidget]:
    metric = queue_metric(relay_name).with_(label="queued messages", region=region)
    return [
        cloudwatch.GraphWidget(
            title=f"SMTP relay {relay_name}: queued messages",
            left=[metric],
            region=region,
            width=24,
        )
    ]
