"""``mailctl send-test``: one message through the SES SMTP interface, explained.

The dialogue is shown as it happens, except what must stay secret: the AUTH
command is shown as its mechanism only and every line the client sends while
authenticating is masked. The password is never printed, logged or put in an
exception message.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import socket
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, TextIO

from mailcore.regions import SES_REGIONS, smtp_endpoint
from mailcore.smtp_settings import secret_name
from mailctl.common import (
    ENVIRONMENTS,
    AwsError,
    UsageError,
    aws_client,
    check_timeout,
    load_environment,
    read_hidden,
    tls_context,
)

__all__ = ["Credentials", "add_parser", "explain", "send"]

_HELP = """\
Send one test message through the SES SMTP interface with STARTTLS and AUTH,
and show the SMTP dialogue (the AUTH line and password are masked).

Credentials come from one of:
  --secret NAME       a Secrets Manager secret of an SMTP user: JSON with
                      username, password, host, port and region, as the stacks
                      write it (read with your AWS credentials)
  --env ENV --smtp-user NAME
                      the same secret, found from the environment's settings
  --username KEY_ID   an SMTP user name (the IAM access key id); the password is
                      asked for without echo; give --region or --host

The usual failures are explained: 535 (a password of another region, or of a
key that was rotated), 554 (sender not verified, or the account is in the
sandbox and the recipient is not verified) and timeouts (port 25 from EC2).

Examples:
  python -m mailctl send-test --from noreply@example.eu --to you@example.org \\
      --env production --smtp-user eu-relay
  python -m mailctl send-test --from a@example.com --to b@example.com \\
      --username AKIA... --region us-east-1

Exit status: 0 sent, 1 the server or network refused, 2 bad input.
"""

_MASK = "********"
# Ports where SES speaks TLS from the first byte, which this client does not.
_TLS_PORTS = (465, 2465)
_PASSWORD_EXPECTED = (
    "an SES SMTP password (44 characters of A-Z, a-z, 0-9, + and /, starting with B)"
)


@dataclass(frozen=True)
class Credentials:
    """Where and as whom to log in; ``repr`` never shows the password."""

    username: str
    password: str
    host: str
    port: int
    region: str | None

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, host={self.host!r})"


class _Dialogue(smtplib.SMTP):
    """smtplib's client, writing each line it sends and receives to ``out``."""

    def __init__(self, *, out: TextIO, **kwargs: Any) -> None:
        self._out = out
        self._authenticating = False
        super().__init__(**kwargs)

    def putcmd(self, cmd: str, args: str = "") -> None:
        if cmd.lower() == "auth":
            mechanism = args.split()[0] if args else ""
            self._show("C", f"AUTH {mechanism} {_MASK}")
            self._authenticating = True
        elif self._authenticating:
            self._show("C", _MASK)
        else:
            self._show("C", f"{cmd} {args}".strip())
        super().putcmd(cmd, args)

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()
        if code != 334:
            self._authenticating = False
        lines = message.decode("utf-8", "replace").splitlines() or [""]
        for line in lines:
            self._show("S", f"{code} {line}".rstrip())
        return code, message

    def _show(self, who: str, text: str) -> None:
        self._out.write(f"{who}: {text}\n")
        self._out.flush()


