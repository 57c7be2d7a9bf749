"""A real Postfix relay on loopback and an SES stand-in, for tests and benchmarks.

The relay is configured by :func:`mailcore.postfix.render`, the renderer the EC2
user data uses, with only addresses, ports, paths and the CA changed. It runs as
a private instance (its own config, queue and data directories in a temporary
folder, listening on 127.0.0.1 at a free high port), so the machine's own Postfix
and port 25 are never touched. The stand-in is aiosmtpd requiring STARTTLS and
AUTH, with a certificate from a CA generated here. The instance metadata service
has a stand-in too, answering IMDSv2 requests only.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailcore import relay_boot
from mailcore.postfix import PostfixFiles, render

__all__ = [
    "LOOPBACK",
    "OUTSIDE",
    "MetadataStandIn",
    "PostfixRelay",
    "SesStandIn",
    "TestCa",
    "free_port",
    "postfix_missing",
]

LOOPBACK = "127.0.0.1"
OUTSIDE = "127.0.0.2"
"""A loopback address outside the relay's mynetworks (127.0.0.1/32)."""

# What the relay's secret would hold; the password has SES's shape.
SECRET = {
    "username": "AKIAEXAMPLERELAY0001",
    "password": "B" + "relay+pass/word" * 2 + "x" * 13,
    "host": "email-smtp.eu-west-1.amazonaws.com",
    "port": 587,
    "region": "eu-west-1",
}
SECRET_ID = "mail/test/smtp/relay"
SUBMISSION = {"username": "client", "password": "submission-password-0123456789"}
SUBMISSION_ID = "mail/test/relay/submission"

# Stands in for the AWS CLI: prints the SecretString of --secret-id from a file,
# and writes down any other call (one JSON list of arguments a line).
_FAKE_AWS = """#!{python}
import json, pathlib, sys
arguments = sys.argv[1:]
if "--secret-id" not in arguments:
    with open({calls!r}, "a") as calls:
        calls.write(json.dumps(arguments) + "\\n")
    sys.exit(0)
secret_id = arguments[arguments.index("--secret-id") + 1]
folder = pathlib.Path({folder!r})
sys.stdout.write((folder / secret_id.replace("/", "_")).read_text())
"""


def postfix_missing() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    for command in ("postfix", "postmap", "postqueue"):
        if shutil.which(command) is None:
            return f"{command} is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class TestCa:
    """A CA and a server certificate for 127.0.0.1, as PEM files in ``directory``."""

    __test__ = False

    def __init__(self, directory: Path) -> None:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Relay test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        server = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
            )
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
                ),
                False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file = directory / "ca.pem"
        self.cert_file = directory / "server.pem"
        self.key_file = directory / "server.key"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        for path in (self.ca_file, self.cert_file, self.key_file):
            path.chmod(0o644)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass
class Received:
    """One message as the stand-in took it, with how the sender got there."""

    mail_from: str
    recipients: list[str]
    content: bytes
    tls: bool
    login: str | None


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.authenticated else None
        with self.arrived:
            self.messages.append(
                Received(
                    mail_from=envelope.mail_from,
                    recipients=list(envelope.rcpt_tos),
                    content=envelope.original_content or envelope.content,
                    tls=session.ssl is not None,
                    login=login,
                )
            )
            self.arrived.notify_all()
        return "250 Ok: queued as standin"


