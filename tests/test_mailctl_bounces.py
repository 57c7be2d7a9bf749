"""``mailctl bounces``: a deployed domain's events read back, grouped by type.

moto plays the deployment: a CloudFormation stack named as the example
environment names example.com's stack, holding a table with the handler's key
schema and the ``DeliveryEventsTableName`` output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mailctl.bounces import parse_since
from mailctl.cli import main

STACK = "mail-example-example-com"
REGION = "us-east-1"

TEMPLATE = {
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "event_type", "KeyType": "HASH"},
                    {"AttributeName": "event_id", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "event_type", "AttributeType": "S"},
                    {"AttributeName": "event_id", "AttributeType": "S"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
        }
    },
    "Outputs": {"DeliveryEventsTableName": {"Value": {"Ref": "Table"}}},
}


def stamp(hours_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(hours=hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
        [output] = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0][
            "Outputs"
        ]
        table = output["OutputValue"]
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for kind, hours_ago, recipient, subtype, diagnostic, suppression in (
            ("Bounce", 2, "gone@example.org", "Permanent/General", "5.1.1", "by SES"),
            ("Bounce", 30, "old@example.org", "Permanent/General", "5.1.1", "by SES"),
            ("Complaint", 1, "angry@example.org", "abuse", "", "by SES"),
            ("DeliveryDelay", 3, "slow@example.org", "MailboxFull", "4.2.2", "no"),
        ):
            timestamp = stamp(hours_ago)
            item = {
                "event_type": kind,
                "event_id": f"{timestamp}#msg-{recipient}#{recipient}",
                "recipient": recipient,
                "subtype": subtype,
                "diagnostic": diagnostic,
                "message_id": f"msg-{recipient}",
                "timestamp": timestamp,
                "suppression": suppression,
            }
            dynamodb.put_item(
                TableName=table, Item={k: {"S": v} for k, v in item.items()}
            )
        yield table


def test_events_of_the_last_day_are_printed_grouped_by_type(deployed, capsys):
    status = main(["bounces", "Example.COM.", "--env", "example"])

    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert out[0].startswith("example.com: events since ")
    assert out[0].endswith(f"(table {deployed}, {REGION})")
    headers = [line for line in out if not line.startswith("  ")][1:]
    assert headers == ["Bounce: 1", "Complaint: 1", "Reject: 0", "DeliveryDelay: 1"]
    bounce = out[out.index("Bounce: 1") + 1]
    assert "gone@example.org  Permanent/General  5.1.1  suppression: by SES" in bounce
    assert "old@example.org" not in "\n".join(out)


def test_since_reaches_further_back(deployed, capsys):
    status = main(["bounces", "example.com", "--since", "2d"])

    out = capsys.readouterr().out
    assert status == 0
    assert "Bounce: 2" in out
    assert "old@example.org" in out


def test_a_domain_without_a_deployed_stack_fails_in_one_line(deployed, capsys):
    status = main(["bounces", "example.net"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("mailctl bounces: error: stack mail-example-example-net in ")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["unknown.org"], "DOMAIN 'unknown.org' is not in environment example"),
        (["example.com", "--since", "yesterday"], "--since 'yesterday': expected"),
        (["example.com", "--env", "nope"], "no such environment 'nope'"),
        (
            ["example.com", "--env", "../etc"],
            "error: --env='../etc': expected the name of a file in environments/",
        ),
    ],
)
def test_a_mistake_fails_in_one_line_before_any_aws_call(arguments, message, capsys):
    status = main(["bounces", *arguments])

    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert message in err


def test_an_environment_without_bounce_handling_says_so(tmp_path: Path, capsys):
    (tmp_path / "quiet.yaml").write_text(
        "region: us-east-1\ndomains:\n  - name: example.com\n"
    )

    status = main(
        ["bounces", "example.com", "--env", "quiet", "--environments", str(tmp_path)]
    )

    assert status == 2
    assert "environment quiet records no delivery events" in capsys.readouterr().err


def test_since_understands_minutes_hours_days_and_weeks():
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    assert parse_since("30m", now=now) == datetime(2026, 12, 3, 11, 30, tzinfo=UTC)
    assert parse_since("24h", now=now) == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert parse_since("7D", now=now) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_since("2w", now=now) == datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
