"""Records SES bounces, complaints, rejects and delivery delays of one domain.

SES publishes each event to the domain's SNS topic; SNS delivers it to an SQS
queue, and the queue feeds this function in batches. Each SQS body is an SNS
envelope (``Type: Notification``) whose ``Message`` is the SES event JSON.

For every recipient of an event, one item is written to the table named by
``TABLE_NAME``: partition key ``event_type`` (``Bounce``, ``Complaint``,
``Reject``, ``DeliveryDelay``), sort key ``event_id`` =
``<event timestamp>#<SES message id>#<recipient>``. A redelivered notification
carries the same timestamp, message id and recipients, so the conditional put
finds the item and the event counts once. ``expires_at`` (epoch seconds) is
the event time plus ``RETENTION_DAYS``; DynamoDB's TTL removes the item then.

Hard bounces (``bounceType: Permanent``) and complaints are added to the
account-level suppression list only when SES does not already add them for mail
sent through ``CONFIGURATION_SET_NAME``: the set's own suppression reasons when
it has suppression options, otherwise the account's. This project's sets
suppress both reasons, so the put happens only after someone changed the set or
the account by hand.

A body that is not an SES event of those four types is reported as a failed
batch item: SQS redelivers it, then moves it to the dead-letter queue, where an
alarm fires. Nothing is dropped. Logs are JSON lines with identifiers and
counts, never a body, a header, a diagnostic or an address.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["EventRecord", "MalformedEvent", "handler", "records_of"]

EVENT_TYPES = ("Bounce", "Complaint", "Reject", "DeliveryDelay")
SUPPRESSION_CACHE_SECONDS = 300
# What SES publishes once when an SNS destination is added to a configuration
# set (with a final period, which the comparison ignores).
SES_TOPIC_CHECK = "Successfully validated SNS topic for Amazon SES event publishing"

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_LOG_FIELDS = (
    "action",
    "request_id",
    "sqs_message_id",
    "ses_message_id",
    "event_type",
    "recipients",
    "recorded",
    "duplicates",
    "suppressed",
    "reason",
    "error_code",
)


class MalformedEvent(ValueError):
    """A queue message that is not an SES event this function records."""


class EventRecord(dict[str, Any]):
    """One table item: one recipient of one event."""


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: level, message and the identifier fields set."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _LOG_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        return json.dumps(line)


def _logger() -> logging.Logger:
    logger = logging.getLogger("delivery_events")
    if not any(isinstance(h.formatter, JsonLineFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLineFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # The Lambda runtime puts a plain-text handler on the root logger.
        logger.propagate = False
    return logger


LOG = _logger()

_clients: dict[str, Any] = {}
_suppressed_reasons: dict[str, Any] = {"reasons": None, "until": 0.0}


def _client(service: str) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process an SQS batch; return the messages that failed, for redelivery."""
    request_id = getattr(context, "aws_request_id", None)
    failures = []
    for message in event.get("Records", []):
        message_id = message.get("messageId")
        try:
            _process(message, request_id=request_id)
        except MalformedEvent as problem:
            LOG.error(
                "malformed event left for the dead-letter queue",
                extra={
                    "action": "reject_malformed",
                    "request_id": request_id,
                    "sqs_message_id": message_id,
                    "reason": str(problem),
                },
            )
            failures.append({"itemIdentifier": message_id})
        except ClientError as error:
            LOG.error(
                "AWS call failed; the message will be retried",
                extra={
                    "action": "retry",
                    "request_id": request_id,
                    "sqs_message_id": message_id,
                    "error_code": error.response.get("Error", {}).get("Code"),
                },
            )
            failures.append({"itemIdentifier": message_id})
        except BotoCoreError as error:
            # Network and client-side failures: retry this message alone.
            LOG.error(
                "AWS call failed; the message will be retried",
                extra={
                    "action": "retry",
                    "request_id": request_id,
                    "sqs_message_id": message_id,
                    "error_code": type(error).__name__,
                },
            )
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _process(message: dict[str, Any], *, request_id: str | None) -> None:
    ses_event = _ses_event(message.get("body"))
    if ses_event is None:
        LOG.info(
            "SES topic check skipped",
            extra={
                "action": "skip_topic_check",
                "request_id": request_id,
                "sqs_message_id": message.get("messageId"),
            },
        )
        return

    retention_days = int(os.environ["RETENTION_DAYS"])
    records = records_of(ses_event, retention_days=retention_days)
    table = os.environ["TABLE_NAME"]
    recorded = duplicates = suppressed = 0
    for record in records:
        # Suppression first: a put is idempotent, so a redelivery after a
        # failure half-way repeats it harmlessly before the record exists.
        if record.get("suppression") == "added":
            _suppress(record)
            suppressed += 1
        if _put_once(table, record):
            recorded += 1
        else:
            duplicates += 1

    LOG.info(
        "event recorded",
        extra={
            "action": "record",
            "request_id": request_id,
            "sqs_message_id": message.get("messageId"),
            "ses_message_id": records[0]["message_id"],
            "event_type": records[0]["event_type"],
            "recipients": len(records),
            "recorded": recorded,
            "duplicates": duplicates,
            "suppressed": suppressed,
        },
    )


