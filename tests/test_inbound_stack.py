"""Templates of the inbound stack: bucket, bucket policy, rules, activation, MX."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Capture, Match, Template

from stacks.environment import build_environment
from stacks.inbound_stack import domain_construct_id
from tests.conftest import REPO, make_config

CDK_CONTEXT: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
FUNCTION = "arn:aws:lambda:eu-central-1:123456789012:function:inbound-mail"
RULE_SET = "mail-test-inbound"


def settings(*domains: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"region": "eu-central-1", "domains": list(domains), **extra}


WHOLE = {"name": "example.eu", "inbound": "ses"}
LISTED = {
    "name": "example.com",
    "inbound": {
        "type": "ses",
        "recipients": ["Support@Example.com", "billing@example.com"],
        "scan": False,
        "notify": True,
        "lambda_arn": FUNCTION,
    },
}


def stacks(config: dict[str, Any], name: str = "test") -> dict[str, Any]:
    app = App(context=CDK_CONTEXT)
    return {s.stack_name: s for s in build_environment(app, make_config(config, name))}


def inbound(config: dict[str, Any]) -> Template:
    return Template.from_stack(stacks(config)["mail-test-inbound-eu-central-1"])


def rule_arn(rule: str) -> dict[str, Any]:
    """A rule's ARN as cdk.json's flags render it (the partition of the region)."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:aws:ses:eu-central-1:",
                {"Ref": "AWS::AccountId"},
                f":receipt-rule-set/{RULE_SET}:receipt-rule/{rule}",
            ],
        ]
    }


def source(rule: str) -> dict[str, Any]:
    return {
        "StringEquals": {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"},
            "aws:SourceArn": rule_arn(rule),
        }
    }


def logical_id(template: Template, kind: str, fragment: str = "") -> str:
    [found] = [
        key
        for key in template.find_resources(kind)
        if fragment in key  # a readable prefix, never a hash
    ]
    return found


def test_no_inbound_stack_without_receiving_domains() -> None:
    names = list(stacks(settings({"name": "example.eu"})))

    assert names == ["mail-test-example-eu"]


def test_one_inbound_stack_per_receiving_region_after_the_domain_stacks() -> None:
    config = settings(
        WHOLE,
        {"name": "example.org", "ses_region": "us-east-1", "inbound": "ses"},
        {"name": "example.net"},
        LISTED,
    )

    built = stacks(config)

    assert list(built) == [
        "mail-test-example-eu",
        "mail-test-example-org",
        "mail-test-example-net",
        "mail-test-example-com",
        "mail-test-inbound-eu-central-1",
        "mail-test-inbound-us-east-1",
    ]
    assert built["mail-test-inbound-eu-central-1"].region == "eu-central-1"
    assert built["mail-test-inbound-us-east-1"].region == "us-east-1"


def test_a_receiving_domain_publishes_its_mx_only_after_its_rule_set_is_active() -> (
    None
):
    config = settings(
        WHOLE,
        {"name": "example.org", "ses_region": "us-east-1", "inbound": "ses"},
        {"name": "example.net"},
    )

    built = stacks(config)

    def dependencies(name: str) -> list[str]:
        return [d.stack_name for d in built[name].dependencies]

    assert dependencies("mail-test-example-eu") == ["mail-test-inbound-eu-central-1"]
    assert dependencies("mail-test-example-org") == ["mail-test-inbound-us-east-1"]
    assert dependencies("mail-test-example-net") == []


def test_the_inbound_stack_is_shared_before_the_smtp_users_stack() -> None:
    config = settings(WHOLE, smtp_users=[{"name": "relay", "send_as": ["example.eu"]}])

    assert list(stacks(config))[-2:] == [
        "mail-test-inbound-eu-central-1",
        "mail-test-shared",
    ]


def test_mail_bucket_is_encrypted_versioned_private_logged_and_retained() -> None:
    template = inbound(settings(WHOLE))
    logs_bucket = logical_id(template, "AWS::S3::Bucket", "AccessLogs")

    template.resource_count_is("AWS::S3::Bucket", 2)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {
                    "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
                },
                "LoggingConfiguration": {
                    "DestinationBucketName": {"Ref": logs_bucket},
                    "LogFilePrefix": "mail/",
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "AbortIncompleteMultipartUpload": {
                                "DaysAfterInitiation": 7
                            },
                            "Id": "AbortIncompleteUploads",
                            "Status": "Enabled",
                        }
                    ]
                },
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_both_buckets_survive_stack_deletion_and_nothing_empties_them() -> None:
    template = inbound(settings(WHOLE))

    buckets = template.find_resources("AWS::S3::Bucket")
    assert {b["DeletionPolicy"] for b in buckets.values()} == {"Retain"}
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)


def test_access_logs_expire_after_a_year() -> None:
    template = inbound(settings(WHOLE))

    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": [Match.object_like({"ExpirationInDays": 365})]
            },
            "VersioningConfiguration": Match.absent(),
        },
    )


