"""Custom resource: make the environment's receipt rule set the active one.

SES runs the rules of one receipt rule set per account and region, the active
one, and CloudFormation has no property that activates a set. Called by the CDK
provider framework; returning succeeds, raising fails. The physical resource id
is the rule set's name. ``Rules`` (the rule names) is not read: it is there so
that a deploy that changes the rules is an Update that checks the activation
again, and restores it if someone deactivated the set by hand.

- Create and Update: when no set is active, activate ours; when ours is active
  already, do nothing. When another set is active, fail with a message naming
  it, and change nothing: activating ours would silently stop the other set's
  domains receiving mail. The one exception is an Update that renames our own
  set: the old name is ours, so the new one replaces it.
- Delete: deactivate receiving (SetActiveReceiptRuleSet without a name) only
  when our set is still the active one; never switch off another set. SES
  refuses to delete an active set, so this runs before the set is deleted.

Logs are JSON lines carrying the action and rule set names, never an event, a
property bag or the response URL.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError

__all__ = ["JsonLineFormatter", "RuleSetConflict", "on_event"]

_LOG_FIELDS = (
    "action",
    "request_id",
    "logical_id",
    "rule_set",
    "active_rule_set",
    "region",
    "error_code",
)


class RuleSetConflict(RuntimeError):
    """Another receipt rule set is active in the account and region."""


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
    logger = logging.getLogger("receipt_rule_set")
    if not any(isinstance(h.formatter, JsonLineFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLineFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # The Lambda runtime puts a plain-text handler on the root logger.
        logger.propagate = False
    return logger


LOGGER = _logger()


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point of the provider framework's onEvent handler."""
    action = str(event.get("RequestType", ""))
    rule_set = str(event.get("ResourceProperties", {}).get("RuleSetName", ""))
    old = str(event.get("OldResourceProperties", {}).get("RuleSetName", ""))
    ses = boto3.client("ses")
    fields = {
        "action": action,
        "request_id": getattr(context, "aws_request_id", None),
        "logical_id": event.get("LogicalResourceId"),
        "rule_set": rule_set,
        "region": ses.meta.region_name or os.environ.get("AWS_REGION"),
    }

    def log(level: int, message: str, **extra: str | None) -> None:
        LOGGER.log(level, message, extra={**fields, **extra})

    log(logging.INFO, "request received")
    try:
        if not rule_set:
            raise ValueError("the RuleSetName property is missing")
        if action in ("Create", "Update"):
            _activate(ses, rule_set, old if action == "Update" else "", log)
        elif action == "Delete":
            _deactivate(ses, rule_set, log)
        else:
            raise ValueError(f"unknown RequestType {action!r}")
    except Exception as error:
        log(logging.ERROR, "request failed", error_code=_code(error))
        raise
    log(logging.INFO, "request done")
    return {"PhysicalResourceId": rule_set, "Data": {"RuleSetName": rule_set}}


def _active(ses: Any) -> str | None:
    metadata = ses.describe_active_receipt_rule_set().get("Metadata") or {}
    return metadata.get("Name")


def _activate(ses: Any, rule_set: str, old: str, log: Any) -> None:
    active = _active(ses)
    if active == rule_set:
        log(logging.INFO, "rule set already active", active_rule_set=active)
        return
    if active is not None and active != old:
        region = ses.meta.region_name
        raise RuleSetConflict(
            f"receipt rule set {active!r} is active in {region}, so {rule_set!r} "
            "was not activated: SES runs one rule set per account and region, "
            f"and activating this one would stop {active!r} receiving mail. Move "
            f"its rules into this environment, or deactivate it (aws ses "
            f"set-active-receipt-rule-set --region {region}), then deploy again."
        )
    # Fails with RuleSetDoesNotExist if the set is gone: a clear error as is.
    ses.set_active_receipt_rule_set(RuleSetName=rule_set)
    log(logging.INFO, "rule set activated", active_rule_set=active)


def _deactivate(ses: Any, rule_set: str, log: Any) -> None:
    active = _active(ses)
    if active != rule_set:
        log(
            logging.INFO,
            "rule set is not the active one; receiving left as it is",
            active_rule_set=active,
        )
        return
    ses.set_active_receipt_rule_set()
    log(logging.INFO, "rule set deactivated; no rule set is active now")


def _code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__