def _ses_event(body: Any) -> dict[str, Any] | None:
    """The SES event in an SQS body (SNS envelope or raw); None for SES's check."""
    if not isinstance(body, str):
        raise MalformedEvent("the message has no body")
    try:
        outer = json.loads(body)
    except json.JSONDecodeError:
        raise MalformedEvent("the body is not JSON") from None
    if not isinstance(outer, dict):
        raise MalformedEvent("the body is not a JSON object")
    if outer.get("Type") == "Notification":
        inner = outer.get("Message")
        if not isinstance(inner, str):
            raise MalformedEvent("the SNS notification has no Message")
        if inner.strip().rstrip(".") == SES_TOPIC_CHECK:
            return None
        try:
            outer = json.loads(inner)
        except json.JSONDecodeError:
            raise MalformedEvent("the SNS Message is not JSON") from None
        if not isinstance(outer, dict):
            raise MalformedEvent("the SNS Message is not a JSON object")
    return outer


def records_of(event: dict[str, Any], *, retention_days: int) -> list[EventRecord]:
    """One item per recipient of an SES event; raise MalformedEvent otherwise.

    For hard bounces and complaints, SES is asked (once per 5 minutes) whether
    it already suppresses the address, which sets the items' ``suppression``.
    """
    event_type = event.get("eventType") or event.get("notificationType")
    if event_type not in EVENT_TYPES:
        raise MalformedEvent(f"event type {str(event_type)[:40]!r} is not recorded")
    mail = _object(event, "mail")
    message_id = _text(mail, "messageId")

    if event_type == "Bounce":
        bounce = _object(event, "bounce")
        bounce_type = _text(bounce, "bounceType")
        subtype = f"{bounce_type}/{bounce.get('bounceSubType') or 'General'}"
        timestamp = _timestamp(bounce)
        entries = [
            (_address(r), _diagnostic(r))
            for r in _recipients(bounce, "bouncedRecipients")
        ]
        suppress_reason = "BOUNCE" if bounce_type == "Permanent" else None
    elif event_type == "Complaint":
        complaint = _object(event, "complaint")
        subtype = str(
            complaint.get("complaintFeedbackType")
            or complaint.get("complaintSubType")
            or "unspecified"
        )
        timestamp = _timestamp(complaint)
        entries = [
            (_address(r), "") for r in _recipients(complaint, "complainedRecipients")
        ]
        suppress_reason = "COMPLAINT"
    elif event_type == "Reject":
        reject = _object(event, "reject")
        subtype = str(reject.get("reason") or "unspecified")
        timestamp = _timestamp(mail)
        destinations = mail.get("destination")
        if not isinstance(destinations, list) or not destinations:
            raise MalformedEvent("mail.destination is missing or empty")
        entries = [(_plain_address(d), subtype) for d in destinations]
        suppress_reason = None
    else:
        delay = _object(event, "deliveryDelay")
        subtype = _text(delay, "delayType")
        timestamp = _timestamp(delay)
        entries = [
            (_address(r), _diagnostic(r))
            for r in _recipients(delay, "delayedRecipients")
        ]
        suppress_reason = None

    expires_at = int(_epoch(timestamp)) + retention_days * 86400
    suppression = _suppression(suppress_reason)
    return [
        EventRecord(
            event_type=event_type,
            event_id=f"{timestamp}#{message_id}#{recipient}",
            recipient=recipient,
            subtype=subtype,
            diagnostic=diagnostic,
            message_id=message_id,
            timestamp=timestamp,
            expires_at=expires_at,
            suppression=suppression,
        )
        for recipient, diagnostic in entries
    ]


