"""One CloudWatch dashboard for an environment's mail, across its SES regions."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from mailcore.bounce_settings import AlarmSettings
from stacks.reputation_alarms import reputation_metric

__all__ = ["DeliveryDashboard"]

_COUNT_PERIOD = Duration.hours(1)
_WIDTH = 8
_HEIGHT = 6


class DeliveryDashboard(Construct):
    """Sends, deliveries, bounces, complaints, rejects and reputation per region.

    SES publishes these metrics per account and region; a dashboard can graph
    metrics of any region, so one dashboard in the environment's region shows a
    row per SES region. ``extra_rows`` are appended below: the place for
    widgets of other features (the relay's queue, once there is a relay).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        ses_regions: Sequence[str],
        thresholds: AlarmSettings,
        extra_rows: Sequence[Sequence[cloudwatch.IWidget]] = (),
    ) -> None:
        """Keyword arguments:

        - ``ses_regions``: one row of graphs for each, in this order.
        - ``thresholds``: drawn as lines on the reputation graphs.
        - ``extra_rows``: rows of widgets added after the SES rows. Default: none.
        """
        super().__init__(scope, construct_id)

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Resource",
            dashboard_name=dashboard_name,
            default_interval=Duration.days(7),
        )
        for region in ses_regions:
            self.dashboard.add_widgets(*_region_row(region, thresholds))
        for row in extra_rows:
            self.dashboard.add_widgets(*row)


def _count(name: str, region: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/SES",
        metric_name=name,
        statistic="Sum",
        period=_COUNT_PERIOD,
        region=region,
        label=name,
    )


def _region_row(region: str, thresholds: AlarmSettings) -> list[cloudwatch.IWidget]:
    volume = cloudwatch.GraphWidget(
        title=f"Sends and deliveries, SES {region}",
        left=[_count("Send", region), _count("Delivery", region)],
        width=_WIDTH,
        height=_HEIGHT,
        region=region,
    )
    problems = cloudwatch.GraphWidget(
        title=f"Bounces, complaints, rejects, SES {region}",
        left=[
            _count("Bounce", region),
            _count("Complaint", region),
            _count("Reject", region),
        ],
        width=_WIDTH,
        height=_HEIGHT,
        region=region,
    )
    rates = cloudwatch.GraphWidget(
        title=f"Reputation (%), SES {region}",
        left=[
            cloudwatch.MathExpression(
                expression="bounce * 100",
                using_metrics={
                    "bounce": reputation_metric("Reputation.BounceRate", region=region)
                },
                label="Bounce rate %",
                period=Duration.hours(1),
            ),
            cloudwatch.MathExpression(
                expression="complaint * 100",
                using_metrics={
                    "complaint": reputation_metric(
                        "Reputation.ComplaintRate", region=region
                    )
                },
                label="Complaint rate %",
                period=Duration.hours(1),
            ),
        ],
        left_annotations=[
            cloudwatch.HorizontalAnnotation(
                value=thresholds.bounce_rate.critical, label="Bounce critical"
            ),
            cloudwatch.HorizontalAnnotation(
                value=thresholds.complaint_rate.critical, label="Complaint critical"
            ),
        ],
        width=_WIDTH,
        height=_HEIGHT,
        region=region,
    )
    return [volume, problems, rates]
