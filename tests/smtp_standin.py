"""An SES SMTP stand-in on loopback for the send-test and doctor tests (aiosmtpd).

Like the SES SMTP interface it requires STARTTLS before AUTH (or speaks TLS from
the first byte, as on port 465), accepts one user name and password, and can
refuse every message with SES's 554 reply for an unverified address.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.dns_server import free_port

UNVERIFIED_REPLY = (
    "554 Message rejected: Email address is not verified. The following "
    "identities failed the check in region US-EAST-1: sender@example.com"
)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class _Handler:
    reject: str | None = None
    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject:
            return self.reject
        self.messages.append(envelope.content)
        return "250 Ok 0100018c-test"


class SesStandIn:
    """An SMTP server on 127.0.0.1 that behaves like the SES SMTP interface."""

    def __init__(
        self,
        *,
        certificate: tuple[Path, Path],
        username: str,
        password: str,
        implicit_tls: bool = False,
        reject: str | None = None,
    ) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*map(str, certificate))
        self.handler = _Handler(reject=reject)
        self.logins: list[str] = []
        self.port = free_port()

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            self.logins.append(data.login.decode())
            ok = data.login.decode() == username and data.password.decode() == password
            return AuthResult(success=ok, handled=False)

        options: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "server_hostname": "localhost",
            "authenticator": authenticate,
            "auth_required": True,
            "auth_require_tls": True,
        }
        if implicit_tls:
            options["ssl_context"] = context
        else:
            options["tls_context"] = context
            options["require_starttls"] = True
        self._controller = Controller(self.handler, **options)
        self._controller.start()

    @property
    def messages(self) -> list[bytes]:
        return self.handler.messages

    def stop(self) -> None:
        self._controller.stop()
