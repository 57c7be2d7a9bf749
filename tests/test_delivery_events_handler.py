"""The delivery events handler on moto: SES events as SNS delivers them to SQS.

Each event below has the shape of the examples in the SES developer guide
("Examples of event data that Amazon SES publishes to Amazon SNS"). Tests
publish it to a moto SNS topic subscribed by a moto SQS queue with a redrive
policy, receive it as the Lambda poller does, and hand the batch to the handler;
the table is a moto DynamoDB table with the stack's key schema. moto has no SES
suppression list or GetAccount, so the SES v2 client is a botocore Stubber that
fails a test on any call it was not told to expect.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from stacks.delivery_events import HANDLER_DIR, MAX_RECEIVES

REGION = "us-east-1"
TABLE = "delivery-events"
CONFIGURATION_SET = "mail-test-example-com"
RETENTION_DAYS = 30
RECIPIENT = "recipient@example.com"
MESSAGE_ID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "delivery_events_index", HANDLER_DIR / "index.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["delivery_events_index"] = module
    spec.loader.exec_module(module)
    return module


handler = _load()


def mail(*destinations: str, timestamp: str = "2026-11-05T00:40:02.012Z") -> dict:
    return {
        "timestamp": timestamp,
        "source": "Sender Name <sender@example.com>",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        "sendingAccountId": "123456789012",
        "messageId": MESSAGE_ID,
        "destination": list(destinations or [RECIPIENT]),
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "Sender Name <sender@example.com>"},
            {"name": "To", "value": RECIPIENT},
            {"name": "Subject", "value": "Your invoice"},
        ],
        "commonHeaders": {
            "from": ["Sender Name <sender@example.com>"],
            "to": [RECIPIENT],
            "messageId": MESSAGE_ID,
            "subject": "Your invoice",
        },
        "tags": {
            "ses:configuration-set": [CONFIGURATION_SET],
            "ses:source-ip": ["192.0.2.0"],
            "ses:from-domain": ["example.com"],
            "ses:caller-identity": ["ses_user"],
        },
    }


BOUNCE = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": RECIPIENT,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2026-11-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA": "dsn; mta.example.com",
    },
    "mail": mail(),
}
COMPLAINT = {
    "eventType": "Complaint",
    "complaint": {
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "complaintSubType": None,
        "complainedRecipients": [{"emailAddress": RECIPIENT}],
        "timestamp": "2026-11-05T00:41:02.669Z",
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2026-11-05T00:41:02.669Z",
    },
    "mail": mail(),
}
REJECT = {
    "eventType": "Reject",
    "mail": mail(RECIPIENT, "Second Person <second@example.org>"),
    "reject": {"reason": "Bad content"},
}
DELIVERY_DELAY = {
    "eventType": "DeliveryDelay",
    "mail": mail(),
    "deliveryDelay": {
        "timestamp": "2026-11-05T00:45:40.641Z",
        "delayType": "TransientCommunicationFailure",
        "expirationTime": "2026-11-05T14:45:40.914Z",
        "delayedRecipients": [
            {
                "emailAddress": RECIPIENT,
                "status": "4.4.1",
                "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host",
            }
        ],
    },
}
BOTH_REASONS = ["BOUNCE", "COMPLAINT"]


class FakeContext:
    aws_request_id = "c0ffee00-request"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Topic -> queue (redrive to a DLQ) -> handler -> table, as the stack wires it."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("RETENTION_DAYS", str(RETENTION_DAYS))
    monkeypatch.setenv("CONFIGURATION_SET_NAME", CONFIGURATION_SET)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "event_type", "KeyType": "HASH"},
                {"AttributeName": "event_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "event_type", "AttributeType": "S"},
                {"AttributeName": "event_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs")
        sns = boto3.client("sns")
        dead_letters = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=dead_letters, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        queue = sqs.create_queue(
            QueueName="events",
            Attributes={
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}
                )
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        topic = sns.create_topic(Name="events")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

        sesv2 = boto3.client("sesv2")
        stubber = Stubber(sesv2)
        handler._clients.clear()
        handler._clients["sesv2"] = sesv2
        handler._suppressed_reasons.update(reasons=None, until=0.0)
        with stubber:
            yield {
                "dynamodb": dynamodb,
                "sqs": sqs,
                "sns": sns,
                "queue": queue,
                "dead_letters": dead_letters,
                "topic": topic,
                "ses": stubber,
            }
            stubber.assert_no_pending_responses()
        handler._clients.clear()


def ses_suppresses(
    aws: dict[str, Any],
    *,
    set_reasons: list[str] | None,
    account_reasons: list[str] | None = None,
) -> None:
    """Answer the handler's look-up of what SES already suppresses."""
    response: dict[str, Any] = {"ConfigurationSetName": CONFIGURATION_SET}
    if set_reasons is not None:
        response["SuppressionOptions"] = {"SuppressedReasons": set_reasons}
    aws["ses"].add_response(
        "get_configuration_set",
        response,
        {"ConfigurationSetName": CONFIGURATION_SET},
    )
    if set_reasons is None:
        aws["ses"].add_response(
            "get_account",
            {"SuppressionAttributes": {"SuppressedReasons": account_reasons or []}},
            {},
        )