def test_lifecycle_settings_expire_only_that_domains_prefix() -> None:
    config = settings(
        {
            "name": "example.eu",
            "inbound": {
                "type": "ses",
                "expire_after_days": 730,
                "noncurrent_expire_after_days": 30,
            },
        },
        {"name": "example.com", "inbound": "ses"},
    )

    template = inbound(config)

    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": [
                    Match.object_like({"Id": "AbortIncompleteUploads"}),
                    {
                        "ExpirationInDays": 730,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        "Id": "ExpireExampleEu",
                        "Prefix": "example.eu/",
                        "Status": "Enabled",
                    },
                ]
            },
        },
    )


def test_bucket_policy_lets_only_ses_of_this_account_write_per_rule() -> None:
    template = inbound(settings(WHOLE, LISTED))
    statements = Capture()
    bucket = logical_id(template, "AWS::S3::Bucket", "Mail")

    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {"Bucket": {"Ref": bucket}, "PolicyDocument": {"Statement": statements}},
    )

    def objects(prefix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]}

    allows = [s for s in statements.as_array() if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Action": "s3:PutObject",
            "Condition": source("example.eu"),
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Resource": objects("example.eu/"),
            "Sid": "SesWritesExampleEu",
        },
        {
            "Action": "s3:PutObject",
            "Condition": source("example.com"),
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Resource": objects("example.com/"),
            "Sid": "SesWritesExampleCom",
        },
    ]


def test_bucket_policy_refuses_requests_without_tls() -> None:
    template = inbound(settings(WHOLE))
    statements = Capture()
    bucket = logical_id(template, "AWS::S3::Bucket", "Mail")

    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {"Bucket": {"Ref": bucket}, "PolicyDocument": {"Statement": statements}},
    )

    [deny] = [s for s in statements.as_array() if s["Effect"] == "Deny"]
    assert deny["Action"] == "s3:*"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_one_rule_set_named_for_the_environment() -> None:
    template = inbound(settings(WHOLE))

    template.resource_count_is("AWS::SES::ReceiptRuleSet", 1)
    template.has_resource_properties(
        "AWS::SES::ReceiptRuleSet", {"RuleSetName": RULE_SET}
    )


def test_whole_domain_rule_requires_tls_scans_and_stores_under_its_prefix() -> None:
    template = inbound(settings(WHOLE))
    bucket = logical_id(template, "AWS::S3::Bucket", "Mail")

    template.resource_count_is("AWS::SES::ReceiptRule", 1)
    template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "RuleSetName": RULE_SET,
            "After": Match.absent(),
            "Rule": {
                "Name": "example.eu",
                "Enabled": True,
                "Recipients": ["example.eu"],
                "ScanEnabled": True,
                "TlsPolicy": "Require",
                "Actions": [
                    {
                        "S3Action": {
                            "BucketName": {"Ref": bucket},
                            "ObjectKeyPrefix": "example.eu/",
                        }
                    }
                ],
            },
        },
    )


def test_listed_recipients_notify_and_lambda_become_rule_actions_in_order() -> None:
    template = inbound(settings(LISTED))
    bucket = logical_id(template, "AWS::S3::Bucket", "Mail")
    topic = logical_id(template, "AWS::SNS::Topic", "ExampleCom")

    template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "Rule": {
                "Name": "example.com",
                "Enabled": True,
                "Recipients": ["support@example.com", "billing@example.com"],
                "ScanEnabled": False,
                "TlsPolicy": "Require",
                "Actions": [
                    {
                        "S3Action": {
                            "BucketName": {"Ref": bucket},
                            "ObjectKeyPrefix": "example.com/",
                            "TopicArn": {"Ref": topic},
                        }
                    },
                    {
                        "LambdaAction": {
                            "FunctionArn": FUNCTION,
                            "InvocationType": "Event",
                        }
                    },
                ],
            },
            "RuleSetName": RULE_SET,
        },
    )


def test_rules_follow_each_other_in_the_order_of_domains() -> None:
    template = inbound(
        settings(WHOLE, LISTED, {"name": "example.org", "inbound": "ses"})
    )
    rules = template.find_resources("AWS::SES::ReceiptRule")

    order = {
        r["Properties"]["Rule"]["Name"]: r["Properties"].get("After")
        for r in rules.values()
    }
    assert order == {
        "example.eu": None,
        "example.com": "example.eu",
        "example.org": "example.com",
    }
    org = logical_id(template, "AWS::SES::ReceiptRule", "ExampleOrg")
    com = logical_id(template, "AWS::SES::ReceiptRule", "ExampleCom")
    assert com in rules[org]["DependsOn"]


def test_each_rule_waits_for_the_permissions_ses_checks_on_creation() -> None:
    template = inbound(settings(LISTED))
    [rule] = template.find_resources("AWS::SES::ReceiptRule").values()

    assert sorted(rule["DependsOn"]) == sorted(
        [
            logical_id(template, "AWS::S3::BucketPolicy", "Mail"),
            logical_id(template, "AWS::Lambda::Permission", "ExampleCom"),
            logical_id(template, "AWS::SNS::Topic", "ExampleCom"),
            logical_id(template, "AWS::SNS::TopicPolicy", "ExampleCom"),
            "RuleSet",
        ]
    )


