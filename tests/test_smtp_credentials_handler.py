"""The SMTP credentials handler through every CloudFormation lifecycle, on moto.

Events are shaped as the CDK provider framework passes them to ``on_event``:
``RequestType``, ``ResourceProperties`` (strings, as CloudFormation sends them),
``OldResourceProperties`` on Update and ``PhysicalResourceId`` after Create.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam import models as iam_models
from moto.iam.models import iam_backends

from tests.conftest import REPO

HANDLER_DIR = REPO / "lambda" / "smtp_credentials"
USER = "mail-test-smtp-relay"
REGION = "eu-central-1"
STACK_REGION = "eu-west-1"
RESPONSE_URL = "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/arn%3Aaws%3Acloudformation?X-Amz-Signature=c0ffee"
# Built at run time so that no scanner flags this file.
KNOWN_SECRET_KEY = "kNoWn/SeCrEt+" + "x" * 27


def _load(name: str, filename: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, HANDLER_DIR / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The handler imports its sibling as Lambda does: from the code directory.
smtp_password_module = _load("smtp_password", "smtp_password.py")
handler = _load("smtp_credentials_index", "index.py")
smtp_password = smtp_password_module.smtp_password


class FakeContext:
    aws_request_id = "6f1e0d1c-request"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An account with the SMTP user and its secret holding the placeholder."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", STACK_REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        iam = boto3.client("iam")
        secrets = boto3.client("secretsmanager")
        iam.create_user(UserName=USER)
        secret = secrets.create_secret(
            Name="mail/test/smtp/relay", SecretString='{"status": "pending"}'
        )
        yield {"iam": iam, "secrets": secrets, "secret_arn": secret["ARN"]}


def props(aws: dict[str, Any], **changes: str) -> dict[str, str]:
    properties = {
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:framework",
        "UserName": USER,
        "SecretArn": aws["secret_arn"],
        "SesRegion": REGION,
        "Rotation": "0",
    }
    return {**properties, **changes}


def event(request_type: str, properties: dict[str, str], **extra: Any) -> dict:
    return {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1",
        "RequestId": "c4f7b1e2-request",
        "LogicalResourceId": "RelayCredentials1A2B3C4D",
        "ResourceType": "Custom::SmtpCredentials",
        "ResourceProperties": properties,
        **extra,
    }


def create(aws: dict[str, Any], **changes: str) -> str:
    return handler.on_event(event("Create", props(aws, **changes)), FakeContext())[
        "PhysicalResourceId"
    ]


def update(
    aws: dict[str, Any], physical_id: str, old: dict[str, str], new: dict[str, str]
) -> str:
    request = event(
        "Update", new, OldResourceProperties=old, PhysicalResourceId=physical_id
    )
    return handler.on_event(request, FakeContext())["PhysicalResourceId"]


def delete(
    aws: dict[str, Any], physical_id: str, properties: dict[str, str]
) -> dict[str, Any]:
    request = event("Delete", properties, PhysicalResourceId=physical_id)
    return handler.on_event(request, FakeContext())


def keys(aws: dict[str, Any], user: str = USER) -> list[str]:
    listed = aws["iam"].list_access_keys(UserName=user)["AccessKeyMetadata"]
    return sorted(key["AccessKeyId"] for key in listed)


def secret(aws: dict[str, Any]) -> dict[str, Any]:
    # The stage is named because moto reads the version it last wrote, not the
    # one UpdateSecretVersionStage made current; AWS returns AWSCURRENT either way.
    value = aws["secrets"].get_secret_value(
        SecretId=aws["secret_arn"], VersionStage="AWSCURRENT"
    )
    return json.loads(value["SecretString"])


def secret_key_of(key_id: str, user: str = USER) -> str:
    backend = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    [key] = [k for k in backend.get_user(user).access_keys if k.access_key_id == key_id]
    return key.secret_access_key


def assert_secret_works(aws: dict[str, Any], region: str = REGION) -> str:
    """The secret names a live key of the user and holds that key's password."""
    value = secret(aws)
    key_id = value["username"]

    assert key_id in keys(aws)
    assert value == {
        "username": key_id,
        "password": smtp_password(secret_key_of(key_id), region),
        "host": f"email-smtp.{region}.amazonaws.com",
        "port": 587,
        "region": region,
    }
    return key_id


def test_create_makes_one_key_and_writes_smtp_credentials(aws) -> None:
    result = handler.on_event(event("Create", props(aws)), FakeContext())

    key_id = assert_secret_works(aws)
    assert keys(aws) == [key_id]
    assert result == {"PhysicalResourceId": key_id, "Data": {"AccessKeyId": key_id}}
    assert secret_key_of(key_id) not in json.dumps(secret(aws))


def test_update_without_rotation_keeps_key_and_secret(aws) -> None:
    key_id = create(aws)
    version = aws["secrets"].describe_secret(SecretId=aws["secret_arn"])
    before = secret(aws)

    new_id = update(aws, key_id, props(aws), props(aws, ServiceToken="arn:new"))

    after = aws["secrets"].describe_secret(SecretId=aws["secret_arn"])
    assert new_id == key_id
    assert keys(aws) == [key_id]
    assert secret(aws) == before
    assert after["VersionIdsToStages"] == version["VersionIdsToStages"]