def expect_suppressed(aws: dict[str, Any], address: str, reason: str) -> None:
    aws["ses"].add_response(
        "put_suppressed_destination", {}, {"EmailAddress": address, "Reason": reason}
    )


def publish(aws: dict[str, Any], message: str | dict) -> None:
    body = message if isinstance(message, str) else json.dumps(message)
    aws["sns"].publish(TopicArn=aws["topic"], Message=body)


def receive(aws: dict[str, Any], queue: str = "queue") -> list[dict[str, Any]]:
    """Messages as the Lambda poller hands them over: ``messageId``, ``body``."""
    response = aws["sqs"].receive_message(
        QueueUrl=aws[queue], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [
        {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "eventSource": "aws:sqs",
        }
        for message in response.get("Messages", [])
    ]


def poll_once(aws: dict[str, Any]) -> dict[str, Any]:
    """One poller round: invoke with a batch, delete what succeeded."""
    records = receive(aws)
    result = handler.handler({"Records": records}, FakeContext())
    failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
    for record in records:
        if record["messageId"] not in failed:
            aws["sqs"].delete_message(
                QueueUrl=aws["queue"], ReceiptHandle=record["receiptHandle"]
            )
    return {"records": records, "failed": failed}


def items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    found = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    return sorted(
        ({k: int(v["N"]) if "N" in v else v["S"] for k, v in i.items()} for i in found),
        key=lambda item: (item["event_type"], item["event_id"]),
    )


def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())


def test_body_is_an_sns_envelope_holding_the_ses_event(aws):
    publish(aws, BOUNCE)

    [record] = receive(aws)

    envelope = json.loads(record["body"])
    assert envelope["Type"] == "Notification"
    assert json.loads(envelope["Message"]) == BOUNCE


def test_hard_bounce_is_recorded_with_type_diagnostic_and_expiry(aws):
    ses_suppresses(aws, set_reasons=BOTH_REASONS)
    publish(aws, BOUNCE)

    outcome = poll_once(aws)

    assert outcome["failed"] == set()
    assert items(aws) == [
        {
            "event_type": "Bounce",
            "event_id": f"2026-11-05T00:41:02.669Z#{MESSAGE_ID}#{RECIPIENT}",
            "recipient": RECIPIENT,
            "subtype": "Permanent/General",
            "diagnostic": "5.1.1 smtp; 550 5.1.1 user unknown",
            "message_id": MESSAGE_ID,
            "timestamp": "2026-11-05T00:41:02.669Z",
            "expires_at": epoch("2026-11-05T00:41:02Z") + RETENTION_DAYS * 86400,
            "suppression": "by SES",
        }
    ]


