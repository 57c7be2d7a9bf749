"""Reputation alarms per SES region and the environment's dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

from stacks.environment import build_environment
from tests.conftest import make_config

TOPIC = {"Ref": Match.string_like_regexp("^ReputationTopic")}


def environment(**bounces: Any) -> dict[str, Any]:
    """Two domains in us-east-1, one in eu-central-1; the environment in us-east-1."""
    return {
        "region": "us-east-1",
        "domains": [
            {"name": "example.com"},
            {"name": "example.org"},
            {"name": "example.eu", "ses_region": "eu-central-1"},
        ],
        "bounces": bounces,
    }


def stacks_of(settings: dict[str, Any]) -> dict[str, Stack]:
    return {s.stack_name: s for s in build_environment(App(), make_config(settings))}


def monitoring(settings: dict[str, Any], region: str = "us-east-1") -> Template:
    return Template.from_stack(stacks_of(settings)[f"mail-test-monitoring-{region}"])


def alarm(template: Template, metric: str, threshold: float) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SES",
            "MetricName": metric,
            "Dimensions": Match.absent(),
            "Statistic": "Maximum",
            "Period": 3600,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [TOPIC],
            "OKActions": [TOPIC],
        },
    )


def test_one_monitoring_stack_per_ses_region_however_many_domains_share_it():
    stacks = stacks_of(environment())

    assert list(stacks) == [
        "mail-test-example-com",
        "mail-test-example-org",
        "mail-test-example-eu",
        "mail-test-monitoring-us-east-1",
        "mail-test-monitoring-eu-central-1",
    ]
    assert stacks["mail-test-monitoring-eu-central-1"].region == "eu-central-1"
    assert stacks["mail-test-monitoring-us-east-1"].region == "us-east-1"


def test_default_thresholds_are_bounce_5_10_and_complaint_0_1_0_5_percent():
    template = monitoring(environment())

    template.resource_count_is("AWS::CloudWatch::Alarm", 4)
    alarm(template, "Reputation.BounceRate", 0.05)
    alarm(template, "Reputation.BounceRate", 0.1)
    alarm(template, "Reputation.ComplaintRate", 0.001)
    alarm(template, "Reputation.ComplaintRate", 0.005)


def test_thresholds_come_from_the_settings_in_percent():
    template = monitoring(
        environment(
            alarms={
                "bounce_rate": {"warning": 2, "critical": 4},
                "complaint_rate": {"warning": 0.05, "critical": 0.08},
            }
        ),
        region="eu-central-1",
    )

    template.resource_count_is("AWS::CloudWatch::Alarm", 4)
    alarm(template, "Reputation.BounceRate", 0.02)
    alarm(template, "Reputation.BounceRate", 0.04)
    alarm(template, "Reputation.ComplaintRate", 0.0005)
    alarm(template, "Reputation.ComplaintRate", 0.0008)


def test_alarm_topic_is_named_ssl_only_and_emails_each_notify_address():
    template = monitoring(environment(notify=["Ops@Example.com", "dev@example.org"]))

    template.resource_count_is("AWS::SNS::Topic", 1)
    template.has_resource_properties(
        "AWS::SNS::Topic", {"TopicName": "mail-test-mail-alarms"}
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "sns:Publish",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        "Effect": "Deny",
                        "Principal": "*",
                        "Resource": TOPIC,
                        "Sid": "AllowPublishThroughSSLOnly",
                    }
                ]
            }
        },
    )
    template.resource_count_is("AWS::SNS::Subscription", 2)
    for address in ("ops@example.com", "dev@example.org"):
        template.has_resource_properties(
            "AWS::SNS::Subscription",
            {"Protocol": "email", "Endpoint": address, "TopicArn": TOPIC},
        )


def test_without_notify_addresses_the_topic_has_no_subscription():
    template = monitoring(environment())

    template.resource_count_is("AWS::SNS::Topic", 1)
    template.resource_count_is("AWS::SNS::Subscription", 0)


def dashboard_body(template: Template) -> dict[str, Any]:
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    return json.loads(body if isinstance(body, str) else "".join(body["Fn::Join"][1]))


def test_dashboard_is_in_the_environments_region_only():
    stacks = stacks_of(environment())

    home = Template.from_stack(stacks["mail-test-monitoring-us-east-1"])
    other = Template.from_stack(stacks["mail-test-monitoring-eu-central-1"])
    home.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    home.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "mail-test-mail"}
    )
    other.resource_count_is("AWS::CloudWatch::Dashboard", 0)


def test_dashboard_graphs_each_ses_regions_counts_and_reputation():
    body = dashboard_body(monitoring(environment()))

    graphs = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    assert list(graphs) == [
        f"{title}, SES {region}"
        for region in ("us-east-1", "eu-central-1")
        for title in (
            "Sends and deliveries",
            "Bounces, complaints, rejects",
            "Reputation (%)",
        )
    ]
    counts = graphs["Bounces, complaints, rejects, SES eu-central-1"]["metrics"]
    assert [m[:2] for m in counts] == [
        ["AWS/SES", "Bounce"],
        ["AWS/SES", "Complaint"],
        ["AWS/SES", "Reject"],
    ]
    assert {m[2]["region"] for m in counts} == {"eu-central-1"}
    volume = graphs["Sends and deliveries, SES us-east-1"]["metrics"]
    assert [m[1] for m in volume] == ["Send", "Delivery"]
    rates = graphs["Reputation (%), SES us-east-1"]
    metric_names = [m[1] for m in rates["metrics"] if len(m) > 2]
    assert metric_names == ["Reputation.BounceRate", "Reputation.ComplaintRate"]
    assert [a["value"] for a in rates["annotations"]["horizontal"]] == [10, 0.5]


def test_environment_without_a_region_puts_the_dashboard_with_the_first_domain():
    stacks = stacks_of(
        {
            "domains": [
                {"name": "example.eu", "ses_region": "eu-central-1"},
                {"name": "example.com", "ses_region": "us-east-1"},
            ],
            "bounces": {},
        }
    )

    monitoring_stacks = [s for s in stacks if "-monitoring-" in s]
    assert monitoring_stacks == [
        "mail-test-monitoring-eu-central-1",
        "mail-test-monitoring-us-east-1",
    ]
    Template.from_stack(stacks[monitoring_stacks[0]]).resource_count_is(
        "AWS::CloudWatch::Dashboard", 1
    )


def test_environment_region_without_domains_gets_the_dashboard_and_no_alarms():
    stacks = stacks_of(
        {
            "region": "eu-west-1",
            "domains": [{"name": "example.eu", "ses_region": "eu-central-1"}],
            "bounces": {},
        }
    )

    home = Template.from_stack(stacks["mail-test-monitoring-eu-west-1"])
    home.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    home.resource_count_is("AWS::CloudWatch::Alarm", 0)
    home.resource_count_is("AWS::SNS::Topic", 0)
    Template.from_stack(stacks["mail-test-monitoring-eu-central-1"]).resource_count_is(
        "AWS::CloudWatch::Alarm", 4
    )


@pytest.mark.parametrize("bounces", [None, {"enabled": False}])
def test_no_monitoring_stack_without_bounce_handling(bounces):
    settings = environment()
    if bounces is None:
        del settings["bounces"]
    else:
        settings["bounces"] = bounces

    names = list(stacks_of(settings))

    assert names == [
        "mail-test-example-com",
        "mail-test-example-org",
        "mail-test-example-eu",
    ]


def test_monitoring_stacks_carry_tags_and_termination_protection():
    settings = {**environment(), "tags": {"team": "mail"}}
    stack = stacks_of(settings)["mail-test-monitoring-us-east-1"]

    assert stack.termination_protection is False
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::Topic", {"Tags": [{"Key": "team", "Value": "mail"}]}
    )
    prod = {
        s.stack_name: s
        for s in build_environment(App(), make_config(environment(), "prod"))
    }
    assert prod["mail-prod-monitoring-eu-central-1"].termination_protection is True


def test_dashboard_graphs_the_relay_queue_when_the_relay_is_on():
    settings = environment()
    settings["smtp_users"] = [{"name": "relay", "send_as": ["example.com"]}]
    settings["relay"] = {
        "enabled": True,
        "smtp_user": "relay",
        "allowed_cidrs": ["10.0.0.0/8"],
    }

    with_relay = dashboard_body(monitoring(settings))
    without = dashboard_body(monitoring(environment()))

    [queue] = [
        w["properties"]
        for w in with_relay["widgets"]
        if w["properties"].get("title") == "SMTP relay mail-test-relay: queued messages"
    ]
    assert queue["metrics"] == [
        [
            "Mail/Relay",
            "QueuedMessages",
            "Relay",
            "mail-test-relay",
            {"label": "queued messages", "region": "us-east-1", "stat": "Maximum"},
        ]
    ]
    assert "Mail/Relay" not in json.dumps(without)
