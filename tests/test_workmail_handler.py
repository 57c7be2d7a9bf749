"""The WorkMail custom resource handler, against botocore's Stubber.

moto has no WorkMail. The Stubber checks every request against the service
model and answers in the order the test lists; a call the test did not list,
or listed with other parameters, fails the test. So each test reads as the
exact conversation the handler has with WorkMail.
"""

from __future__ import annotations

import hashlib
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
from botocore.stub import ANY, Stubber

from tests.conftest import REPO

REGION = "eu-west-1"
ORG = "m-0123456789abcdef0123456789abcdef"
OTHER_ORG = "m-fedcba9876543210fedcba9876543210"
USER_ID = "1b7e2f3a-0000-4000-8000-00000000a11c"
GROUP_ID = "2c8f3a4b-0000-4000-8000-0000000000b0"
SECRET_ARN = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail/prod/workmail/jane-AbC"
)
STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/mail-prod-workmail/1"
RESPONSE_URL = "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x?X-Amz-Signature=c0ffee"
# Built at run time so that no scanner flags this file.
KNOWN_PASSWORD = "kNoWn-" + "Pa55" * 5 + "!wm"


def _load() -> ModuleType:
    path = REPO / "lambda" / "workmail" / "index.py"
    spec = importlib.util.spec_from_file_location("workmail_index", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["workmail_index"] = module
    spec.loader.exec_module(module)
    return module


handler = _load()


class FakeContext:
    aws_request_id = "9a8b7c6d-request"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Stubber]]:
    """Stubbed WorkMail, Secrets Manager and CloudFormation clients."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    clients = {
        name: boto3.client(name, region_name=REGION)
        for name in ("workmail", "secretsmanager", "cloudformation")
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    monkeypatch.setattr(handler.boto3, "client", lambda name, **_: clients[name])
    for stub in stubs.values():
        stub.activate()
    yield stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


@pytest.fixture
def log_messages() -> Iterator[Callable[[], list[str]]]:
    """The messages of the JSON lines the handler logged so far."""
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(handler.JsonLineFormatter())
    handler.LOGGER.addHandler(capture)

    def messages() -> list[str]:
        return [json.loads(line)["message"] for line in stream.getvalue().splitlines()]

    yield messages
    handler.LOGGER.removeHandler(capture)


def event(
    request_type: str, resource_type: str, props: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": STACK_ID,
        "RequestId": "req-1",
        "LogicalResourceId": "Organization",
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:x", **props},
        **extra,
    }


def error(stub: Stubber, method: str, code: str, params: dict[str, Any]) -> None:
    stub.add_client_error(
        method, service_error_code=code, http_status_code=400, expected_params=params
    )


def org_props(**changes: str) -> dict[str, str]:
    return {"Alias": "example-team", "DeleteOnRemove": "false", **changes}


def client_token(alias: str = "example-team") -> str:
    return hashlib.sha256(f"{STACK_ID}|Organization|{alias}".encode()).hexdigest()


# Organisation ---------------------------------------------------------------


def test_create_starts_an_organisation_and_a_retry_reuses_its_client_token(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    for _ in range(2):
        workmail.add_response(
            "create_organization",
            {"OrganizationId": ORG},
            {"Alias": "example-team", "ClientToken": client_token()},
        )

    first = handler.on_event(
        event("Create", "Custom::WorkMailOrganization", org_props())
    )
    retry = handler.on_event(
        event("Create", "Custom::WorkMailOrganization", org_props())
    )

    assert (
        first
        == retry
        == {
            "PhysicalResourceId": ORG,
            "Data": {"OrganizationId": ORG},
        }
    )


def test_is_complete_polls_until_the_organisation_is_active(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    for state in ("Creating", "Active"):
        workmail.add_response(
            "describe_organization",
            {"OrganizationId": ORG, "Alias": "example-team", "State": state},
            {"OrganizationId": ORG},
        )
    polled = event(
        "Create", "Custom::WorkMailOrganization", org_props(), PhysicalResourceId=ORG
    )

    assert handler.is_complete(polled) == {"IsComplete": False}
    assert handler.is_complete(polled) == {
        "IsComplete": True,
        "Data": {"OrganizationId": ORG, "Alias": "example-team"},
    }


def test_a_failed_organisation_fails_with_the_reason_and_is_removed(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    workmail.add_response(
        "describe_organization",
        {"OrganizationId": ORG, "State": "Failed", "ErrorMessage": "quota reached"},
        {"OrganizationId": ORG},
    )
    workmail.add_response(
        "delete_organization",
        {"OrganizationId": ORG, "State": "Deleting"},
        {"OrganizationId": ORG, "DeleteDirectory": True, "ForceDelete": True},
    )
    polled = event(
        "Create", "Custom::WorkMailOrganization", org_props(), PhysicalResourceId=ORG
    )

    with pytest.raises(RuntimeError, match=f"{ORG} failed to become active: quota"):
        handler.is_complete(polled)


def test_a_failed_organisation_that_cannot_be_removed_still_fails_with_the_reason(
    aws: dict[str, Stubber], log_messages: Callable[[], list[str]]
) -> None:
    workmail = aws["workmail"]
    workmail.add_response(
        "describe_organization",
        {"OrganizationId": ORG, "State": "Failed", "ErrorMessage": "quota reached"},
        {"OrganizationId": ORG},
    )
    error(
        workmail,
        "delete_organization",
        "AccessDeniedException",
        {"OrganizationId": ORG, "DeleteDirectory": True, "ForceDelete": True},
    )
    polled = event(
        "Create", "Custom::WorkMailOrganization", org_props(), PhysicalResourceId=ORG
    )

    with pytest.raises(
        RuntimeError,
        match=(
            f"^WorkMail organisation {ORG} failed to become active: quota reached; "
            r"removing it failed \(AccessDeniedException\): delete it in the "
            "WorkMail console before deploying again$"
        ),
    ):
        handler.is_complete(polled)
    assert "failed organisation not removed" in log_messages()


def test_a_taken_alias_fails_and_suggests_adopting_it(aws: dict[str, Stubber]) -> None:
    error(
        aws["workmail"],
        "create_organization",
        "NameAvailabilityException",
        {"Alias": "example-team", "ClientToken": ANY},
    )

    with pytest.raises(RuntimeError, match="'example-team' is taken; adopt"):
        handler.on_event(event("Create", "Custom::WorkMailOrganization", org_props()))


def test_adopting_by_id_checks_the_organisation_and_creates_nothing(
    aws: dict[str, Stubber],
) -> None:
    aws["workmail"].add_response(
        "describe_organization",
        {"OrganizationId": ORG, "State": "Active"},
        {"OrganizationId": ORG},
    )
    props = {"AdoptId": ORG, "DeleteOnRemove": "false"}

    result = handler.on_event(event("Create", "Custom::WorkMailOrganization", props))

    assert result["PhysicalResourceId"] == ORG


def test_adopting_an_unknown_id_fails_in_plain_words(aws: dict[str, Stubber]) -> None:
    error(
        aws["workmail"],
        "describe_organization",
        "OrganizationNotFoundException",
        {"OrganizationId": ORG},
    )
    props = {"AdoptId": ORG, "DeleteOnRemove": "false"}

    with pytest.raises(RuntimeError, match=f"no WorkMail organisation {ORG}"):
        handler.on_event(event("Create", "Custom::WorkMailOrganization", props))


def test_adopting_by_alias_reads_every_page_and_skips_deleted_ones(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    workmail.add_response(
        "list_organizations",
        {
            "OrganizationSummaries": [
                {"OrganizationId": OTHER_ORG, "Alias": "other", "State": "Active"}
            ],
            "NextToken": "page-2",
        },
        {},
    )
    workmail.add_response(
        "list_organizations",
        {
            "OrganizationSummaries": [
                {"OrganizationId": OTHER_ORG, "Alias": "legacy", "State": "Deleted"},
                {"OrganizationId": ORG, "Alias": "legacy", "State": "Active"},
            ]
        },
        {"NextToken": "page-2"},
    )
    props = {"AdoptAlias": "legacy", "DeleteOnRemove": "false"}

    result = handler.on_event(event("Create", "Custom::WorkMailOrganization", props))

    assert result["PhysicalResourceId"] == ORG


def test_an_update_that_keeps_the_alias_keeps_the_organisation(
    aws: dict[str, Stubber],
) -> None:
    updated = event(
        "Update",
        "Custom::WorkMailOrganization",
        org_props(DeleteOnRemove="true"),
        PhysicalResourceId=ORG,
        OldResourceProperties=org_props(),
    )

    assert handler.on_event(updated)["PhysicalResourceId"] == ORG


def organisation_update(new: dict[str, str], old: dict[str, str]) -> dict[str, Any]:
    return event(
        "Update",
        "Custom::WorkMailOrganization",
        new,
        PhysicalResourceId=ORG,
        OldResourceProperties=old,
    )


def expect_organisation(aws: dict[str, Stubber], alias: str = "example-team") -> None:
    aws["workmail"].add_response(
        "describe_organization",
        {"OrganizationId": ORG, "Alias": alias, "State": "Active"},
        {"OrganizationId": ORG},
    )


def expect_stack_status(aws: dict[str, Stubber], status: str) -> None:
    aws["cloudformation"].add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "mail-prod-workmail",
                    "StackId": STACK_ID,
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": status,
                }
            ]
        },
        {"StackName": STACK_ID},
    )


def test_an_update_that_changes_the_alias_fails_and_creates_nothing(
    aws: dict[str, Stubber],
) -> None:
    expect_organisation(aws)
    changed = organisation_update(org_props(Alias="new-team"), org_props())

    # The Stubber lists no create_organization: calling it would fail the test.
    with pytest.raises(
        RuntimeError,
        match=(
            "^workmail.organization.alias cannot change from 'example-team' to "
            f"'new-team': .* fixed at creation; .*organisation {ORG} is unchanged"
        ),
    ):
        handler.on_event(changed)


def test_the_rollback_of_a_refused_alias_change_keeps_the_organisation(
    aws: dict[str, Stubber],
) -> None:
    expect_organisation(aws)
    rollback = organisation_update(org_props(), org_props(Alias="new-team"))

    assert handler.on_event(rollback) == {
        "PhysicalResourceId": ORG,
        "Data": {"OrganizationId": ORG},
    }


@pytest.mark.parametrize(
    ("adopt", "setting"),
    [
        ({"AdoptId": OTHER_ORG}, f"adopt: {OTHER_ORG}"),
        ({"AdoptAlias": "legacy"}, "adopt: legacy"),
    ],
)
def test_an_update_that_adopts_another_organisation_fails(
    aws: dict[str, Stubber], adopt: dict[str, str], setting: str
) -> None:
    expect_organisation(aws)
    changed = organisation_update({"DeleteOnRemove": "false", **adopt}, org_props())

    with pytest.raises(
        RuntimeError,
        match=(
            f"^workmail.organization cannot change from alias: example-team to "
            f"{setting}: the stack keeps the organisation it created or adopted "
            f"\\({ORG}\\); expected alias: example-team again$"
        ),
    ):
        handler.on_event(changed)


def test_switching_from_creating_to_adopting_the_same_organisation_fails(
    aws: dict[str, Stubber],
) -> None:
    expect_organisation(aws)
    expect_stack_status(aws, "UPDATE_IN_PROGRESS")
    changed = organisation_update(
        {"AdoptAlias": "example-team", "DeleteOnRemove": "false"}, org_props()
    )

    with pytest.raises(
        RuntimeError,
        match="cannot change from alias: example-team to adopt: example-team: ",
    ):
        handler.on_event(changed)


def test_the_rollback_of_a_refused_switch_to_adopting_keeps_the_organisation(
    aws: dict[str, Stubber],
) -> None:
    expect_organisation(aws)
    expect_stack_status(aws, "UPDATE_ROLLBACK_IN_PROGRESS")
    rollback = organisation_update(
        org_props(), {"AdoptAlias": "example-team", "DeleteOnRemove": "false"}
    )

    assert handler.on_event(rollback)["PhysicalResourceId"] == ORG


def test_adopting_the_same_organisation_by_alias_instead_of_id_is_accepted(
    aws: dict[str, Stubber],
) -> None:
    expect_organisation(aws, alias="legacy")
    changed = organisation_update(
        {"AdoptAlias": "legacy", "DeleteOnRemove": "false"},
        {"AdoptId": ORG, "DeleteOnRemove": "false"},
    )

    assert handler.on_event(changed)["PhysicalResourceId"] == ORG


def test_deleting_without_the_flag_keeps_the_organisation(
    aws: dict[str, Stubber], log_messages: Callable[[], list[str]]
) -> None:
    deleted = event(
        "Delete", "Custom::WorkMailOrganization", org_props(), PhysicalResourceId=ORG
    )

    handler.on_event(deleted)

    # The Stubber has no answer listed: any WorkMail call would have failed.
    assert "organisation retained: delete_on_remove is not set" in log_messages()


def test_deleting_with_the_flag_deletes_organisation_and_directory(
    aws: dict[str, Stubber],
) -> None:
    aws["workmail"].add_response(
        "delete_organization",
        {"OrganizationId": ORG, "State": "Deleting"},
        {"OrganizationId": ORG, "DeleteDirectory": True, "ForceDelete": True},
    )
    deleted = event(
        "Delete",
        "Custom::WorkMailOrganization",
        org_props(DeleteOnRemove="true"),
        PhysicalResourceId=ORG,
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == ORG


def test_deleting_an_organisation_already_gone_succeeds(
    aws: dict[str, Stubber],
) -> None:
    error(
        aws["workmail"],
        "delete_organization",
        "OrganizationNotFoundException",
        {"OrganizationId": ORG, "DeleteDirectory": True, "ForceDelete": True},
    )
    deleted = event(
        "Delete",
        "Custom::WorkMailOrganization",
        org_props(DeleteOnRemove="true"),
        PhysicalResourceId=ORG,
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == ORG


def test_an_adopted_organisation_is_never_deleted(aws: dict[str, Stubber]) -> None:
    deleted = event(
        "Delete",
        "Custom::WorkMailOrganization",
        {"AdoptId": ORG, "DeleteOnRemove": "true"},
        PhysicalResourceId=ORG,
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == ORG


# Mail domain ----------------------------------------------------------------

DOMAIN = "team.example.com"
DOMAIN_KEY = {"OrganizationId": ORG, "DomainName": DOMAIN}


def domain_props(**changes: str) -> dict[str, str]:
    return {**DOMAIN_KEY, "Default": "true", "DeleteOnRemove": "false", **changes}


def mail_domain(status: str, is_default: bool = False) -> dict[str, Any]:
    return {
        "Records": [],
        "IsTestDomain": False,
        "IsDefault": is_default,
        "OwnershipVerificationStatus": status,
    }


def test_a_new_domain_is_registered(aws: dict[str, Stubber]) -> None:
    workmail = aws["workmail"]
    error(workmail, "get_mail_domain", "MailDomainNotFoundException", DOMAIN_KEY)
    workmail.add_response("register_mail_domain", {}, DOMAIN_KEY)

    result = handler.on_event(event("Create", "Custom::WorkMailDomain", domain_props()))

    assert result["PhysicalResourceId"] == f"{ORG}/{DOMAIN}"


def test_a_retried_registration_leaves_the_registered_domain_alone(
    aws: dict[str, Stubber],
) -> None:
    aws["workmail"].add_response("get_mail_domain", mail_domain("VERIFIED"), DOMAIN_KEY)

    result = handler.on_event(event("Create", "Custom::WorkMailDomain", domain_props()))

    assert result["PhysicalResourceId"] == f"{ORG}/{DOMAIN}"


def test_a_domain_of_another_organisation_fails_in_plain_words(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    error(workmail, "get_mail_domain", "MailDomainNotFoundException", DOMAIN_KEY)
    error(workmail, "register_mail_domain", "MailDomainInUseException", DOMAIN_KEY)

    with pytest.raises(RuntimeError, match="registered with another WorkMail"):
        handler.on_event(event("Create", "Custom::WorkMailDomain", domain_props()))


def test_the_default_domain_is_set_once_it_is_verified(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    workmail.add_response("get_mail_domain", mail_domain("PENDING"), DOMAIN_KEY)
    workmail.add_response("get_mail_domain", mail_domain("VERIFIED"), DOMAIN_KEY)
    workmail.add_response("update_default_mail_domain", {}, DOMAIN_KEY)
    workmail.add_response(
        "get_mail_domain", mail_domain("VERIFIED", is_default=True), DOMAIN_KEY
    )
    polled = event("Create", "Custom::WorkMailDomain", domain_props())

    assert handler.is_complete(polled) == {"IsComplete": False}
    assert handler.is_complete(polled)["IsComplete"] is True
    # Polled again (a retry): already the default, nothing more to do.
    assert handler.is_complete(polled)["IsComplete"] is True


def test_a_domain_that_fails_verification_fails_the_resource(
    aws: dict[str, Stubber],
) -> None:
    aws["workmail"].add_response("get_mail_domain", mail_domain("FAILED"), DOMAIN_KEY)

    with pytest.raises(RuntimeError, match=f"could not verify {DOMAIN}: check"):
        handler.is_complete(event("Create", "Custom::WorkMailDomain", domain_props()))


def test_removing_a_domain_without_the_flag_keeps_it(
    aws: dict[str, Stubber], log_messages: Callable[[], list[str]]
) -> None:
    deleted = event(
        "Delete",
        "Custom::WorkMailDomain",
        domain_props(),
        PhysicalResourceId=f"{ORG}/{DOMAIN}",
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == f"{ORG}/{DOMAIN}"
    assert "domain retained: delete_on_remove is not set" in log_messages()


@pytest.mark.parametrize("gone", [None, "OrganizationNotFoundException"])
def test_removing_a_domain_with_the_flag_deregisters_it(
    aws: dict[str, Stubber], gone: str | None
) -> None:
    if gone:
        error(aws["workmail"], "deregister_mail_domain", gone, DOMAIN_KEY)
    else:
        aws["workmail"].add_response("deregister_mail_domain", {}, DOMAIN_KEY)
    deleted = event(
        "Delete",
        "Custom::WorkMailDomain",
        domain_props(DeleteOnRemove="true"),
        PhysicalResourceId=f"{ORG}/{DOMAIN}",
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == f"{ORG}/{DOMAIN}"


# Users ----------------------------------------------------------------------

EMAIL = f"jane.doe@{DOMAIN}"
ALIAS = f"jane@{DOMAIN}"
USER_KEY = {"OrganizationId": ORG, "UserId": USER_ID}
ENTITY_KEY = {"OrganizationId": ORG, "EntityId": USER_ID}


def user_props(**changes: Any) -> dict[str, Any]:
    return {
        "OrganizationId": ORG,
        "Name": "jane.doe",
        "DisplayName": "Jane Doe",
        "Email": EMAIL,
        "Role": "USER",
        "Enabled": "true",
        "Aliases": [ALIAS],
        "PasswordSecretArn": SECRET_ARN,
        "DeleteOnRemove": "false",
        **changes,
    }


def user(state: str, email: str | None = EMAIL, name: str = "Jane Doe") -> dict:
    described = {
        "UserId": USER_ID,
        "Name": "jane.doe",
        "DisplayName": name,
        "State": state,
        "UserRole": "USER",
    }
    if email:
        described["Email"] = email
    return described


def expect_new_user(aws: dict[str, Stubber]) -> None:
    workmail = aws["workmail"]
    workmail.add_response(
        "list_users",
        {"Users": []},
        {"OrganizationId": ORG, "Filters": {"UsernamePrefix": "jane.doe"}},
    )
    aws["secretsmanager"].add_response(
        "get_secret_value",
        {"ARN": SECRET_ARN, "Name": "n", "SecretString": KNOWN_PASSWORD},
        {"SecretId": SECRET_ARN},
    )
    workmail.add_response(
        "create_user",
        {"UserId": USER_ID},
        {
            "OrganizationId": ORG,
            "Name": "jane.doe",
            "DisplayName": "Jane Doe",
            "Password": KNOWN_PASSWORD,
            "Role": "USER",
        },
    )


def expect_found_user(aws: dict[str, Stubber]) -> None:
    aws["workmail"].add_response(
        "list_users",
        {"Users": [{"Id": USER_ID, "Name": "jane.doe", "State": "DISABLED"}]},
        {"OrganizationId": ORG, "Filters": {"UsernamePrefix": "jane.doe"}},
    )


def expect_enable_and_alias(aws: dict[str, Stubber]) -> None:
    workmail = aws["workmail"]
    workmail.add_response("describe_user", user("DISABLED", email=None), USER_KEY)
    workmail.add_response("register_to_work_mail", {}, {**ENTITY_KEY, "Email": EMAIL})
    workmail.add_response("list_aliases", {"Aliases": []}, ENTITY_KEY)
    workmail.add_response("create_alias", {}, {**ENTITY_KEY, "Alias": ALIAS})


def test_a_new_user_is_created_with_its_password_enabled_and_aliased(
    aws: dict[str, Stubber],
) -> None:
    expect_new_user(aws)
    expect_enable_and_alias(aws)

    result = handler.on_event(event("Create", "Custom::WorkMailUser", user_props()))

    assert result == {"PhysicalResourceId": USER_ID, "Data": {"EntityId": USER_ID}}


def test_a_create_retried_after_a_failed_step_picks_up_the_user(
    aws: dict[str, Stubber],
) -> None:
    expect_new_user(aws)
    aws["workmail"].add_response(
        "describe_user", user("DISABLED", email=None), USER_KEY
    )
    error(
        aws["workmail"],
        "register_to_work_mail",
        "MailDomainStateException",
        {**ENTITY_KEY, "Email": EMAIL},
    )
    with pytest.raises(Exception, match="MailDomainStateException"):
        handler.on_event(event("Create", "Custom::WorkMailUser", user_props()))

    expect_found_user(aws)
    expect_enable_and_alias(aws)
    result = handler.on_event(event("Create", "Custom::WorkMailUser", user_props()))

    assert result["PhysicalResourceId"] == USER_ID


def test_a_user_already_as_wanted_is_left_alone(aws: dict[str, Stubber]) -> None:
    workmail = aws["workmail"]
    workmail.add_response("describe_user", user("ENABLED"), USER_KEY)
    workmail.add_response("list_aliases", {"Aliases": [ALIAS]}, ENTITY_KEY)
    updated = event(
        "Update",
        "Custom::WorkMailUser",
        user_props(),
        PhysicalResourceId=USER_ID,
        OldResourceProperties=user_props(),
    )

    assert handler.on_event(updated)["PhysicalResourceId"] == USER_ID


def test_changed_name_address_and_aliases_are_applied(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    new_email = f"jane@{DOMAIN}"
    new_alias = f"j.doe@{DOMAIN}"
    workmail.add_response("describe_user", user("ENABLED"), USER_KEY)
    workmail.add_response(
        "update_user",
        {},
        {**USER_KEY, "DisplayName": "Jane Q. Doe", "Role": "USER"},
    )
    workmail.add_response(
        "update_primary_email_address", {}, {**ENTITY_KEY, "Email": new_email}
    )
    workmail.add_response("list_aliases", {"Aliases": [EMAIL, new_email]}, ENTITY_KEY)
    workmail.add_response("create_alias", {}, {**ENTITY_KEY, "Alias": new_alias})
    updated = user_update(
        user_props(DisplayName="Jane Q. Doe", Email=new_email, Aliases=[new_alias]),
        user_props(),
    )

    # The alias that became the primary address and the former primary
    # address both stay: the Stubber lists no delete_alias.
    assert handler.on_event(updated)["PhysicalResourceId"] == USER_ID


def test_an_alias_that_leaves_the_list_is_removed_and_others_stay(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    dropped = f"jd@{DOMAIN}"
    workmail.add_response("describe_user", user("ENABLED"), USER_KEY)
    workmail.add_response(
        "list_aliases",
        {"Aliases": [ALIAS, dropped, f"from-console@{DOMAIN}"]},
        ENTITY_KEY,
    )
    workmail.add_response("delete_alias", {}, {**ENTITY_KEY, "Alias": dropped})
    updated = user_update(user_props(), user_props(Aliases=[ALIAS, dropped]))

    assert handler.on_event(updated)["PhysicalResourceId"] == USER_ID


@pytest.mark.parametrize("kept_by_workmail", [True, False])
def test_a_changed_primary_address_keeps_the_old_one_as_an_alias(
    aws: dict[str, Stubber], kept_by_workmail: bool
) -> None:
    # A new default domain gives every user without `email` a new address.
    workmail = aws["workmail"]
    new_email = "jane.doe@new.example.com"
    workmail.add_response("describe_user", user("ENABLED"), USER_KEY)
    workmail.add_response(
        "update_primary_email_address", {}, {**ENTITY_KEY, "Email": new_email}
    )
    listed = [ALIAS, EMAIL] if kept_by_workmail else [ALIAS]
    workmail.add_response("list_aliases", {"Aliases": listed}, ENTITY_KEY)
    if not kept_by_workmail:
        workmail.add_response("create_alias", {}, {**ENTITY_KEY, "Alias": EMAIL})
    updated = user_update(user_props(Email=new_email), user_props())

    # No delete_alias is listed: removing the old address would fail the test.
    assert handler.on_event(updated)["PhysicalResourceId"] == USER_ID


def test_a_former_primary_address_survives_later_updates(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    new_email = "jane.doe@new.example.com"
    workmail.add_response("describe_user", user("ENABLED", email=new_email), USER_KEY)
    workmail.add_response(
        "update_user", {}, {**USER_KEY, "DisplayName": "Jane Q. Doe", "Role": "USER"}
    )
    workmail.add_response("list_aliases", {"Aliases": [ALIAS, EMAIL]}, ENTITY_KEY)
    updated = user_update(
        user_props(Email=new_email, DisplayName="Jane Q. Doe"),
        user_props(Email=new_email),
    )

    assert handler.on_event(updated)["PhysicalResourceId"] == USER_ID


def test_disabling_a_user_deregisters_it_and_deletes_nothing(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    workmail.add_response("describe_user", user("ENABLED"), USER_KEY)
    workmail.add_response("deregister_from_work_mail", {}, ENTITY_KEY)
    updated = event(
        "Update",
        "Custom::WorkMailUser",
        user_props(Enabled="false"),
        PhysicalResourceId=USER_ID,
        OldResourceProperties=user_props(),
    )

    assert handler.on_event(updated)["PhysicalResourceId"] == USER_ID


def test_a_user_deleted_by_hand_is_created_again_on_update(
    aws: dict[str, Stubber],
) -> None:
    error(aws["workmail"], "describe_user", "EntityNotFoundException", USER_KEY)
    expect_new_user(aws)
    expect_enable_and_alias(aws)
    updated = event(
        "Update",
        "Custom::WorkMailUser",
        user_props(),
        PhysicalResourceId=USER_ID,
        OldResourceProperties=user_props(),
    )

    assert handler.on_event(updated)["PhysicalResourceId"] == USER_ID


def user_update(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return event(
        "Update",
        "Custom::WorkMailUser",
        new,
        PhysicalResourceId=USER_ID,
        OldResourceProperties=old,
    )


def test_renaming_a_user_in_place_fails_and_keeps_the_user(
    aws: dict[str, Stubber],
) -> None:
    # jane.doe and jane-doe share a construct id, so this reaches the handler
    # as an Update; finding or creating jane-doe would get a new physical id.
    aws["workmail"].add_response("describe_user", user("ENABLED"), USER_KEY)
    renamed = user_update(user_props(Name="jane-doe"), user_props())

    with pytest.raises(
        RuntimeError,
        match=(
            r"^the name of WorkMail user 'jane\.doe' cannot change to 'jane-doe': "
            r".*expected 'jane\.doe', or remove the entry"
        ),
    ):
        handler.on_event(renamed)


def test_moving_a_user_to_another_organisation_fails_and_keeps_the_user(
    aws: dict[str, Stubber],
) -> None:
    error(
        aws["workmail"],
        "describe_user",
        "EntityNotFoundException",
        {"OrganizationId": OTHER_ORG, "UserId": USER_ID},
    )
    moved = user_update(user_props(OrganizationId=OTHER_ORG), user_props())

    with pytest.raises(
        RuntimeError,
        match=(
            f"^the WorkMail user 'jane.doe' \\({USER_ID}\\) cannot move from "
            f"organisation {ORG} to {OTHER_ORG}: WorkMail has no move; expected "
            f"organisation {ORG}"
        ),
    ):
        handler.on_event(moved)


@pytest.mark.parametrize(
    "refused", [{"Name": "jane-doe"}, {"OrganizationId": OTHER_ORG}], ids=str
)
def test_the_rollback_of_a_refused_rename_or_move_keeps_the_user(
    aws: dict[str, Stubber], refused: dict[str, str]
) -> None:
    workmail = aws["workmail"]
    workmail.add_response("describe_user", user("ENABLED"), USER_KEY)
    workmail.add_response("list_aliases", {"Aliases": [ALIAS]}, ENTITY_KEY)
    rollback = user_update(user_props(), user_props(**refused))

    assert handler.on_event(rollback)["PhysicalResourceId"] == USER_ID


def test_removing_a_user_without_the_flag_keeps_the_mailbox(
    aws: dict[str, Stubber], log_messages: Callable[[], list[str]]
) -> None:
    deleted = event(
        "Delete", "Custom::WorkMailUser", user_props(), PhysicalResourceId=USER_ID
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == USER_ID
    assert "user retained: delete_on_remove is not set" in log_messages()


def test_removing_a_user_with_the_flag_disables_then_deletes_it(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    workmail.add_response("describe_user", user("ENABLED"), USER_KEY)
    workmail.add_response("deregister_from_work_mail", {}, ENTITY_KEY)
    workmail.add_response("delete_user", {}, USER_KEY)
    deleted = event(
        "Delete",
        "Custom::WorkMailUser",
        user_props(DeleteOnRemove="true"),
        PhysicalResourceId=USER_ID,
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == USER_ID


@pytest.mark.parametrize("gone", ["EntityNotFoundException", "DELETED"])
def test_removing_a_user_already_gone_succeeds(
    aws: dict[str, Stubber], gone: str
) -> None:
    if gone == "DELETED":
        aws["workmail"].add_response("describe_user", user("DELETED"), USER_KEY)
    else:
        error(aws["workmail"], "describe_user", gone, USER_KEY)
    deleted = event(
        "Delete",
        "Custom::WorkMailUser",
        user_props(DeleteOnRemove="true"),
        PhysicalResourceId=USER_ID,
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == USER_ID


# Groups ---------------------------------------------------------------------

GROUP_EMAIL = f"support@{DOMAIN}"
GROUP_KEY = {"OrganizationId": ORG, "GroupId": GROUP_ID}
GROUP_ENTITY = {"OrganizationId": ORG, "EntityId": GROUP_ID}
MEMBER_A = "3d9a4b5c-0000-4000-8000-0000000000a1"
MEMBER_B = "3d9a4b5c-0000-4000-8000-0000000000b2"


def group_props(**changes: Any) -> dict[str, Any]:
    return {
        "OrganizationId": ORG,
        "Name": "support",
        "Email": GROUP_EMAIL,
        "Aliases": [],
        "Members": [MEMBER_A, MEMBER_B],
        "DeleteOnRemove": "false",
        **changes,
    }


def group(state: str) -> dict[str, Any]:
    described = {"GroupId": GROUP_ID, "Name": "support", "State": state}
    if state == "ENABLED":
        described["Email"] = GROUP_EMAIL
    return described


def member(member_id: str) -> dict[str, str]:
    return {"Id": member_id, "Name": "m", "Type": "USER", "State": "ENABLED"}


def test_a_new_group_gets_its_address_and_members(aws: dict[str, Stubber]) -> None:
    workmail = aws["workmail"]
    workmail.add_response(
        "list_groups",
        {"Groups": []},
        {"OrganizationId": ORG, "Filters": {"NamePrefix": "support"}},
    )
    workmail.add_response(
        "create_group",
        {"GroupId": GROUP_ID},
        {"OrganizationId": ORG, "Name": "support"},
    )
    workmail.add_response("describe_group", group("DISABLED"), GROUP_KEY)
    workmail.add_response(
        "register_to_work_mail", {}, {**GROUP_ENTITY, "Email": GROUP_EMAIL}
    )
    workmail.add_response("list_aliases", {"Aliases": []}, GROUP_ENTITY)
    workmail.add_response("list_group_members", {"Members": []}, GROUP_KEY)
    for member_id in (MEMBER_A, MEMBER_B):
        workmail.add_response(
            "associate_member_to_group", {}, {**GROUP_KEY, "MemberId": member_id}
        )

    result = handler.on_event(event("Create", "Custom::WorkMailGroup", group_props()))

    assert result["PhysicalResourceId"] == GROUP_ID


def test_changed_members_are_added_and_removed(aws: dict[str, Stubber]) -> None:
    workmail = aws["workmail"]
    workmail.add_response("describe_group", group("ENABLED"), GROUP_KEY)
    workmail.add_response("list_aliases", {"Aliases": []}, GROUP_ENTITY)
    workmail.add_response(
        "list_group_members", {"Members": [member(MEMBER_A)]}, GROUP_KEY
    )
    workmail.add_response(
        "associate_member_to_group", {}, {**GROUP_KEY, "MemberId": MEMBER_B}
    )
    workmail.add_response(
        "disassociate_member_from_group", {}, {**GROUP_KEY, "MemberId": MEMBER_A}
    )
    updated = event(
        "Update",
        "Custom::WorkMailGroup",
        group_props(Members=[MEMBER_B]),
        PhysicalResourceId=GROUP_ID,
        OldResourceProperties=group_props(),
    )

    assert handler.on_event(updated)["PhysicalResourceId"] == GROUP_ID


def test_a_retried_group_create_adds_only_the_missing_member(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    workmail.add_response(
        "list_groups",
        {"Groups": [{"Id": GROUP_ID, "Name": "support", "State": "ENABLED"}]},
        {"OrganizationId": ORG, "Filters": {"NamePrefix": "support"}},
    )
    workmail.add_response("describe_group", group("ENABLED"), GROUP_KEY)
    workmail.add_response("list_aliases", {"Aliases": []}, GROUP_ENTITY)
    workmail.add_response(
        "list_group_members", {"Members": [member(MEMBER_A)]}, GROUP_KEY
    )
    workmail.add_response(
        "associate_member_to_group", {}, {**GROUP_KEY, "MemberId": MEMBER_B}
    )

    result = handler.on_event(event("Create", "Custom::WorkMailGroup", group_props()))

    assert result["PhysicalResourceId"] == GROUP_ID


def test_renaming_a_group_in_place_fails_and_keeps_the_group(
    aws: dict[str, Stubber],
) -> None:
    aws["workmail"].add_response("describe_group", group("ENABLED"), GROUP_KEY)
    renamed = event(
        "Update",
        "Custom::WorkMailGroup",
        group_props(Name="support_team"),
        PhysicalResourceId=GROUP_ID,
        OldResourceProperties=group_props(),
    )

    with pytest.raises(
        RuntimeError,
        match=r"^the name of WorkMail group 'support' cannot change to 'support_team'",
    ):
        handler.on_event(renamed)


def test_removing_a_group_with_the_flag_disables_then_deletes_it(
    aws: dict[str, Stubber],
) -> None:
    workmail = aws["workmail"]
    workmail.add_response("describe_group", group("ENABLED"), GROUP_KEY)
    workmail.add_response("deregister_from_work_mail", {}, GROUP_ENTITY)
    workmail.add_response("delete_group", {}, GROUP_KEY)
    deleted = event(
        "Delete",
        "Custom::WorkMailGroup",
        group_props(DeleteOnRemove="true"),
        PhysicalResourceId=GROUP_ID,
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == GROUP_ID


def test_removing_a_group_already_gone_succeeds(aws: dict[str, Stubber]) -> None:
    error(aws["workmail"], "describe_group", "EntityNotFoundException", GROUP_KEY)
    deleted = event(
        "Delete",
        "Custom::WorkMailGroup",
        group_props(DeleteOnRemove="true"),
        PhysicalResourceId=GROUP_ID,
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == GROUP_ID


# Logs -----------------------------------------------------------------------


def test_no_log_line_or_response_carries_the_password_or_the_event(
    aws: dict[str, Stubber],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(handler.JsonLineFormatter())
    handler.LOGGER.addHandler(capture)
    handler.LOGGER.addHandler(caplog.handler)
    expect_new_user(aws)
    expect_enable_and_alias(aws)
    try:
        with caplog.at_level(logging.DEBUG, logger=handler.LOGGER.name):
            response = handler.on_event(
                event("Create", "Custom::WorkMailUser", user_props()), FakeContext()
            )
    finally:
        handler.LOGGER.removeHandler(capture)
        handler.LOGGER.removeHandler(caplog.handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    printed = capsys.readouterr()
    everything = "\n".join(
        [stream.getvalue(), caplog.text, printed.out, printed.err, json.dumps(response)]
    )

    assert KNOWN_PASSWORD not in everything
    assert "Pa55" not in everything
    assert RESPONSE_URL not in everything
    assert "X-Amz-Signature" not in everything
    assert [line["message"] for line in lines] == [
        "request received",
        "user created",
        "user enabled",
        "alias added",
        "request done",
    ]
    assert {line["request_id"] for line in lines} == {FakeContext.aws_request_id}
    assert lines[1]["entity_id"] == USER_ID


def test_deleting_a_domain_whose_create_failed_calls_nothing(
    aws: dict[str, Stubber],
) -> None:
    deleted = event(
        "Delete",
        "Custom::WorkMailDomain",
        domain_props(DeleteOnRemove="true"),
        PhysicalResourceId="req-1",
    )

    assert handler.on_event(deleted)["PhysicalResourceId"] == "req-1"