def add_parser(commands: Any) -> None:
    """Register ``send-test`` on the ``mailctl`` subcommands."""
    parser = commands.add_parser(
        "send-test",
        help="send one message through the SES SMTP endpoint and explain failures",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--from",
        dest="sender",
        required=True,
        metavar="ADDRESS",
        help="the sender; its address or domain must be verified in SES",
    )
    parser.add_argument(
        "--to",
        dest="recipient",
        required=True,
        metavar="ADDRESS",
        help="the recipient; in the sandbox it must be verified too",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--secret", metavar="NAME", help="Secrets Manager secret name or ARN"
    )
    source.add_argument(
        "--smtp-user", metavar="NAME", help="an smtp_users name of --env"
    )
    source.add_argument(
        "--username", metavar="KEY_ID", help="SMTP user name; password prompted"
    )
    parser.add_argument("--env", metavar="NAME", help="the environment of --smtp-user")
    parser.add_argument(
        "--environments",
        type=Path,
        default=ENVIRONMENTS,
        metavar="DIR",
        help="the folder of environment files (default: environments/)",
    )
    parser.add_argument(
        "--secret-region",
        metavar="REGION",
        help="the region of the secret (default: the environment's region, or "
        "your AWS configuration's)",
    )
    parser.add_argument(
        "--region",
        metavar="REGION",
        help="the SES region, for --username (the endpoint is "
        "email-smtp.REGION.amazonaws.com)",
    )
    parser.add_argument(
        "--host", help="connect here instead (default: from the secret or --region)"
    )
    parser.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help="a STARTTLS port: 587, 2587 or 25 (default: the secret's, else 587)",
    )
    parser.add_argument(
        "--subject", default="mailctl send-test", help="the message's subject"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="default: 10"
    )
    parser.add_argument(
        "--cafile",
        type=Path,
        metavar="FILE",
        help="trust the certificates in FILE instead of the system's CA bundle",
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Resolve the credentials, send, and explain; return the exit status."""
    _check_arguments(arguments)
    context = tls_context("--cafile", arguments.cafile)
    message = _message(arguments.sender, arguments.recipient, arguments.subject)
    credentials = _credentials(arguments)
    problem = send(
        credentials,
        message,
        context=context,
        timeout=arguments.timeout,
        out=sys.stdout,
    )
    if problem:
        sys.stderr.write(f"mailctl send-test: {problem}\n")
        return 1
    sys.stdout.write(
        f"sent: {arguments.sender} -> {arguments.recipient} through "
        f"{credentials.host}:{credentials.port}\n"
    )
    return 0


def send(
    credentials: Credentials,
    message: EmailMessage,
    *,
    context: ssl.SSLContext,
    timeout: float,
    out: TextIO,
) -> str | None:
    """Send ``message``; return None, or one line saying what went wrong and why."""
    where = f"{credentials.host}:{credentials.port}"
    # NOTE: STARTTLS only; TLS from the first byte (465, 2465) is checked by
    # doctor but not sent through here (README, "Known limitations").
    try:
        with _Dialogue(
            out=out, host=credentials.host, port=credentials.port, timeout=timeout
        ) as client:
            client.ehlo()
            if not client.has_extn("starttls"):
                return f"{where} does not offer STARTTLS: expected an SES SMTP port"
            client.starttls(context=context)
            client.ehlo()
            client.login(credentials.username, credentials.password)
            out.write(f"C: (message of {len(message.as_bytes())} bytes)\n")
            client.send_message(message)
    except smtplib.SMTPResponseException as error:
        return explain(error.smtp_code, _text(error.smtp_error), credentials)
    except smtplib.SMTPRecipientsRefused as error:
        code, text = next(iter(error.recipients.values()))
        return explain(code, _text(text), credentials)
    except ssl.SSLCertVerificationError as error:
        return f"{where}: the certificate is not trusted ({error.verify_message})"
    except TimeoutError:
        return _timeout(where)
    except smtplib.SMTPServerDisconnected as error:
        if isinstance(error.__context__, TimeoutError):
            return _timeout(where)
        return f"{where} closed the connection: {error}"
    except socket.gaierror:
        return f"{credentials.host} does not resolve: expected an SES SMTP host"
    except (smtplib.SMTPException, OSError) as error:
        return f"{where}: {type(error).__name__}: {error}"
    return None


def _timeout(where: str) -> str:
    return (
        f"no answer from {where} within the timeout. On EC2, port 25 is "
        "throttled: use 587 or 2587. Otherwise a security group, network ACL, "
        "proxy or firewall blocks outbound traffic to this port"
    )


def explain(code: int, text: str, credentials: Credentials) -> str:
    """The server's reply with the usual reason for it."""
    reply = f"{code} {text}".strip()
    region = credentials.region or "its region"
    if code == 535:
        explanation = (
            f"{reply}: authentication failed. An SES SMTP password works in one "
            f"region only: it must be derived for the region of {credentials.host} "
            f"({region}); or the access key was rotated or deactivated and the "
            "password is stale: read the secret again"
        )
        if not _looks_like_smtp_password(credentials.password):
            explanation += (
                ". The password given is not 44 characters starting with B: is "
                "it the SMTP password, not the secret access key? (python -m "
                "mailctl smtp-password derives one)"
            )
        return explanation
    if code == 554:
        return (
            f"{reply}: SES refused the message. The From address or its domain "
            f"is not a verified identity in {region}, or the account is in the "
            f"SES sandbox there and the recipient is not verified either"
        )
    return f"the server refused: {reply}"


def _looks_like_smtp_password(password: str) -> bool:
    # Base64 of a version byte 0x04 and a 32-byte HMAC: 44 characters from "B".
    return len(password) == 44 and password.startswith("B")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _message(sender: str, recipient: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = recipient
        message["Subject"] = subject
    except ValueError as error:
        raise UsageError(f"the message headers: {error}") from None
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(
        "A test message sent by mailctl send-test through the SES SMTP interface.\n"
    )
    return message


def _check_arguments(arguments: argparse.Namespace) -> None:
    for flag, value in (("--from", arguments.sender), ("--to", arguments.recipient)):
        if "@" not in value or value.startswith("@") or value.endswith("@"):
            raise UsageError(f"{flag} {value!r}: expected an email address")
    for flag, value in (
        ("--from", arguments.sender),
        ("--to", arguments.recipient),
        ("--subject", arguments.subject),
    ):
        if "\n" in value or "\r" in value:
            raise UsageError(f"{flag} {value!r}: expected one line, without breaks")
    if arguments.port is not None and not 0 < arguments.port < 65536:
        raise UsageError(f"--port {arguments.port}: expected 1 to 65535")
    if arguments.port in _TLS_PORTS:
        raise UsageError(
            f"--port {arguments.port}: send-test speaks STARTTLS only; use 587 or 2587"
        )
    check_timeout("--timeout", arguments.timeout)
    if arguments.region is not None:
        arguments.region = arguments.region.strip().lower()
        if arguments.region not in SES_REGIONS:
            raise UsageError(
                f"--region {arguments.region!r}: expected a region where SES "
                "offers SMTP, such as eu-west-1"
            )
    if arguments.username and not (arguments.region or arguments.host):
        raise UsageError(
            "--username needs --region (or --host): expected the SES region "
            "the password was derived for, such as eu-west-1"
        )


def _credentials(arguments: argparse.Namespace) -> Credentials:
    if arguments.username:
        password = read_hidden(
            f"SMTP password of {arguments.username}: ", _PASSWORD_EXPECTED
        )
        if not password:
            raise UsageError(f"no password was given: expected {_PASSWORD_EXPECTED}")
        if not password.isascii():
            # The character and its position stay out of the message: they
            # are part of a secret.
            raise UsageError(
                "the password holds a character that is not ASCII: expected "
                f"{_PASSWORD_EXPECTED}"
            )
        return Credentials(
            username=arguments.username,
            password=password,
            host=arguments.host or smtp_endpoint(arguments.region),
            port=arguments.port or 587,
            region=arguments.region,
        )

    name, region = _secret_location(arguments)
    stored = _read_secret(name, region)
    return Credentials(
        username=stored["username"],
        password=stored["password"],
        host=arguments.host or stored["host"],
        port=arguments.port or stored["port"],
        region=stored["region"],
    )


def _secret_location(arguments: argparse.Namespace) -> tuple[str, str | None]:
    if arguments.secret:
        return arguments.secret, arguments.secret_region
    if not arguments.env:
        raise UsageError("--smtp-user needs --env: expected the environment's name")
    config = load_environment(arguments)
    for user in config.smtp_users:
        if user.name == arguments.smtp_user:
            name = secret_name(config.app, config.name, user)
            return name, arguments.secret_region or config.region
    known = ", ".join(user.name for user in config.smtp_users) or "(none)"
    raise UsageError(
        f"--smtp-user {arguments.smtp_user!r} is not in environment "
        f"{config.name!r}: expected one of {known}"
    )


def _read_secret(name: str, region: str | None) -> dict[str, Any]:
    client = aws_client("secretsmanager", region)
    try:
        text = client.get_secret_value(SecretId=name)["SecretString"]
    except Exception as error:
        response = getattr(error, "response", None)
        code = (
            response["Error"].get("Code", "Error")
            if isinstance(response, dict) and "Error" in response
            else type(error).__name__
        )
        raise AwsError(
            f"secretsmanager:GetSecretValue {name!r} failed: {code}"
        ) from None
    try:
        stored = json.loads(text)
    except ValueError:
        stored = None
    fields = ("username", "password", "host", "port", "region")
    if not isinstance(stored, dict) or any(field not in stored for field in fields):
        raise AwsError(
            f"secret {name!r} does not hold SMTP credentials yet: expected JSON "
            f"with {', '.join(fields)} (is the stack deployed?)"
        )
    for field in ("username", "password", "host", "region"):
        if not isinstance(stored[field], str) or not stored[field].isascii():
            raise AwsError(
                f"secret {name!r}: {field} is not ASCII text: expected the JSON "
                "the stacks write"
            )
    port = stored["port"]
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise AwsError(
            f"secret {name!r}: port {stored['port']!r} is not a port number: "
            "expected 1 to 65535, such as 587"
        )
    return {**stored, "port": port}