def _suppression(reason: str | None) -> str:
    """``added``, ``by SES`` or ``no``: what happens to the recipient's address."""
    if reason is None:
        return "no"
    if reason in _reasons_ses_suppresses():
        return "by SES"
    return "added"


def _reasons_ses_suppresses() -> list[str]:
    """Reasons SES suppresses for mail of this set: the set's, else the account's."""
    now = time.monotonic()
    if (
        _suppressed_reasons["reasons"] is not None
        and now < _suppressed_reasons["until"]
    ):
        return _suppressed_reasons["reasons"]
    sesv2 = _client("sesv2")
    configuration_set = sesv2.get_configuration_set(
        ConfigurationSetName=os.environ["CONFIGURATION_SET_NAME"]
    )
    options = configuration_set.get("SuppressionOptions")
    if options is not None:
        reasons = list(options.get("SuppressedReasons", []))
    else:
        account = sesv2.get_account()
        attributes = account.get("SuppressionAttributes", {})
        reasons = list(attributes.get("SuppressedReasons", []))
    _suppressed_reasons.update(reasons=reasons, until=now + SUPPRESSION_CACHE_SECONDS)
    return reasons


def _suppress(record: EventRecord) -> None:
    reason = "BOUNCE" if record["event_type"] == "Bounce" else "COMPLAINT"
    _client("sesv2").put_suppressed_destination(
        EmailAddress=record["recipient"], Reason=reason
    )


def _put_once(table: str, record: EventRecord) -> bool:
    """Write ``record`` unless an item with its key exists; True if written."""
    item = {
        key: {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
        for key, value in record.items()
    }
    try:
        _client("dynamodb").put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(event_id)",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == (
            "ConditionalCheckFailedException"
        ):
            return False
        raise
    return True


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise MalformedEvent(f"{key} is missing or not an object")
    return value


def _text(parent: dict[str, Any], key: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{key} is missing or not text")
    return value.strip()


def _timestamp(parent: dict[str, Any]) -> str:
    value = _text(parent, "timestamp")
    if not _TIMESTAMP.match(value):
        raise MalformedEvent("timestamp is not an ISO 8601 UTC time")
    try:
        _epoch(value)
    except ValueError:
        # The pattern lets through month 13 or hour 99; strptime does not,
        # and its ValueError would fail the whole batch instead of one message.
        raise MalformedEvent("timestamp is not a real date and time") from None
    return value


def _epoch(timestamp: str) -> float:
    return (
        datetime.strptime(timestamp[:19], "%Y-%m-%dT%H:%M:%S")
        .replace(tzinfo=UTC)
        .timestamp()
    )


def _recipients(parent: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = parent.get(key)
    if not isinstance(value, list) or not value:
        raise MalformedEvent(f"{key} is missing or empty")
    if not all(isinstance(entry, dict) for entry in value):
        raise MalformedEvent(f"{key} holds something other than objects")
    return value


def _address(recipient: dict[str, Any]) -> str:
    return _plain_address(recipient.get("emailAddress"))


def _plain_address(value: Any) -> str:
    """The bare address, lower case: ``Name <a@b>`` and ``a@b`` give ``a@b``."""
    if not isinstance(value, str) or "@" not in value:
        raise MalformedEvent("a recipient is not an email address")
    text = value.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1]
    return text.strip().lower()


def _diagnostic(recipient: dict[str, Any]) -> str:
    parts = [recipient.get("status"), recipient.get("diagnosticCode")]
    return " ".join(str(part) for part in parts if part)
