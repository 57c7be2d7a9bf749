"""The rule set activation handler through its lifecycle, on moto's SES.

Events are shaped as the CDK provider framework passes them to ``on_event``.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import REPO

HANDLER_DIR = REPO / "lambda" / "receipt_rule_set"
REGION = "eu-central-1"
OURS = "mail-production-inbound"
OTHER = "legacy-rules"
RESPONSE_URL = "https://cloudformation-custom-resource-response-eucentral1.s3.amazonaws.com/x?X-Amz-Signature=c0ffee"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "receipt_rule_set_index", HANDLER_DIR / "index.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["receipt_rule_set_index"] = module
    spec.loader.exec_module(module)
    return module


handler = _load()


class FakeContext:
    aws_request_id = "5e1d-request"


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An account whose region holds our rule set and another one, none active."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("ses", region_name=REGION)
        client.create_receipt_rule_set(RuleSetName=OURS)
        client.create_receipt_rule_set(RuleSetName=OTHER)
        yield client


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(handler.JsonLineFormatter())
    handler.LOGGER.addHandler(capture)
    yield stream
    handler.LOGGER.removeHandler(capture)


def event(action: str, name: str = OURS, old: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "RequestType": action,
        "LogicalResourceId": "ActiveRuleSet",
        "ResponseURL": RESPONSE_URL,
        "ResourceProperties": {
            "ServiceToken": "arn:token",
            "RuleSetName": name,
            "Rules": ["example.eu"],
        },
    }
    if action != "Create":
        request["PhysicalResourceId"] = name
    if old is not None:
        request["OldResourceProperties"] = {
            "ServiceToken": "arn:token",
            "RuleSetName": old,
        }
    return request


def active(ses: Any) -> str | None:
    return (ses.describe_active_receipt_rule_set().get("Metadata") or {}).get("Name")


def test_create_activates_our_rule_set_when_none_is_active(ses: Any) -> None:
    result = handler.on_event(event("Create"), FakeContext())

    assert active(ses) == OURS
    assert result == {"PhysicalResourceId": OURS, "Data": {"RuleSetName": OURS}}


def test_create_when_ours_is_already_active_changes_nothing(ses: Any, logs) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OURS)

    result = handler.on_event(event("Create"), FakeContext())

    assert active(ses) == OURS
    assert result["PhysicalResourceId"] == OURS
    messages = [json.loads(line)["message"] for line in logs.getvalue().splitlines()]
    assert "rule set already active" in messages
    assert "rule set activated" not in messages


def test_create_fails_and_leaves_another_active_rule_set_alone(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OTHER)

    with pytest.raises(handler.RuleSetConflict) as raised:
        handler.on_event(event("Create"), FakeContext())

    assert active(ses) == OTHER
    message = str(raised.value)
    assert f"'{OTHER}' is active in {REGION}" in message
    assert f"'{OURS}' was not activated" in message
    assert f"aws ses set-active-receipt-rule-set --region {REGION}" in message


def test_update_after_someone_activated_another_set_fails_the_same_way(
    ses: Any,
) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OTHER)

    with pytest.raises(handler.RuleSetConflict):
        handler.on_event(event("Update", old=OURS), FakeContext())

    assert active(ses) == OTHER


def test_update_after_a_manual_deactivation_activates_our_set_again(
    ses: Any,
) -> None:
    handler.on_event(event("Update", old=OURS), FakeContext())

    assert active(ses) == OURS


def test_update_renaming_our_active_set_activates_the_new_name(ses: Any) -> None:
    ses.create_receipt_rule_set(RuleSetName="mail-prod-inbound")
    ses.set_active_receipt_rule_set(RuleSetName=OURS)

    result = handler.on_event(
        event("Update", name="mail-prod-inbound", old=OURS), FakeContext()
    )

    assert active(ses) == "mail-prod-inbound"
    assert result["PhysicalResourceId"] == "mail-prod-inbound"


def test_delete_while_ours_is_active_turns_receiving_off(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OURS)

    result = handler.on_event(event("Delete"), FakeContext())

    assert active(ses) is None
    assert result["PhysicalResourceId"] == OURS
    # Deactivated, our set can now be deleted by CloudFormation.
    ses.delete_receipt_rule_set(RuleSetName=OURS)


def test_delete_while_another_is_active_leaves_it_active(ses: Any, logs) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OTHER)

    handler.on_event(event("Delete"), FakeContext())

    assert active(ses) == OTHER
    [line] = [
        json.loads(line)
        for line in logs.getvalue().splitlines()
        if "not the active one" in line
    ]
    assert line["active_rule_set"] == OTHER


def test_delete_when_nothing_is_active_succeeds_and_activates_nothing(
    ses: Any,
) -> None:
    handler.on_event(event("Delete"), FakeContext())

    assert active(ses) is None


def test_delete_after_a_failed_create_leaves_the_other_set_active(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OTHER)
    with pytest.raises(handler.RuleSetConflict):
        handler.on_event(event("Create"), FakeContext())

    handler.on_event(event("Delete"), FakeContext())

    assert active(ses) == OTHER


def test_logs_carry_names_and_action_but_not_the_event(ses: Any, logs) -> None:
    handler.on_event(event("Create"), FakeContext())

    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [
        "request received",
        "rule set activated",
        "request done",
    ]
    assert {line["rule_set"] for line in lines} == {OURS}
    assert {line["action"] for line in lines} == {"Create"}
    assert {line["request_id"] for line in lines} == {"5e1d-request"}
    assert "Signature" not in logs.getvalue()
    assert "ServiceToken" not in logs.getvalue()


def test_a_request_without_a_rule_set_name_fails(ses: Any) -> None:
    request = event("Create")
    del request["ResourceProperties"]["RuleSetName"]

    with pytest.raises(ValueError, match="RuleSetName property is missing"):
        handler.on_event(request, FakeContext())

    assert active(ses) is None
