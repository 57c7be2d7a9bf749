"""Domain names in their one normal form, and the helpers that compare them."""

from __future__ import annotations

import pytest

from mailcore.names import (
    is_within,
    normalise_address,
    normalise_domain,
    relative_name,
    shortened,
    stack_slug,
)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("example.com", "example.com"),
        (" Example.COM. ", "example.com"),
        ("MAIL.Example.co.uk", "mail.example.co.uk"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c0m", "a-b.c0m"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
    ],
)
def test_a_valid_name_comes_back_in_its_normal_form(given: str, normal: str) -> None:
    assert normalise_domain(given) == normal


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", "expected a domain name such as example.com"),
        (" . ", "expected a domain name such as example.com"),
        ("localhost", "at least two labels"),
        ("a" * 64 + ".com", "label 'a{64}' is not valid"),
        ("my_shop.example", "label 'my_shop' is not valid"),
        ("-shop.example", "label '-shop' is not valid"),
        ("shop-.example", "label 'shop-' is not valid"),
        ("mail..example.com", "label '' is not valid"),
        ("192.0.2.10", "not an IP address"),
        ("bücher.example", r"xn-- \(punycode\) form"),
        (".".join(["a" * 60] * 5), "at most 253 characters"),
    ],
)
def test_an_invalid_name_is_rejected_with_what_was_expected(
    given: str, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        normalise_domain(given)


def test_a_service_label_is_rejected_unless_allowed() -> None:
    with pytest.raises(ValueError, match="label '_dmarc' is not valid"):
        normalise_domain("_dmarc.example.com")

    assert (
        normalise_domain("_DMARC.Example.com", allow_service_labels=True)
        == "_dmarc.example.com"
    )


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        (" Jane.Doe@Team.Example.com ", "jane.doe@team.example.com"),
        ("ops@example.xn--p1ai", "ops@example.xn--p1ai"),
        ("o'brien+tag@example.com.", "o'brien+tag@example.com"),
        ("noreply-*@example.com", "noreply-*@example.com"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ],
)
def test_a_valid_address_comes_back_in_its_normal_form(given: str, normal: str) -> None:
    assert normalise_address(given) == normal


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("support", r"^'support' is not an email address; expected an address"),
        ("@example.com", "not an email address; expected an address"),
        ("jane.@team.example.com", "a dot starts or ends the part before the @"),
        (".support.@example.eu", "a dot starts or ends the part before the @"),
        ("ja..ne@example.com", "two dots follow each other"),
        ("jane doe@example.com", "expected at most 64 letters, digits and"),
        ("a" * 65 + "@example.com", "expected at most 64 letters, digits and"),
        ("jane@localhost", r"^'jane@localhost': expected a domain name with at least"),
        ("jane@bücher.example", r"xn-- \(punycode\) form"),
    ],
)
def test_an_invalid_address_is_rejected_with_what_was_expected(
    given: str, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        normalise_address(given, example="ops@example.com")


def test_the_error_offers_the_callers_example() -> None:
    with pytest.raises(ValueError, match=r"such as dmarc@example\.com$"):
        normalise_address("reports.example.com", example="dmarc@example.com")


@pytest.mark.parametrize(
    ("name", "zone", "within"),
    [
        ("example.com", "example.com", True),
        ("mail.example.com", "example.com", True),
        ("notexample.com", "example.com", False),
        ("example.com", "mail.example.com", False),
    ],
)
def test_a_name_is_within_its_zone_only_at_a_label_boundary(
    name: str, zone: str, within: bool
) -> None:
    assert is_within(name, zone) is within


@pytest.mark.parametrize(
    ("name", "relative"),
    [
        ("example.com", "@"),
        ("mail.example.com", "mail"),
        ("_dmarc.notify.example.com", "_dmarc.notify"),
    ],
)
def test_a_name_relative_to_its_zone_drops_the_zone(name: str, relative: str) -> None:
    assert relative_name(name, "example.com") == relative


def test_a_stack_slug_turns_dots_into_hyphens() -> None:
    assert stack_slug("notify.example.co.uk") == "notify-example-co-uk"


def test_a_text_within_the_limit_is_kept_as_it_is() -> None:
    assert shortened("mail-test-example-com", 64) == "mail-test-example-com"


def test_a_text_over_the_limit_is_cut_to_it_with_a_stable_digest() -> None:
    text = "a" * 70
    other = "a" * 69 + "b"

    cut = shortened(text, 64)

    assert len(cut) == 64
    assert cut.startswith("a" * 55 + "-")
    assert cut == shortened(text, 64)
    assert cut != shortened(other, 64)