def test_complaint_is_recorded_with_its_feedback_type(aws):
    ses_suppresses(aws, set_reasons=BOTH_REASONS)
    publish(aws, COMPLAINT)

    poll_once(aws)

    [item] = items(aws)
    assert item["event_type"] == "Complaint"
    assert item["recipient"] == RECIPIENT
    assert item["subtype"] == "abuse"
    assert item["diagnostic"] == ""
    assert item["suppression"] == "by SES"


def test_reject_is_recorded_once_per_recipient_with_its_reason(aws):
    publish(aws, REJECT)

    poll_once(aws)

    assert [(i["recipient"], i["subtype"], i["suppression"]) for i in items(aws)] == [
        (RECIPIENT, "Bad content", "no"),
        ("second@example.org", "Bad content", "no"),
    ]
    assert {i["timestamp"] for i in items(aws)} == {"2026-11-05T00:40:02.012Z"}


def test_delivery_delay_is_recorded_with_its_delay_type_and_never_suppressed(aws):
    publish(aws, DELIVERY_DELAY)

    poll_once(aws)

    [item] = items(aws)
    assert item["event_type"] == "DeliveryDelay"
    assert item["subtype"] == "TransientCommunicationFailure"
    assert (
        item["diagnostic"] == "4.4.1 smtp; 421 4.4.1 Unable to connect to remote host"
    )
    assert item["suppression"] == "no"


def test_soft_bounce_is_recorded_but_not_suppressed(aws):
    soft = copy.deepcopy(BOUNCE)
    soft["bounce"]["bounceType"] = "Transient"
    soft["bounce"]["bounceSubType"] = "MailboxFull"
    publish(aws, soft)

    poll_once(aws)

    [item] = items(aws)
    assert (item["subtype"], item["suppression"]) == ("Transient/MailboxFull", "no")


def test_a_redelivered_notification_is_recorded_once(aws):
    ses_suppresses(aws, set_reasons=BOTH_REASONS)
    publish(aws, BOUNCE)
    [record] = receive(aws)

    first = handler.handler({"Records": [record]}, FakeContext())
    second = handler.handler({"Records": [record]}, FakeContext())

    assert first == second == {"batchItemFailures": []}
    assert len(items(aws)) == 1


def test_the_same_event_published_twice_is_recorded_once(aws):
    ses_suppresses(aws, set_reasons=BOTH_REASONS)
    publish(aws, COMPLAINT)
    publish(aws, COMPLAINT)

    poll_once(aws)

    assert len(items(aws)) == 1


def test_hard_bounce_is_added_to_the_suppression_list_when_ses_would_not(aws):
    ses_suppresses(aws, set_reasons=None, account_reasons=[])
    expect_suppressed(aws, RECIPIENT, "BOUNCE")
    publish(aws, BOUNCE)

    poll_once(aws)

    assert items(aws)[0]["suppression"] == "added"


def test_a_set_without_suppression_falls_back_to_the_account_setting(aws):
    ses_suppresses(aws, set_reasons=None, account_reasons=["BOUNCE"])
    expect_suppressed(aws, RECIPIENT, "COMPLAINT")
    publish(aws, BOUNCE)
    publish(aws, COMPLAINT)

    poll_once(aws)

    assert {i["event_type"]: i["suppression"] for i in items(aws)} == {
        "Bounce": "by SES",
        "Complaint": "added",
    }


def test_a_set_that_suppresses_nothing_overrides_the_account(aws):
    ses_suppresses(aws, set_reasons=[])
    expect_suppressed(aws, RECIPIENT, "COMPLAINT")
    publish(aws, COMPLAINT)

    poll_once(aws)

    assert items(aws)[0]["suppression"] == "added"


