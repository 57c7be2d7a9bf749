"""What a domain's stack gets with ``bounces:``: a queue, a handler, a table."""

from __future__ import annotations

from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Capture, Match, Template

from stacks.delivery_events import MAX_RECEIVES
from stacks.environment import build_environment
from tests.conftest import domain_settings, make_config

ALARM_TOPIC_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":sns:us-east-1:",
            {"Ref": "AWS::AccountId"},
            ":mail-test-mail-alarms",
        ],
    ]
}


def with_bounces(**bounces: Any) -> dict[str, Any]:
    return {**domain_settings(), "bounces": bounces}


def test_without_a_bounces_block_nothing_is_recorded(synth_domain):
    template = synth_domain(domain_settings())

    template.resource_count_is("AWS::SQS::Queue", 0)
    template.resource_count_is("AWS::Lambda::Function", 0)
    template.resource_count_is("AWS::DynamoDB::Table", 0)


def test_bounces_enabled_false_builds_nothing(synth_domain):
    template = synth_domain(with_bounces(enabled=False))

    template.resource_count_is("AWS::SQS::Queue", 0)
    template.resource_count_is("AWS::DynamoDB::Table", 0)


def test_event_topic_feeds_an_encrypted_ssl_only_queue_with_a_dead_letter_queue(
    synth_domain,
):
    template = synth_domain(with_bounces())
    dead_letters = Capture()

    template.resource_count_is("AWS::SQS::Queue", 2)
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": 180,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
                "maxReceiveCount": MAX_RECEIVES,
            },
        },
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 86400},
    )
    template.resource_count_is("AWS::SQS::QueuePolicy", 2)
    template.all_resources_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "sqs:*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Resource": Match.any_value(),
                        }
                    ]
                )
            }
        },
    )
    # SNS's own delivery failures land in the same dead-letter queue.
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "sqs",
            "RawMessageDelivery": Match.absent(),
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters.as_string(), "Arn"]}
            },
        },
    )


def test_handler_reports_batch_item_failures_and_knows_table_and_set(synth_domain):
    template = synth_domain(with_bounces(retention_days=30))

    template.resource_count_is("AWS::Lambda::Function", 1)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "index.handler",
            "Runtime": "python3.14",
            "Timeout": 30,
            "Environment": {
                "Variables": {
                    "TABLE_NAME": {"Ref": Match.string_like_regexp("Table")},
                    "RETENTION_DAYS": "30",
                    "CONFIGURATION_SET_NAME": "mail-test-example-com",
                }
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )


def test_table_has_ttl_point_in_time_recovery_encryption_and_is_retained(
    synth_domain,
):
    template = synth_domain(with_bounces())

    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "event_type", "KeyType": "HASH"},
                    {"AttributeName": "event_id", "KeyType": "RANGE"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {
                    "PointInTimeRecoveryEnabled": True
                },
                "SSESpecification": {"SSEEnabled": True},
                "TimeToLiveSpecification": {
                    "AttributeName": "expires_at",
                    "Enabled": True,
                },
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_output(
        "DeliveryEventsTableName", {"Value": {"Ref": Match.string_like_regexp("Table")}}
    )


def test_handler_may_write_items_and_read_only_its_own_configuration_set(
    synth_domain,
):
    template = synth_domain(with_bounces())
    statements = Capture()

    template.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": statements}},
    )
    by_action = {str(s["Action"]): s["Resource"] for s in statements.as_array()}
    [table_arn] = by_action["dynamodb:PutItem"]
    assert table_arn["Fn::GetAtt"][0].startswith("DeliveryEventsTable")
    assert table_arn["Fn::GetAtt"][1] == "Arn"
    assert by_action["ses:GetConfigurationSet"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ses:us-east-1:",
                {"Ref": "AWS::AccountId"},
                ":configuration-set/mail-test-example-com",
            ],
        ]
    }
    # The suppression list and account settings have no resource ARN.
    assert by_action["['ses:GetAccount', 'ses:PutSuppressedDestination']"] == "*"
    assert [a for a in by_action if "dynamodb" in a] == ["dynamodb:PutItem"]


def test_dead_letter_alarm_notifies_the_regions_alarm_topic(synth_domain):
    template = synth_domain(with_bounces())

    template.resource_count_is("AWS::CloudWatch::Alarm", 1)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {
                    "Name": "QueueName",
                    "Value": {"Fn::GetAtt": [Match.any_value(), "QueueName"]},
                }
            ],
            "Statistic": "Maximum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [ALARM_TOPIC_ARN],
            "OKActions": [ALARM_TOPIC_ARN],
        },
    )


def test_domain_stack_deploys_after_its_regions_monitoring_stack():
    config = make_config(
        {
            "region": "us-east-1",
            "domains": [
                {"name": "example.com"},
                {"name": "example.eu", "ses_region": "eu-central-1"},
            ],
            "bounces": {},
        }
    )

    stacks = {s.stack_name: s for s in build_environment(App(), config)}

    assert [d.stack_name for d in stacks["mail-test-example-com"].dependencies] == [
        "mail-test-monitoring-us-east-1"
    ]
    assert [d.stack_name for d in stacks["mail-test-example-eu"].dependencies] == [
        "mail-test-monitoring-eu-central-1"
    ]


def test_delivery_events_leave_dns_and_identity_unchanged():
    plain = build_environment(App(), make_config(domain_settings()))[0]
    bounced = build_environment(App(), make_config(with_bounces()))[0]
    kept = ("AWS::SES::EmailIdentity", "AWS::SES::ConfigurationSet")

    for kind in kept:
        assert Template.from_stack(plain).find_resources(kind) == (
            Template.from_stack(bounced).find_resources(kind)
        )
