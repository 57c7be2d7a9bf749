"""Alarms on an SES account's reputation in one region, and the topic they notify."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from mailcore.bounce_settings import AlarmSettings, RateThresholds

__all__ = ["REPUTATION_PERIOD", "ReputationAlarms", "reputation_metric"]

# SES updates the reputation metrics about every few minutes; an hour's maximum
# reacts within the hour without flapping on one busy quarter-hour.
REPUTATION_PERIOD = Duration.hours(1)


def reputation_metric(
    name: str, *, region: str | None = None, label: str | None = None
) -> cloudwatch.Metric:
    """``Reputation.BounceRate`` or ``Reputation.ComplaintRate`` (fractions)."""
    return cloudwatch.Metric(
        namespace="AWS/SES",
        metric_name=name,
        statistic="Maximum",
        period=REPUTATION_PERIOD,
        region=region,
        label=label,
    )


class ReputationAlarms(Construct):
    """Warning and critical alarms on the bounce and complaint rates of a region.

    The metrics are the account's, per region, with no dimension, so one set of
    alarms covers every identity sending through SES in the stack's region.
    Every alarm, and its return to OK, notifies :attr:`topic`, which ``notify``
    addresses subscribe to by email (each confirms the subscription once).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        thresholds: AlarmSettings,
        notify: Sequence[str] = (),
    ) -> None:
        """Keyword arguments:

        - ``topic_name``: name of the alarm topic; other stacks of the region
          find it by this name.
        - ``thresholds``: warning and critical levels in percent.
        - ``notify``: email addresses subscribed to the topic. Default: none.
        """
        super().__init__(scope, construct_id)

        # NOTE: not encrypted at rest, like the event topic: CloudWatch can
        # publish to an encrypted topic only through a customer-managed KMS key
        # whose policy admits it; an option for one is not there yet.
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name="Email reputation and delivery alarms",
            enforce_ssl=True,
        )
        for address in notify:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._add("BounceRate", "Reputation.BounceRate", thresholds.bounce_rate)
        self._add(
            "ComplaintRate", "Reputation.ComplaintRate", thresholds.complaint_rate
        )

    def _add(self, name: str, metric_name: str, levels: RateThresholds) -> None:
        action = cloudwatch_actions.SnsAction(self.topic)
        for level, percent in (
            ("Warning", levels.warning),
            ("Critical", levels.critical),
        ):
            alarm = cloudwatch.Alarm(
                self,
                f"{name}{level}",
                alarm_description=(
                    f"{level}: the account's SES {metric_name} in this region is "
                    f"at or above {percent:g} %"
                ),
                metric=reputation_metric(metric_name),
                threshold=percent / 100,
                evaluation_periods=1,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                ),
                # An account that sends nothing publishes no reputation data.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self.alarms[f"{name}{level}"] = alarm
