"""Templates of the shared stack: SMTP users, their policies, secrets and handler."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Capture, Match, Template

from mailcore.smtp_settings import SmtpUserSettings
from stacks.environment import add_checks, build_environment
from stacks.smtp_user import SECRET_PLACEHOLDER
from tests.conftest import REPO, make_config

CDK_CONTEXT: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
READER = "arn:aws:iam::111122223333:role/relay-host"
SEND = ["ses:SendEmail", "ses:SendRawEmail"]
SECRET = "AWS::SecretsManager::Secret"


def settings(*users: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "region": "us-east-1",
        "domains": [
            {"name": "example.com"},
            {"name": "example.eu", "ses_region": "eu-central-1"},
        ],
        "smtp_users": list(users),
        **extra,
    }


DOMAIN_USER = {"name": "relay", "send_as": ["example.com"]}
PATTERN_USER = {
    "name": "alerts",
    "ses_region": "eu-central-1",
    "send_as": ["alerts@example.eu", "noreply-*@Example.EU"],
}


def shared(config: dict[str, Any], name: str = "test") -> Template:
    stacks = build_environment(App(), make_config(config, name))
    assert stacks[-1].stack_name == f"mail-{name}-shared"
    return Template.from_stack(stacks[-1])


def identity(region: str, domain: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":ses:{region}:",
                {"Ref": "AWS::AccountId"},
                f":identity/{domain}",
            ],
        ]
    }


def configuration_set(region: str, name: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":ses:{region}:",
                {"Ref": "AWS::AccountId"},
                f":configuration-set/{name}",
            ],
        ]
    }


def send_policy(template: Template) -> list[dict[str, Any]]:
    [policy] = template.find_resources(
        "AWS::IAM::Policy",
        {"Properties": {"PolicyName": Match.string_like_regexp("SendPolicy")}},
    ).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_no_shared_stack_without_smtp_users() -> None:
    stacks = build_environment(App(), make_config(settings()))

    assert [stack.stack_name for stack in stacks] == [
        "mail-test-example-com",
        "mail-test-example-eu",
    ]


def test_shared_stack_is_named_for_the_environment_and_in_its_region() -> None:
    config = make_config(settings(DOMAIN_USER, app="post"), "staging")

    stack = build_environment(App(), config)[-1]

    assert stack.stack_name == "post-staging-shared"
    assert stack.node.id == "post-staging-shared"
    assert stack.region == "us-east-1"


def test_user_limited_to_a_domain_may_send_as_that_identity_only() -> None:
    template = shared(settings(DOMAIN_USER))

    template.has_resource_properties(
        "AWS::IAM::User", {"UserName": "mail-test-smtp-relay"}
    )
    assert send_policy(template) == [
        {
            "Action": SEND,
            "Effect": "Allow",
            "Resource": identity("us-east-1", "example.com"),
            "Sid": "SendAsDomains",
        },
        {
            "Action": SEND,
            "Effect": "Allow",
            "Resource": configuration_set("us-east-1", "mail-test-example-com"),
            "Sid": "UseConfigurationSets",
        },
    ]


def test_user_with_address_patterns_gets_a_from_address_condition() -> None:
    template = shared(settings(PATTERN_USER))

    assert send_policy(template) == [
        {
            "Action": SEND,
            "Condition": {
                "StringLike": {
                    "ses:FromAddress": ["alerts@example.eu", "noreply-*@example.eu"]
                }
            },
            "Effect": "Allow",
            "Resource": identity("eu-central-1", "example.eu"),
            "Sid": "SendAsAddresses",
        },
        {
            "Action": SEND,
            "Effect": "Allow",
            "Resource": configuration_set("eu-central-1", "mail-test-example-eu"),
            "Sid": "UseConfigurationSets",
        },
    ]


def test_whole_domain_and_addresses_of_another_domain_get_one_statement_each() -> None:
    user = {
        "name": "mixed",
        "send_as": ["example.com", "ops@example.com", "a@example.net"],
    }
    config = settings(user)
    config["domains"].append({"name": "example.net"})

    statements = send_policy(shared(config))

    assert [s["Sid"] for s in statements] == [
        "SendAsDomains",
        "SendAsAddresses",
        "UseConfigurationSets",
    ]
    assert statements[1]["Condition"] == {
        "StringLike": {"ses:FromAddress": ["a@example.net"]}
    }
    assert statements[1]["Resource"] == identity("us-east-1", "example.net")
    assert statements[2]["Resource"] == [
        configuration_set("us-east-1", "mail-test-example-com"),
        configuration_set("us-east-1", "mail-test-example-net"),
    ]


def test_send_policy_names_the_default_configuration_sets_not_a_wildcard() -> None:
    template = shared(settings(DOMAIN_USER))

    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "UseConfigurationSets",
                                "Resource": configuration_set(
                                    "us-east-1", "mail-test-example-com"
                                ),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_iam_policy_in_the_stack_has_a_bare_wildcard_resource() -> None:
    template = shared(settings(DOMAIN_USER, PATTERN_USER))
    policies = template.find_resources("AWS::IAM::Policy")

    resources = [
        resource
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for resource in _as_list(statement["Resource"])
    ]
    assert len(policies) == 4
    assert "*" not in resources


def handler_statements(template: Template) -> list[dict[str, Any]]:
    statements = Capture()
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("SmtpCredentialsHandlerRole"),
            "PolicyDocument": {"Statement": statements},
        },
    )
    return statements.as_array()


def test_handler_may_manage_only_this_environments_smtp_users_and_secrets() -> None:
    template = shared(settings(DOMAIN_USER, PATTERN_USER))

    by_action = {
        tuple(_as_list(statement["Action"])): statement["Resource"]
        for statement in handler_statements(template)
    }

    key_actions = ("iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys")
    secret_actions = (
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    )
    logs_actions = ("logs:CreateLogStream", "logs:PutLogEvents")
    assert set(by_action) == {key_actions, secret_actions, logs_actions}
    assert by_action[key_actions] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":iam::",
                {"Ref": "AWS::AccountId"},
                ":user/mail-test-smtp-*",
            ],
        ]
    }
    assert by_action[secret_actions] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":secretsmanager:us-east-1:",
                {"Ref": "AWS::AccountId"},
                ":secret:mail/test/smtp/*",
            ],
        ]
    }


def test_removing_one_user_leaves_the_handler_its_rights_to_delete_that_users_key() -> (
    None
):
    # CloudFormation applies the new handler policy before the removed user's
    # Delete runs; a policy naming the remaining users only would deny it.
    both = shared(settings(DOMAIN_USER, PATTERN_USER))
    one = shared(settings(DOMAIN_USER))

    assert handler_statements(one) == handler_statements(both)


def test_secret_uses_the_aws_managed_key_by_default() -> None:
    template = shared(settings(DOMAIN_USER))

    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"Name": "mail/test/smtp/relay", "KmsKeyId": Match.absent()},
    )


def test_secret_uses_the_environments_key_and_the_handler_may_use_it() -> None:
    template = shared(settings(DOMAIN_USER, secrets_kms_key_arn=KMS_KEY))

    template.has_resource_properties(
        "AWS::SecretsManager::Secret", {"KmsKeyId": KMS_KEY}
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": [
                                "kms:Decrypt",
                                "kms:Encrypt",
                                "kms:GenerateDataKey",
                            ],
                            "Effect": "Allow",
                            "Resource": KMS_KEY,
                        }
                    ]
                )
            }
        },
    )


def test_readers_named_in_the_config_may_read_the_secret() -> None:
    user = {**DOMAIN_USER, "readers": [READER]}
    template = shared(settings(user))

    template.resource_count_is("AWS::SecretsManager::ResourcePolicy", 1)
    template.has_resource_properties(
        "AWS::SecretsManager::ResourcePolicy",
        {
            "ResourcePolicy": {
                "Statement": [
                    {
                        "Action": [
                            "secretsmanager:DescribeSecret",
                            "secretsmanager:GetSecretValue",
                        ],
                        "Effect": "Allow",
                        "Principal": {"AWS": READER},
                        "Resource": {"Ref": Match.string_like_regexp("RelaySecret")},
                    }
                ],
                "Version": "2012-10-17",
            }
        },
    )


def test_no_resource_policy_without_readers() -> None:
    template = shared(settings(DOMAIN_USER))

    template.resource_count_is("AWS::SecretsManager::ResourcePolicy", 0)


def test_secret_starts_with_a_placeholder_not_a_generated_value() -> None:
    template = shared(settings(DOMAIN_USER))

    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"SecretString": SECRET_PLACEHOLDER, "GenerateSecretString": Match.absent()},
    )
    assert json.loads(SECRET_PLACEHOLDER) == {
        "status": "pending: written by the Credentials custom resource"
    }


def test_custom_resource_properties_hold_identifiers_only() -> None:
    template = shared(settings({**PATTERN_USER, "rotation": 3}))
    found = template.find_resources("Custom::SmtpCredentials")

    [resource] = found.values()
    properties = resource["Properties"]
    assert set(properties) == {
        "ServiceToken",
        "UserName",
        "SecretArn",
        "SesRegion",
        "Rotation",
    }
    assert properties["UserName"] == {
        "Ref": _logical_id(template, "AlertsUser", "AWS::IAM::User")
    }
    assert properties["SecretArn"] == {"Ref": _logical_id(template, "AlertsSecret")}
    assert properties["SesRegion"] == "eu-central-1"
    assert properties["Rotation"] == "3"


def test_handler_has_no_environment_and_the_framework_only_its_target() -> None:
    template = shared(settings(DOMAIN_USER))

    functions = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
    ]
    environments = sorted(
        (f["Handler"], sorted(f.get("Environment", {}).get("Variables", {})))
        for f in functions
    )
    assert environments == [
        ("framework.onEvent", ["USER_ON_EVENT_FUNCTION_ARN"]),
        ("index.on_event", []),
    ]
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "index.on_event", "Runtime": "python3.14", "Timeout": 120},
    )


def test_resource_counts_for_two_users_share_one_provider() -> None:
    template = shared(settings(DOMAIN_USER, PATTERN_USER))

    template.resource_count_is("AWS::IAM::User", 2)
    template.resource_count_is("AWS::IAM::AccessKey", 0)
    template.resource_count_is("AWS::SecretsManager::Secret", 2)
    template.resource_count_is("Custom::SmtpCredentials", 2)
    template.resource_count_is("AWS::Lambda::Function", 2)
    template.resource_count_is("AWS::Logs::LogGroup", 2)
    template.resource_count_is("AWS::IAM::Role", 2)
    template.resource_count_is("AWS::IAM::Policy", 4)


def test_each_user_outputs_its_secret_arn_and_nothing_secret() -> None:
    template = shared(settings(DOMAIN_USER, PATTERN_USER))

    outputs = template.find_outputs("*")
    assert {name: o["Value"] for name, o in outputs.items()} == {
        "RelaySecretArn": {"Ref": _logical_id(template, "RelaySecret")},
        "AlertsSecretArn": {"Ref": _logical_id(template, "AlertsSecret")},
    }


@pytest.mark.parametrize(
    ("name", "construct_id"),
    [("relay", "Relay"), ("app-relay", "AppRelay"), ("a-b2-c", "AB2C")],
)
def test_construct_id_is_the_name_in_pascal_case(name, construct_id) -> None:
    user = SmtpUserSettings(name=name, send_as=["example.com"])

    assert user.construct_id == construct_id


def test_cloud_assembly_holds_no_secret_bearing_value(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context=CDK_CONTEXT)
    config = make_config(
        settings({**DOMAIN_USER, "readers": [READER]}, PATTERN_USER), "scan"
    )
    build_environment(app, config)
    add_checks(app)
    app.synth()

    text = "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in tmp_path.rglob("*")
        if path.is_file() and "asset." not in str(path.relative_to(tmp_path))
    )
    assert "AWS::IAM::AccessKey" not in text
    assert "SecretAccessKey" not in text
    assert "GenerateSecretString" not in text
    assert not re.search(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])", text)
    assert not re.search(r"(?<![A-Za-z0-9/+=])B[A-Za-z0-9/+]{43}(?![\w/+=])", text)
    assert '"password"' not in text
    shared_template = json.loads(
        (tmp_path / "mail-scan-shared.template.json").read_text()
    )
    secret_strings = [
        resource["Properties"].get("SecretString")
        for resource in shared_template["Resources"].values()
        if resource["Type"] == "AWS::SecretsManager::Secret"
    ]
    assert secret_strings == [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]


def test_handler_asset_is_the_handler_folder_only(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context=CDK_CONTEXT)
    build_environment(app, make_config(settings(DOMAIN_USER), "scan"))
    app.synth()

    handler_assets = [
        sorted(p.name for p in folder.iterdir())
        for folder in tmp_path.glob("asset.*")
        if (folder / "index.py").exists()
    ]
    assert ["index.py", "smtp_password.py"] in [
        [name for name in names if not name.startswith("__")]
        for names in handler_assets
    ]


def test_shared_stack_passes_cdk_nag_with_reasoned_acknowledgements(
    tmp_path: Path,
) -> None:
    app = App(outdir=str(tmp_path), context=CDK_CONTEXT)
    build_environment(
        app,
        make_config(
            settings(DOMAIN_USER, PATTERN_USER, secrets_kms_key_arn=KMS_KEY), "nag"
        ),
    )
    add_checks(app)
    app.synth()

    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = [v for p in report["pluginReports"] for v in p["violations"]]
    acknowledged = {
        s["acknowledgedId"].split("[")[0]: s.get("reason", "")
        for p in report["pluginReports"]
        for s in p.get("suppressedViolations", [])
    }
    assert violations == []
    assert set(acknowledged) == {
        "AwsSolutions::AwsSolutions-IAM4",
        "AwsSolutions::AwsSolutions-IAM5",
    }
    assert all(len(reason) > 40 for reason in acknowledged.values())


def _logical_id(template: Template, prefix: str, resource_type: str = SECRET) -> str:
    [found] = [
        logical_id
        for logical_id in template.find_resources(resource_type)
        if logical_id.startswith(prefix)
    ]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
