"""The smtp_users settings: defaults, normal forms, and one-line mistakes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mailcore.config import ConfigError
from mailcore.smtp_settings import iam_user_name, secret_name
from tests.conftest import make_config

KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


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


def user(**fields: Any) -> dict[str, Any]:
    return {"name": "relay", "send_as": ["example.com"], **fields}


def test_defaults_region_rotation_and_readers() -> None:
    config = make_config(settings(user()))

    [relay] = config.smtp_users
    assert relay.region_in("us-east-1") == "us-east-1"
    assert relay.rotation == 0
    assert relay.readers == []
    assert config.secrets_kms_key_arn is None
    assert iam_user_name(config.app, config.name, relay) == "mail-test-smtp-relay"
    assert secret_name(config.app, config.name, relay) == "mail/test/smtp/relay"


def test_send_as_is_normalised_and_split_into_domains_and_addresses() -> None:
    entries = [
        "Example.COM.",
        "Ops@Example.net",
        "noreply-*@example.net",
        "a@example.com",
    ]
    config = settings(user(send_as=entries))
    config["domains"].append({"name": "example.net"})

    [relay] = make_config(config).smtp_users

    assert relay.send_as == [
        "example.com",
        "Ops@example.net",
        "noreply-*@example.net",
        "a@example.com",
    ]
    assert relay.whole_domains == ["example.com"]
    assert relay.addresses == ["Ops@example.net", "noreply-*@example.net"]
    assert relay.domains == ["example.com", "example.net"]


def test_send_as_keeps_the_local_part_as_written_for_case_sensitive_matching() -> None:
    config = settings(user(send_as=["Alerts@Example.COM", "alerts@example.com"]))

    [relay] = make_config(config).smtp_users

    assert relay.send_as == ["Alerts@example.com", "alerts@example.com"]


def test_no_smtp_users_is_the_default() -> None:
    config = make_config({"region": "us-east-1", "domains": [{"name": "a.org"}]})

    assert config.smtp_users == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"name": "Relay"},
            "smtp_users[0].name = 'Relay': expected 1 to 32 lower-case letters",
        ),
        ({"name": "a--b"}, "smtp_users[0].name = 'a--b': expected 1 to 32"),
        ({"name": "x" * 33}, "smtp_users[0].name = 'xxxxx"),
        ({"rotation": -1}, "smtp_users[0].rotation = -1: expected"),
        ({"rotation": "1"}, "smtp_users[0].rotation = '1': expected a valid integer"),
        ({"rotation": True}, "smtp_users[0].rotation = True: expected"),
        ({"send_as": []}, "smtp_users[0].send_as is empty: expected at least one"),
        (
            {"send_as": ["*@example.com"]},
            "'*@example.com' is not an address or pattern",
        ),
        ({"send_as": ["a@*.example.com"]}, "a pattern may only use * before the @"),
        (
            {"send_as": ["alert?@example.com"]},
            "smtp_users[0].send_as = ['alert?@example.com']: 'alert?@example.com' "
            "has ?, $, { or }, which IAM reads as a wildcard or a policy variable: "
            "expected an address or a pattern using * only",
        ),
        ({"send_as": ["${aws:username}@example.com"]}, "has ?, $, { or }"),
        ({"send_as": ["a{b}@example.com"]}, "has ?, $, { or }"),
        (
            {"send_as": [".@example.com"]},
            "'.@example.com' is not an email address: a dot starts or ends",
        ),
        (
            {"send_as": [".ops@example.com"]},
            "'.ops@example.com' is not an email address",
        ),
        (
            {"send_as": ["ops.@example.com"]},
            "'ops.@example.com' is not an email address",
        ),
        (
            {"send_as": ["o..ps@example.com"]},
            "'o..ps@example.com' is not an email address",
        ),
        (
            {"send_as": ["example.com", "EXAMPLE.com"]},
            "'EXAMPLE.com' is listed twice",
        ),
        ({"readers": ["role/app"]}, "'role/app' is not an IAM principal ARN"),
        ({"ses_region": "Europe"}, "smtp_users[0].ses_region = 'Europe': expected"),
        ({"passwd": "x"}, "smtp_users[0].passwd is not a setting: expected one of"),
    ],
)
def test_malformed_user_is_one_line(changes, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        make_config(settings(user(**changes)))

    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("test.yaml: ")


def test_missing_name_says_what_is_expected() -> None:
    with pytest.raises(
        ConfigError,
        match=r"smtp_users\[0\].name is missing: expected a user name such as",
    ):
        make_config(settings({"send_as": ["example.com"]}))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            settings(user(send_as=["other.org"])),
            r"smtp_users\[0\].send_as\[0\] = 'other.org': other.org is not in "
            "domains: expected",
        ),
        (
            settings(user(send_as=["a@example.com", "b@example.eu"])),
            r"smtp_users\[0\].send_as\[1\] = 'b@example.eu': example.eu sends "
            "through SES in eu-central-1, the user through us-east-1: expected",
        ),
        (
            settings(user(), user(send_as=["example.com"])),
            r"smtp_users\[1\].name = 'relay': expected each SMTP user once; it is "
            r"also smtp_users\[0\]",
        ),
        (
            settings(user(ses_region="xx-west-9")),
            r"smtp_users\[0\].ses_region = 'xx-west-9': expected a region where SES",
        ),
        (
            settings(user(), secrets_kms_key_arn="alias/mail"),
            "secrets_kms_key_arn = 'alias/mail': expected a KMS key ARN",
        ),
        (
            settings(
                user(), secrets_kms_key_arn=KMS_KEY.replace("us-east-1", "eu-west-1")
            ),
            "the key is in eu-west-1: expected a key in the environment's region",
        ),
        (
            settings(
                user(readers=["arn:aws:iam::111122223333:role/app"]),
                account="444455556666",
            ),
            r"smtp_users\[0\].readers\[0\] = .*: a reader in another account cannot "
            "decrypt with the AWS-managed key",
        ),
    ],
    ids=[
        "unknown-domain",
        "domain-of-another-region",
        "duplicate-name",
        "region-without-ses",
        "kms-alias",
        "kms-key-elsewhere",
        "cross-account-reader-with-aws-managed-key",
    ],
)
def test_cross_check_mistake_is_one_line(config, message) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        make_config(config)

    assert "\n" not in str(raised.value)


def test_smtp_users_need_an_environment_region() -> None:
    config = {
        "domains": [{"name": "example.eu", "ses_region": "eu-central-1"}],
        "smtp_users": [{"name": "relay", "send_as": ["example.eu"]}],
    }

    with pytest.raises(
        ConfigError, match="region is missing: expected the environment"
    ):
        make_config(config)


def test_user_region_from_additional_ses_regions_is_accepted() -> None:
    config = settings(additional_ses_regions=["eu-south-3"])
    config["domains"].append({"name": "example.it", "ses_region": "eu-south-3"})
    config["smtp_users"] = [user(ses_region="eu-south-3", send_as=["example.it"])]

    [relay] = make_config(config).smtp_users

    assert relay.region_in("us-east-1") == "eu-south-3"


def test_cross_account_reader_is_accepted_with_a_customer_key() -> None:
    reader = "arn:aws:iam::111122223333:role/app"
    config = settings(
        user(readers=[reader]), account="444455556666", secrets_kms_key_arn=KMS_KEY
    )

    [relay] = make_config(config).smtp_users

    assert relay.readers == [reader]


def test_iam_user_name_over_64_characters_is_one_line() -> None:
    config = {**settings(user(name="r" * 32)), "app": "a" * 20}

    with pytest.raises(
        ConfigError,
        match=r"smtp_users\[0\].name = 'r+': the IAM user name 'a+-staging-europe-"
        r"smtp-r+' is 73 characters: expected at most 64",
    ):
        make_config(config, name="staging-europe")
