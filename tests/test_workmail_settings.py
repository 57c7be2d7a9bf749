"""The workmail: settings: defaults, normal forms and the checks across them."""

from __future__ import annotations

from typing import Any

import pytest

from mailcore.config import ConfigError
from tests.conftest import make_config

ORG_ID = "m-0123456789abcdef0123456789abcdef"


def environment(**workmail: Any) -> dict[str, Any]:
    return {
        "region": "us-east-1",
        "domains": [{"name": "example.com"}, {"name": "example.org"}],
        "workmail": {
            "region": "us-east-1",
            "organization": {"alias": "Example-Corp"},
            "domains": ["Example.COM.", "example.org"],
            **workmail,
        },
    }


def test_domains_may_be_plain_names_and_the_first_is_the_default() -> None:
    settings = make_config(environment()).workmail

    assert settings is not None
    assert [domain.name for domain in settings.domains] == [
        "example.com",
        "example.org",
    ]
    assert settings.default_domain == "example.com"
    assert settings.organization.alias == "example-corp"
    assert settings.organization.delete_on_remove is False


def test_a_domain_marked_default_wins_over_the_first() -> None:
    settings = make_config(
        environment(domains=["example.com", {"name": "example.org", "default": True}])
    ).workmail

    assert settings is not None
    assert settings.default_domain == "example.org"


def test_an_entity_without_email_gets_its_name_at_the_default_domain() -> None:
    settings = make_config(
        environment(
            users=[{"name": "Jane.Doe", "display_name": "Jane Doe"}],
            groups=[{"name": "support", "email": "Help@Example.org"}],
        )
    ).workmail

    assert settings is not None
    user, group = settings.users[0], settings.groups[0]
    assert settings.email_of(user) == "jane.doe@example.com"
    assert settings.email_of(group) == "help@example.org"
    assert (user.enabled, user.role, user.api_role) == (True, "user", "USER")
    assert user.delete_on_remove is False
    assert user.construct_id == "JaneDoe"


@pytest.mark.parametrize(
    ("adopt", "by_id", "by_alias"),
    [(ORG_ID.upper().replace("M-", "m-"), ORG_ID, None), ("legacy", None, "legacy")],
)
def test_an_organisation_is_adopted_by_id_or_alias(
    adopt: str, by_id: str | None, by_alias: str | None
) -> None:
    settings = make_config(environment(organization={"adopt": adopt})).workmail

    assert settings is not None
    assert settings.organization.adopt_id == by_id
    assert settings.organization.adopt_alias == by_alias


def test_two_names_that_make_the_same_construct_id_are_rejected() -> None:
    with pytest.raises(ConfigError, match=r"workmail\.users\[1\]\.name = 'jane-doe'"):
        make_config(
            environment(
                users=[
                    {"name": "jane.doe", "display_name": "Jane"},
                    {"name": "jane-doe", "display_name": "Jane"},
                ]
            )
        )


def test_a_user_and_a_group_cannot_share_a_name() -> None:
    with pytest.raises(ConfigError, match=r"it is also workmail\.users"):
        make_config(
            environment(
                users=[{"name": "support", "display_name": "Support"}],
                groups=[{"name": "support"}],
            )
        )


def test_a_group_cannot_contain_itself() -> None:
    with pytest.raises(ConfigError, match="other than the group itself"):
        make_config(environment(groups=[{"name": "all", "members": ["all"]}]))


def test_an_environment_without_workmail_has_none() -> None:
    config = environment()
    del config["workmail"]

    assert make_config(config).workmail is None