def test_a_redelivery_after_a_failed_write_suppresses_again_and_records(
    aws, monkeypatch
):
    ses_suppresses(aws, set_reasons=[])
    expect_suppressed(aws, RECIPIENT, "BOUNCE")
    expect_suppressed(aws, RECIPIENT, "BOUNCE")
    publish(aws, BOUNCE)
    [record] = receive(aws)
    monkeypatch.setenv("TABLE_NAME", "no-such-table")

    failed = handler.handler({"Records": [record]}, FakeContext())
    monkeypatch.setenv("TABLE_NAME", TABLE)
    retried = handler.handler({"Records": [record]}, FakeContext())

    assert failed == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert retried == {"batchItemFailures": []}
    assert len(items(aws)) == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        json.dumps({"eventType": "Bounce", "mail": {"messageId": MESSAGE_ID}}),
        json.dumps({"eventType": "Open", "mail": mail(), "open": {}}),
        json.dumps({**BOUNCE, "bounce": {**BOUNCE["bounce"], "timestamp": "yday"}}),
        json.dumps(
            {
                **BOUNCE,
                "bounce": {**BOUNCE["bounce"], "timestamp": "2026-13-45T99:99:99Z"},
            }
        ),
        json.dumps({**REJECT, "mail": {**mail(), "destination": []}}),
    ],
    ids=[
        "not-json",
        "no-bounce-object",
        "unrecorded-type",
        "bad-time",
        "impossible-time",
        "no-recipient",
    ],
)
def test_a_malformed_event_fails_alone_and_the_rest_of_the_batch_is_recorded(aws, body):
    publish(aws, body)
    publish(aws, DELIVERY_DELAY)

    outcome = poll_once(aws)

    [bad] = [r for r in outcome["records"] if body in json.loads(r["body"])["Message"]]
    assert outcome["failed"] == {bad["messageId"]}
    assert [i["event_type"] for i in items(aws)] == ["DeliveryDelay"]


def test_a_malformed_event_ends_in_the_dead_letter_queue_not_lost(aws):
    publish(aws, "not json at all")

    rounds = [poll_once(aws) for _ in range(MAX_RECEIVES + 1)]

    assert [len(r["failed"]) for r in rounds] == [1] * MAX_RECEIVES + [0]
    [dead] = receive(aws, "dead_letters")
    assert json.loads(dead["body"])["Message"] == "not json at all"


def test_the_ses_topic_check_message_is_skipped_without_failing(aws):
    # The text exactly as SES publishes it, final period included.
    publish(aws, "Successfully validated SNS topic for Amazon SES event publishing.")

    outcome = poll_once(aws)

    assert outcome["failed"] == set()
    assert items(aws) == []


def test_a_raw_ses_event_without_the_sns_envelope_is_recorded_too(aws):
    record = {"messageId": "raw-1", "body": json.dumps(DELIVERY_DELAY)}

    result = handler.handler({"Records": [record]}, FakeContext())

    assert result == {"batchItemFailures": []}
    assert len(items(aws)) == 1


def test_logs_are_json_lines_without_addresses_or_diagnostics(aws):
    stream = io.StringIO()
    log_handler = logging.StreamHandler(stream)
    log_handler.setFormatter(handler.JsonLineFormatter())
    handler.LOG.addHandler(log_handler)
    ses_suppresses(aws, set_reasons=[])
    expect_suppressed(aws, RECIPIENT, "BOUNCE")
    try:
        for event in (BOUNCE, REJECT, DELIVERY_DELAY):
            publish(aws, event)
        publish(aws, "not json at all")
        poll_once(aws)
    finally:
        handler.LOG.removeHandler(log_handler)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    assert {line["action"] for line in lines} == {"record", "reject_malformed"}
    assert all(line["request_id"] == FakeContext.aws_request_id for line in lines)
    for private in ("@example", "user unknown", "Your invoice", "Sender Name"):
        assert private not in text
    recorded = [line for line in lines if line["action"] == "record"]
    assert {line["event_type"] for line in recorded} == {
        "Bounce",
        "Reject",
        "DeliveryDelay",
    }
    assert all(line["ses_message_id"] == MESSAGE_ID for line in recorded)


def test_records_expire_retention_days_after_the_event():
    [record] = handler.records_of(DELIVERY_DELAY, retention_days=7)

    expected = datetime(2026, 11, 12, 0, 45, 40, tzinfo=UTC).timestamp()
    assert record["expires_at"] == int(expected)