def test_notification_topic_takes_publishes_from_its_rule_only() -> None:
    template = inbound(settings(LISTED))
    topic = logical_id(template, "AWS::SNS::Topic", "ExampleCom")

    template.resource_count_is("AWS::SNS::Topic", 1)
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "sns:Publish",
                            "Condition": source("example.com"),
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Resource": {"Ref": topic},
                            "Sid": "SesPublishes",
                        }
                    ]
                )
            },
        },
    )
    assert template.find_outputs("ExampleComTopicArn")["ExampleComTopicArn"][
        "Value"
    ] == {"Ref": topic}


def test_no_topic_or_permission_unless_asked_for() -> None:
    template = inbound(settings(WHOLE))

    template.resource_count_is("AWS::SNS::Topic", 0)
    template.resource_count_is("AWS::Lambda::Permission", 0)


def test_ses_may_invoke_the_hand_off_function_for_this_rule_only() -> None:
    template = inbound(settings(LISTED))

    template.resource_count_is("AWS::Lambda::Permission", 1)
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": FUNCTION,
            "Principal": "ses.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": rule_arn("example.com"),
        },
    )


def test_activation_runs_after_every_rule_and_names_the_set_and_its_rules() -> None:
    template = inbound(settings(WHOLE, LISTED))

    [resource] = template.find_resources("Custom::ActiveReceiptRuleSet").values()
    assert set(resource["Properties"]) == {"ServiceToken", "RuleSetName", "Rules"}
    assert resource["Properties"]["RuleSetName"] == RULE_SET
    assert resource["Properties"]["Rules"] == ["example.eu", "example.com"]
    rules = list(template.find_resources("AWS::SES::ReceiptRule"))
    assert set(rules) | {"RuleSet"} <= set(resource["DependsOn"])
    assert resource["DeletionPolicy"] == "Delete"


def test_activation_handler_may_only_read_and_set_the_active_rule_set() -> None:
    template = inbound(settings(WHOLE))
    statements = Capture()

    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("ActiveRuleSetHandlerRole"),
            "PolicyDocument": {"Statement": statements},
        },
    )
    assert [s["Action"] for s in statements.as_array()] == [
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        ["ses:DescribeActiveReceiptRuleSet", "ses:SetActiveReceiptRuleSet"],
    ]
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "index.on_event", "Runtime": "python3.14", "Timeout": 60},
    )


def test_resource_counts_of_a_region_with_two_domains() -> None:
    template = inbound(settings(WHOLE, LISTED))

    template.resource_count_is("AWS::S3::Bucket", 2)
    template.resource_count_is("AWS::S3::BucketPolicy", 2)
    template.resource_count_is("AWS::SES::ReceiptRuleSet", 1)
    template.resource_count_is("AWS::SES::ReceiptRule", 2)
    template.resource_count_is("Custom::ActiveReceiptRuleSet", 1)
    template.resource_count_is("AWS::Lambda::Function", 2)
    template.resource_count_is("AWS::SNS::Topic", 1)


def test_outputs_name_the_bucket_and_the_rule_set() -> None:
    template = inbound(settings(WHOLE))
    bucket = logical_id(template, "AWS::S3::Bucket", "Mail")

    outputs = template.find_outputs("*")
    assert {name: o["Value"] for name, o in outputs.items()} == {
        "MailBucketName": {"Ref": bucket},
        "ReceiptRuleSetName": RULE_SET,
    }


def test_a_receiving_domain_publishes_the_ses_inbound_mx_in_its_zone() -> None:
    domain = {**WHOLE, "hosted_zone": {"create": True}}
    template = Template.from_stack(stacks(settings(domain))["mail-test-example-eu"])

    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "example.eu.",
            "Type": "MX",
            "ResourceRecords": ["10 inbound-smtp.eu-central-1.amazonaws.com"],
        },
    )


def test_a_receiving_domain_without_a_zone_outputs_the_inbound_mx_line() -> None:
    domain = {**WHOLE, "ses_region": "eu-west-1"}
    template = Template.from_stack(stacks(settings(domain))["mail-test-example-eu"])

    outputs = template.find_outputs("DnsInboundMx")
    assert [o["Value"] for o in outputs.values()] == [
        "example.eu. 1800 IN MX 10 inbound-smtp.eu-west-1.amazonaws.com."
    ]


@pytest.mark.parametrize(
    ("domain", "construct_id"),
    [
        ("example.com", "ExampleCom"),
        ("mail.example.co.uk", "MailExampleCoUk"),
        ("my-shop.example", "MyShopExample"),
        ("xn--bcher-kva.example", "XnXBcherKvaExample"),
    ],
)
def test_domain_construct_id_is_pascal_case_of_the_stack_slug(
    domain: str, construct_id: str
) -> None:
    assert domain_construct_id(domain) == construct_id