def test_rotation_makes_new_key_first_and_cleanup_deletes_the_old(aws) -> None:
    old_id = create(aws)

    new_id = update(aws, old_id, props(aws), props(aws, Rotation="1"))

    # Between the update and CloudFormation's cleanup both keys exist, and the
    # secret already holds the new one.
    assert new_id != old_id
    assert keys(aws) == sorted([old_id, new_id])
    assert assert_secret_works(aws) == new_id

    delete(aws, old_id, props(aws))

    assert keys(aws) == [new_id]
    assert assert_secret_works(aws) == new_id


def test_changing_the_ses_region_makes_a_key_for_the_new_region(aws) -> None:
    old_id = create(aws)

    new_id = update(aws, old_id, props(aws), props(aws, SesRegion="us-east-1"))
    delete(aws, old_id, props(aws))

    assert new_id != old_id
    assert keys(aws) == [new_id]
    assert assert_secret_works(aws, region="us-east-1") == new_id


def test_update_replaces_a_key_deleted_outside_the_stack(aws) -> None:
    old_id = create(aws)
    aws["iam"].delete_access_key(UserName=USER, AccessKeyId=old_id)

    new_id = update(aws, old_id, props(aws), props(aws))

    assert new_id != old_id
    assert assert_secret_works(aws) == new_id


def test_delete_removes_the_key_and_succeeds_when_already_gone(aws) -> None:
    key_id = create(aws)

    delete(aws, key_id, props(aws))
    delete(aws, key_id, props(aws))

    assert keys(aws) == []


def test_delete_succeeds_when_user_and_secret_are_gone(aws) -> None:
    key_id = create(aws)
    aws["iam"].delete_access_key(UserName=USER, AccessKeyId=key_id)
    aws["iam"].delete_user(UserName=USER)
    aws["secrets"].delete_secret(
        SecretId=aws["secret_arn"], ForceDeleteWithoutRecovery=True
    )

    response = delete(aws, key_id, props(aws))

    assert response["PhysicalResourceId"] == key_id


def test_delete_of_the_live_credentials_removes_every_key_of_the_user(aws) -> None:
    key_id = create(aws)
    aws["iam"].create_access_key(UserName=USER)

    delete(aws, key_id, props(aws))

    assert keys(aws) == []


def test_delete_without_an_access_key_id_does_nothing(aws) -> None:
    key_id = create(aws)

    delete(aws, "RelayCredentials-create-failed", props(aws))

    assert keys(aws) == [key_id]


def test_create_that_fails_writing_the_secret_deletes_its_key(aws) -> None:
    missing = aws["secret_arn"].replace("relay", "gone")

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        create(aws, SecretArn=missing)

    assert keys(aws) == []


def test_create_that_fails_after_making_the_key_deletes_it(aws, monkeypatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("derivation failed")

    monkeypatch.setattr(handler, "smtp_password", refuse)

    with pytest.raises(RuntimeError, match="derivation failed"):
        create(aws)

    assert keys(aws) == []
    assert secret(aws) == {"status": "pending"}


def test_rotation_that_fails_writing_the_secret_keeps_the_old_key(aws) -> None:
    old_id = create(aws)
    before = secret(aws)
    aws["secrets"].delete_secret(
        SecretId=aws["secret_arn"], ForceDeleteWithoutRecovery=True
    )

    with pytest.raises(ClientError):
        update(aws, old_id, props(aws), props(aws, Rotation="1"))

    assert keys(aws) == [old_id]
    assert before["username"] == old_id


def test_rollback_of_a_rotation_leaves_a_working_secret(aws) -> None:
    first = create(aws)
    rotated = update(aws, first, props(aws), props(aws, Rotation="1"))

    # Another resource fails: CloudFormation sends the update back, with old and
    # new properties swapped, to the physical id the rotation returned ...
    rolled_back = update(aws, rotated, props(aws, Rotation="1"), props(aws))

    assert assert_secret_works(aws) == rolled_back
    assert len(keys(aws)) <= 2

    # ... and in the rollback cleanup deletes the id it replaced.
    delete(aws, rotated, props(aws, Rotation="1"))

    assert keys(aws) == [rolled_back]
    assert assert_secret_works(aws) == rolled_back


def test_rollback_that_deletes_the_rotated_resource_puts_the_old_key_back(
    aws,
) -> None:
    first = create(aws)
    first_secret = secret(aws)
    rotated = update(aws, first, props(aws), props(aws, Rotation="1"))

    # CloudFormation keeps the resource the rotation replaced and deletes the
    # one it returned.
    delete(aws, rotated, props(aws, Rotation="1"))

    assert keys(aws) == [first]
    assert assert_secret_works(aws) == first
    assert secret(aws) == first_secret


def test_stack_removal_after_a_rotation_deletes_every_key(aws) -> None:
    first = create(aws)
    rotated = update(aws, first, props(aws), props(aws, Rotation="1"))
    delete(aws, first, props(aws))

    delete(aws, rotated, props(aws, Rotation="1"))

    assert keys(aws) == []


def test_retried_create_after_success_returns_the_same_key(aws) -> None:
    first = create(aws)

    second = create(aws)

    assert second == first
    assert keys(aws) == [first]
    assert assert_secret_works(aws) == first


def test_retried_create_after_a_lost_secret_write_leaves_one_key(aws) -> None:
    orphan = aws["iam"].create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]

    key_id = create(aws)

    assert key_id != orphan
    assert keys(aws) == [key_id]
    assert assert_secret_works(aws) == key_id