class _TrackingController(Controller):
    """aiosmtpd's controller, closing the connections it still holds on stop.

    Without this a connection Postfix keeps open (its connection cache) is
    left to the garbage collector, which warns about an unclosed transport.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.protocols: list[Any] = []

    def factory(self) -> Any:
        protocol = super().factory()
        self.protocols.append(protocol)
        return protocol

    def stop(self, no_assert: bool = False) -> None:
        def close_all() -> None:
            for protocol in self.protocols:
                for transport in (protocol.transport, protocol._original_transport):
                    if transport is not None:
                        transport.abort()

        if self.loop.is_running():
            done = threading.Event()
            self.loop.call_soon_threadsafe(lambda: (close_all(), done.set()))
            done.wait(5)
        super().stop(no_assert=no_assert)


class SesStandIn:
    """SES's SMTP endpoint played by aiosmtpd on loopback: STARTTLS, then AUTH.

    ``accept_credentials`` decides whether AUTH succeeds for the secret's user
    name and password; ``starttls=False`` offers no STARTTLS at all, and then
    offers AUTH in clear and takes mail without it.
    """

    def __init__(
        self,
        ca: TestCa,
        *,
        port: int | None = None,
        starttls: bool = True,
        accept_credentials: bool = True,
    ) -> None:
        self.port = port or free_port()
        self.accept_credentials = accept_credentials
        self.attempts: list[tuple[str, bool]] = []
        self.handler = _Handler()
        self._controller = _TrackingController(
            self.handler,
            hostname=LOOPBACK,
            port=self.port,
            tls_context=ca.server_context() if starttls else None,
            require_starttls=starttls,
            # Without STARTTLS it takes AUTH and even mail in clear: a trap
            # that a careful client never walks into.
            auth_required=starttls,
            auth_require_tls=starttls,
            authenticator=self._authenticate,
            ready_timeout=10,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.attempts.append((login, session.ssl is not None))
        ok = (
            self.accept_credentials
            and login == SECRET["username"]
            and password == SECRET["password"]
        )
        if not ok:
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 Authentication failed"
            )
        return AuthResult(success=True, auth_data=data)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> SesStandIn:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """The messages once ``count`` have arrived; raise after ``timeout`` s."""
        with self.handler.arrived:
            arrived = self.handler.arrived.wait_for(
                lambda: len(self.handler.messages) >= count, timeout
            )
        if not arrived:
            raise TimeoutError(f"{len(self.messages)} of {count} messages arrived")
        return self.messages


class PostfixRelay:
    """A private Postfix instance rendered for loopback, relaying to ``upstream``.

    Call :meth:`stop` (or use it as a context manager); the folder is removed.
    """

    def __init__(
        self, ca: TestCa, *, upstream_port: int, submission_auth: bool = False
    ) -> None:
        reason = postfix_missing()
        if reason:
            raise RuntimeError(reason)
        # Postfix's daemons run as the postfix user: every folder on the way to
        # the queue must be searchable by it, which pytest's tmp_path is not.
        self.directory = Path(tempfile.mkdtemp(prefix="relay-postfix-"))
        self.directory.chmod(0o755)
        self.port = free_port()
        self.submission_port = free_port() if submission_auth else None
        listen = [f"{LOOPBACK}:{self.port}"]
        if self.submission_port:
            listen.append(f"{LOOPBACK}:{self.submission_port}")
        self.files: PostfixFiles = render(
            relay_host=LOOPBACK,
            relay_port=upstream_port,
            mynetworks=[f"{LOOPBACK}/32"],
            os_flavour="debian",
            listen=listen,
            submission_auth=submission_auth,
            config_directory=str(self.directory),
            queue_directory=str(self.directory / "queue"),
            data_directory=str(self.directory / "data"),
            maillog_file=str(self.directory / "maillog"),
            ca_file=str(ca.ca_file),
            myhostname="relay.test",
            server_cert=(str(ca.cert_file), str(ca.key_file)),
        )
        (self.directory / "main.cf").write_text(self.files.main_cf)
        (self.directory / "master.cf").write_text(self.files.master_cf)
        (self.directory / "queue").mkdir(mode=0o755)
        (self.directory / "data").mkdir(mode=0o700)
        shutil.chown(self.directory / "data", user="postfix")
        if self.files.smtpd_conf_path and self.files.smtpd_conf:
            Path(self.files.smtpd_conf_path).parent.mkdir(mode=0o755)
            Path(self.files.smtpd_conf_path).write_text(self.files.smtpd_conf)
        self._fake_aws()
        self.store_secret(SECRET_ID, SECRET)
        self.credentials_script = relay_boot.credentials_script(
            files=self.files,
            secret_id=SECRET_ID,
            region="eu-west-1",
            config_directory=str(self.directory),
        )
        self.run_boot_script(self.credentials_script)
        # Where the instance's other scripts find relay-credentials.
        self.credentials_command = str(self._bin / "relay-credentials")
        Path(self.credentials_command).write_text(self.credentials_script)
        Path(self.credentials_command).chmod(0o755)
        if submission_auth:
            self.store_secret(SUBMISSION_ID, SUBMISSION)
            self.run_boot_script(
                relay_boot.submission_users_script(
                    files=self.files,
                    secret_id=SUBMISSION_ID,
                    region="eu-west-1",
                    config_directory=str(self.directory),
                )
            )

    def _fake_aws(self) -> None:
        self._bin = self.directory / "bin"
        self._secrets = self.directory / "secrets"
        self._bin.mkdir()
        self._secrets.mkdir(mode=0o700)
        aws = self._bin / "aws"
        self._calls = self.directory / "aws-calls"
        aws.write_text(
            _FAKE_AWS.format(
                python=sys.executable,
                folder=str(self._secrets),
                calls=str(self._calls),
            )
        )
        aws.chmod(0o755)

    def aws_calls(self) -> list[list[str]]:
        """The AWS CLI's arguments for each call other than reading a secret."""
        if not self._calls.exists():
            return []
        return [json.loads(line) for line in self._calls.read_text().splitlines()]

    def store_secret(self, secret_id: str, value: dict[str, Any]) -> None:
        """What Secrets Manager would answer for ``secret_id``."""
        (self._secrets / secret_id.replace("/", "_")).write_text(json.dumps(value))

    def run_boot_script(self, script: str) -> str:
        """Run a script the user data installs, with the fake AWS CLI on PATH."""
        path = self.directory / "script.py"
        path.write_text(script)
        result = subprocess.run(
            [sys.executable, str(path)],
            env={**os.environ, "PATH": f"{self._bin}:{os.environ['PATH']}"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        path.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"boot script failed: {result.stderr.strip()}")
        return result.stdout

    def postfix_command(self, command: str, *args: str) -> str:
        result = subprocess.run(
            [command, "-c", str(self.directory), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{command} {' '.join(args)}: {result.stderr.strip()}\n{self.log()}"
            )
        return result.stdout

    def start(self) -> PostfixRelay:
        self.postfix_command("postfix", "start")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the relay does not listen on {self.port}\n{self.log()}")

    def stop(self) -> None:
        pid_file = self.directory / "queue" / "pid" / "master.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = None
        try:
            self.postfix_command("postfix", "stop")
            if pid is not None:
                self._wait_for_exit(pid)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    @staticmethod
    def _wait_for_exit(pid: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def __enter__(self) -> PostfixRelay:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def queue(self) -> list[dict[str, Any]]:
        """The queued messages, as ``postqueue -j`` lists them."""
        output = self.postfix_command("postqueue", "-j")
        return [json.loads(line) for line in output.splitlines() if line.strip()]

    def flush(self) -> None:
        self.postfix_command("postqueue", "-f")

    def log(self) -> str:
        path = self.directory / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.1)
        raise TimeoutError(f"{text!r} not in the relay's log:\n{self.log()}")


class MetadataStandIn:
    """The instance metadata service on loopback, answering IMDSv2 requests only.

    A ``PUT /latest/api/token`` gets a token; a ``GET`` under
    ``/latest/meta-data/`` without it gets 401, as with ``HttpTokens: required``.
    ``lifecycle_state`` is what ``autoscaling/target-lifecycle-state`` reads.
    """

    TOKEN = "imds-token-for-tests"

    def __init__(self, *, instance_id: str, lifecycle_state: str = "InService") -> None:
        self.instance_id = instance_id
        self.lifecycle_state = lifecycle_state
        self.refused: list[str] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                if self.path == "/latest/api/token" and self.headers.get(
                    "X-aws-ec2-metadata-token-ttl-seconds"
                ):
                    self._answer(200, stand_in.TOKEN)
                else:
                    self._answer(400, "")

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") != stand_in.TOKEN:
                    stand_in.refused.append(self.path)
                    self._answer(401, "")
                    return
                items = {
                    "/latest/meta-data/instance-id": stand_in.instance_id,
                    "/latest/meta-data/autoscaling/target-lifecycle-state": (
                        stand_in.lifecycle_state
                    ),
                }
                if self.path in items:
                    self._answer(200, items[self.path])
                else:
                    self._answer(404, "")

            def _answer(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever)

    def start(self) -> MetadataStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
