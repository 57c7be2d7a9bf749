"""Templates of an environment with WorkMail: its stack, and its domains' records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match, Template

from mailcore.workmail_settings import END_OF_SUPPORT_WARNING
from stacks.environment import build_environment
from stacks.workmail_stack import END_OF_SUPPORT_WARNING_ID
from tests.conftest import make_config

REGION = "eu-west-1"


def settings(**workmail: Any) -> dict[str, Any]:
    """example.com in eu-west-1 served by WorkMail; example.net sends only."""
    return {
        "region": REGION,
        "domains": [
            {
                "name": "example.com",
                "hosted_zone": {"id": "Z0EXAMPLE0000000000", "name": "example.com"},
            },
            {"name": "example.net"},
        ],
        "workmail": {
            "region": REGION,
            "organization": {"alias": "example-corp"},
            "domains": ["example.com"],
            **workmail,
        },
    }


def synth(config: dict[str, Any]) -> dict[str, Stack]:
    app = App()
    return {
        stack.stack_name: stack for stack in build_environment(app, make_config(config))
    }


def workmail_template(**workmail: Any) -> Template:
    return Template.from_stack(synth(settings(**workmail))["mail-test-workmail"])


def test_an_environment_with_workmail_gets_one_more_stack_in_its_region() -> None:
    stacks = synth(settings())

    assert list(stacks) == [
        "mail-test-example-com",
        "mail-test-example-net",
        "mail-test-workmail",
    ]
    assert stacks["mail-test-workmail"].region == REGION
    assert stacks["mail-test-example-com"] in stacks["mail-test-workmail"].dependencies
    assert stacks["mail-test-example-net"] not in (
        stacks["mail-test-workmail"].dependencies
    )


def test_a_workmail_domain_gets_inbound_mx_and_autodiscover_in_its_zone() -> None:
    template = Template.from_stack(synth(settings())["mail-test-example-com"])

    template.resource_count_is("AWS::Route53::RecordSet", 9)
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "example.com.",
            "Type": "MX",
            "ResourceRecords": [f"10 inbound-smtp.{REGION}.amazonaws.com"],
        },
    )
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "autodiscover.example.com.",
            "Type": "CNAME",
            "ResourceRecords": [f"autodiscover.mail.{REGION}.awsapps.com"],
        },
    )
    # The SES records stay one set each: one MX at the apex, one apex TXT.
    mx_at_apex = template.find_resources(
        "AWS::Route53::RecordSet",
        {"Properties": {"Name": "example.com.", "Type": "MX"}},
    )
    assert len(mx_at_apex) == 1


def test_a_domain_outside_workmail_gets_no_workmail_records() -> None:
    template = Template.from_stack(synth(settings())["mail-test-example-net"])
    outputs = template.to_json()["Outputs"]

    assert not any("inbound-smtp" in str(o["Value"]) for o in outputs.values())
    assert not any("autodiscover" in str(o["Value"]) for o in outputs.values())


def test_workmail_records_of_a_domain_without_a_zone_become_outputs() -> None:
    config = settings(domains=["example.net"])
    template = Template.from_stack(synth(config)["mail-test-example-net"])

    template.has_output(
        "*",
        {"Value": f"example.net. 1800 IN MX 10 inbound-smtp.{REGION}.amazonaws.com."},
    )
    template.has_output(
        "*",
        {
            "Value": (
                "autodiscover.example.net. 1800 IN CNAME "
                f"autodiscover.mail.{REGION}.awsapps.com."
            )
        },
    )


def test_synth_warns_about_the_end_of_workmail() -> None:
    stack = synth(settings())["mail-test-workmail"]

    Annotations.from_stack(stack).has_warning(
        "/mail-test-workmail", Match.string_like_regexp("2026-04-30.*2027-03-31")
    )
    assert "inbound: ses" in END_OF_SUPPORT_WARNING
    assert END_OF_SUPPORT_WARNING_ID == "mail:workmailEndOfSupport"


def test_stacks_of_an_environment_without_workmail_carry_no_warning() -> None:
    config = settings()
    del config["workmail"]

    for stack in synth(config).values():
        assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def test_the_organisation_is_created_with_its_alias_and_retained() -> None:
    template = workmail_template()

    template.resource_count_is("Custom::WorkMailOrganization", 1)
    template.has_resource(
        "Custom::WorkMailOrganization",
        {
            "Properties": {
                "ServiceToken": Match.any_value(),
                "Alias": "example-corp",
                "DeleteOnRemove": "false",
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_an_organisation_with_the_flag_is_deleted_with_the_stack() -> None:
    template = workmail_template(
        organization={"alias": "example-corp", "delete_on_remove": True}
    )

    template.has_resource(
        "Custom::WorkMailOrganization",
        {
            "Properties": Match.object_like({"DeleteOnRemove": "true"}),
            "DeletionPolicy": "Delete",
        },
    )


@pytest.mark.parametrize(
    ("adopt", "key"),
    [("m-0123456789abcdef0123456789abcdef", "AdoptId"), ("legacy-org", "AdoptAlias")],
)
def test_an_adopted_organisation_is_named_by_id_or_alias(adopt: str, key: str) -> None:
    template = workmail_template(organization={"adopt": adopt})

    template.has_resource_properties(
        "Custom::WorkMailOrganization",
        {"ServiceToken": Match.any_value(), key: adopt, "DeleteOnRemove": "false"},
    )


def test_the_domain_is_registered_as_default_and_retained() -> None:
    template = workmail_template()

    template.resource_count_is("Custom::WorkMailDomain", 1)
    template.has_resource(
        "Custom::WorkMailDomain",
        {
            "Properties": {
                "ServiceToken": Match.any_value(),
                "OrganizationId": {"Fn::GetAtt": ["Organization", "OrganizationId"]},
                "DomainName": "example.com",
                "Default": "true",
                "DeleteOnRemove": "false",
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_users_get_a_generated_password_secret_and_are_retained() -> None:
    template = workmail_template(
        users=[
            {
                "name": "jane.doe",
                "display_name": "Jane Doe",
                "aliases": ["jd@example.com"],
            },
            {
                "name": "old.account",
                "display_name": "Old",
                "enabled": False,
                "delete_on_remove": True,
            },
        ]
    )

    template.resource_count_is("Custom::WorkMailUser", 2)
    template.resource_count_is("AWS::SecretsManager::Secret", 2)
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "mail/test/workmail/jane.doe",
            "GenerateSecretString": {
                "PasswordLength": 32,
                "RequireEachIncludedType": True,
                "ExcludeCharacters": Match.any_value(),
            },
        },
    )
    template.has_resource(
        "Custom::WorkMailUser",
        {
            "Properties": {
                "ServiceToken": Match.any_value(),
                "OrganizationId": {"Fn::GetAtt": ["Organization", "OrganizationId"]},
                "Name": "jane.doe",
                "DisplayName": "Jane Doe",
                "Email": "jane.doe@example.com",
                "Role": "USER",
                "Enabled": "true",
                "Aliases": ["jd@example.com"],
                "PasswordSecretArn": {"Ref": Match.string_like_regexp("UserJaneDoe")},
                "DeleteOnRemove": "false",
            },
            "DeletionPolicy": "Retain",
            "DependsOn": Match.array_with(
                [Match.string_like_regexp("DomainExampleCom")]
            ),
        },
    )
    template.has_resource(
        "Custom::WorkMailUser",
        {
            "Properties": Match.object_like(
                {"Enabled": "false", "DeleteOnRemove": "true"}
            ),
            "DeletionPolicy": "Delete",
        },
    )


def test_no_password_is_in_the_template() -> None:
    template = workmail_template(users=[{"name": "jane", "display_name": "Jane"}])
    text = json.dumps(template.to_json())

    assert "SecretString" not in text.replace("GenerateSecretString", "")
    assert '"Password"' not in text
    assert all(
        "Password" not in key or key == "PasswordSecretArn"
        for resource in template.find_resources("Custom::WorkMailUser").values()
        for key in resource["Properties"]
    )


def test_groups_name_their_members_by_id_and_nested_groups_come_first() -> None:
    template = workmail_template(
        users=[{"name": "jane", "display_name": "Jane"}],
        groups=[
            {"name": "all", "members": ["support", "jane"]},
            {"name": "support", "members": ["jane"], "aliases": ["help@example.com"]},
        ],
    )

    template.resource_count_is("Custom::WorkMailGroup", 2)
    template.has_resource_properties(
        "Custom::WorkMailGroup",
        {
            "ServiceToken": Match.any_value(),
            "OrganizationId": {"Fn::GetAtt": ["Organization", "OrganizationId"]},
            "Name": "all",
            "Email": "all@example.com",
            "Aliases": [],
            "Members": [
                {"Ref": "GroupSupport"},
                {"Ref": Match.string_like_regexp("UserJane")},
            ],
            "DeleteOnRemove": "false",
        },
    )


def test_the_provider_polls_for_at_most_an_hour() -> None:
    template = workmail_template()

    template.resource_count_is("AWS::Lambda::Function", 5)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "index.is_complete", "Runtime": "python3.14", "Timeout": 60},
    )
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {
                "Destinations": Match.any_value(),
                "IncludeExecutionData": False,
                "Level": "ALL",
            }
        },
    )
    definition = str(template.find_resources("AWS::StepFunctions::StateMachine"))
    # 30-second polls for an hour: 120 attempts.
    assert '"IntervalSeconds":30' in definition.replace(" ", "").replace("\\", "")
    assert '"MaxAttempts":120' in definition.replace(" ", "").replace("\\", "")


def _handler_statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_handler_calls_to_other_services_are_held_to_the_workmail_region() -> None:
    statements = _handler_statements(workmail_template())

    [wide] = [s for s in statements if s.get("Sid") == "CreateAndFindOrganizations"]
    assert wide["Resource"] == "*"
    assert wide["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}


def test_handler_may_remove_a_failed_organisations_directory_without_the_flag() -> None:
    # A Failed organisation is removed whatever delete_on_remove says, and
    # DeleteOrganization deletes its directory with the handler's rights.
    statements = _handler_statements(workmail_template())

    [delete] = [s for s in statements if s.get("Sid") == "DeleteOrganizationDirectory"]
    assert delete["Action"] == "ds:DeleteDirectory"
    assert ":ds:" + REGION in json.dumps(delete["Resource"])
    [manage] = [s for s in statements if s.get("Sid") == "ManageOrganizations"]
    assert "workmail:DeleteOrganization" in manage["Action"]


def test_handler_may_read_the_status_of_its_own_stack_only() -> None:
    statements = _handler_statements(workmail_template())

    [status] = [s for s in statements if s.get("Sid") == "ReadOwnStackStatus"]
    assert status["Action"] == "cloudformation:DescribeStacks"
    assert status["Resource"] == {"Ref": "AWS::StackId"}