def test_at_the_two_key_limit_rotation_deletes_the_key_the_secret_does_not_name(
    aws,
) -> None:
    live = create(aws)
    stale = aws["iam"].create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]

    new_id = update(aws, live, props(aws), props(aws, Rotation="1"))

    assert keys(aws) == sorted([live, new_id])
    assert stale not in keys(aws)
    assert assert_secret_works(aws) == new_id


def test_at_the_two_key_limit_a_region_change_keeps_the_key_the_secret_names(
    aws,
) -> None:
    live = create(aws)
    stale = aws["iam"].create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]

    new_id = update(aws, live, props(aws), props(aws, SesRegion="us-east-1"))

    assert keys(aws) == sorted([live, new_id])
    assert stale not in keys(aws)
    assert assert_secret_works(aws, region="us-east-1") == new_id


def test_at_the_two_key_limit_create_deletes_both_orphans(aws) -> None:
    for _ in range(2):
        aws["iam"].create_access_key(UserName=USER)

    key_id = create(aws)

    assert keys(aws) == [key_id]


def test_secret_in_a_placeholder_state_is_not_taken_for_credentials(aws) -> None:
    key_id = create(aws)
    aws["secrets"].put_secret_value(
        SecretId=aws["secret_arn"], SecretString=json.dumps({"username": key_id})
    )

    new_id = update(aws, key_id, props(aws), props(aws))

    assert new_id != key_id
    assert assert_secret_works(aws) == new_id


def test_unknown_request_type_fails(aws) -> None:
    with pytest.raises(ValueError, match="unknown RequestType 'Import'"):
        handler.on_event(event("Import", props(aws)), FakeContext())


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[str]]]:
    """What the handler's logger writes, formatted as in Lambda."""
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(handler.JsonLineFormatter())
    handler.LOGGER.addHandler(capture)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        handler.LOGGER.removeHandler(capture)


def test_no_key_password_or_response_url_in_logs_or_data(
    aws, monkeypatch, caplog, capsys, log_lines
) -> None:
    monkeypatch.setattr(iam_models, "random_alphanumeric", lambda _: KNOWN_SECRET_KEY)
    handler.LOGGER.addHandler(caplog.handler)
    responses = []
    try:
        with caplog.at_level(logging.DEBUG, logger=handler.LOGGER.name):
            responses.append(handler.on_event(event("Create", props(aws))))
            first = responses[-1]["PhysicalResourceId"]
            derived = secret(aws)["password"]
            request = event(
                "Update",
                props(aws),
                OldResourceProperties=props(aws),
                PhysicalResourceId=first,
            )
            responses.append(handler.on_event(request))
            request = event(
                "Update",
                props(aws, Rotation="1"),
                OldResourceProperties=props(aws),
                PhysicalResourceId=first,
            )
            responses.append(handler.on_event(request))
            second = responses[-1]["PhysicalResourceId"]
            request = event(
                "Update",
                props(aws),
                OldResourceProperties=props(aws, Rotation="1"),
                PhysicalResourceId=second,
            )
            responses.append(handler.on_event(request))
            for key_id in (first, second, responses[-1]["PhysicalResourceId"]):
                request = event("Delete", props(aws), PhysicalResourceId=key_id)
                responses.append(handler.on_event(request))
            monkeypatch.setattr(handler, "smtp_password", _failing_derivation)
            with pytest.raises(RuntimeError):
                handler.on_event(event("Create", props(aws)))
    finally:
        handler.LOGGER.removeHandler(caplog.handler)

    password = smtp_password(KNOWN_SECRET_KEY, REGION)
    printed = capsys.readouterr()
    captured = "\n".join(
        [caplog.text, *log_lines(), printed.out, printed.err, json.dumps(responses)]
    )
    assert derived == password
    for leak in (KNOWN_SECRET_KEY, password, RESPONSE_URL, "X-Amz-Signature"):
        assert leak not in captured
    assert len(log_lines()) >= 20
    assert all(set(json.loads(line)) >= {"action", "user"} for line in log_lines())
    assert all(set(r["Data"]) == {"AccessKeyId"} for r in responses)


def _failing_derivation(*args: Any, **kwargs: Any) -> str:
    raise RuntimeError("derivation failed")
