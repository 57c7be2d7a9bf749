"""Custom resource: the IAM access key of one SMTP user, kept as SMTP credentials.

Called by the CDK provider framework; returning succeeds, raising fails. The
physical resource id is the access key id, so a new key is a new physical id and
CloudFormation deletes the old key in its cleanup phase, after the stack update
has succeeded:

- Create: make a key, write ``username``, ``password``, ``host``, ``port`` and
  ``region`` to the secret. Keys the secret does not name are left-overs of an
  earlier attempt (the user is new) and are deleted first; a retried Create whose
  secret already names a live key for the same region returns that key.
- Update: a changed ``Rotation``, ``SesRegion`` or ``UserName``, or a secret whose
  key is gone, makes a new key; anything else keeps the key and the secret.
- Delete: delete the key named by the physical id; succeed if it is gone. When
  the secret names that key and its previous version names another live key of
  the user, a rotation is being rolled back: the previous version becomes
  current again and only this key goes. Otherwise, when the secret names that
  key, the credentials themselves are going away, so other keys of the user go
  too (IAM cannot delete a user that has keys).

IAM allows two keys per user. When a new key is needed and the user is at that
limit, keys the secret does not name are deleted, oldest first; the key the
secret names, whatever its region, is never deleted to make room.

The secret access key exists only in this process: it is turned into the SMTP
password and dropped. Logs are JSON lines carrying the action and identifiers,
never an event, a property bag, a key, a password or the response URL.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError
from smtp_password import smtp_password

__all__ = ["JsonLineFormatter", "on_event"]

SMTP_PORT = 587
KEYS_PER_USER = 2

_ACCESS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_LOG_FIELDS = (
    "action",
    "request_id",
    "logical_id",
    "user",
    "access_key_id",
    "secret_arn",
    "error_code",
    "reason",
)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: level, message and the identifier fields set."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _LOG_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        return json.dumps(line)


def _logger() -> logging.Logger:
    logger = logging.getLogger("smtp_credentials")
    if not any(isinstance(h.formatter, JsonLineFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLineFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # The Lambda runtime puts a plain-text handler on the root logger.
        logger.propagate = False
    return logger


LOGGER = _logger()


class _Request:
    """What one event asks for, and the clients and log context to do it with."""

    def __init__(self, event: dict[str, Any], context: Any) -> None:
        properties = event["ResourceProperties"]
        self.action = str(event["RequestType"])
        self.user = str(properties["UserName"])
        self.secret_arn = str(properties["SecretArn"])
        self.region = str(properties["SesRegion"])
        self.rotation = str(properties.get("Rotation", "0"))
        self.physical_id = event.get("PhysicalResourceId")
        self.old = event.get("OldResourceProperties") or {}
        self.iam = boto3.client("iam")
        self.secrets = boto3.client("secretsmanager")
        self._log_context = {
            "action": self.action,
            "request_id": getattr(context, "aws_request_id", None),
            "logical_id": event.get("LogicalResourceId"),
            "user": self.user,
            "secret_arn": self.secret_arn,
        }

    def log(self, level: int, message: str, **fields: str | None) -> None:
        LOGGER.log(level, message, extra={**self._log_context, **fields})

    def access_keys(self) -> list[str]:
        """The user's access key ids, oldest first; none if the user is gone."""
        try:
            listed = self.iam.list_access_keys(UserName=self.user)["AccessKeyMetadata"]
        except ClientError as error:
            if _code(error) == "NoSuchEntity":
                return []
            raise
        listed.sort(key=lambda key: key["CreateDate"])
        return [key["AccessKeyId"] for key in listed]

    def delete_key(self, key_id: str) -> None:
        try:
            self.iam.delete_access_key(UserName=self.user, AccessKeyId=key_id)
        except ClientError as error:
            if _code(error) != "NoSuchEntity":
                raise
            self.log(logging.INFO, "access key already gone", access_key_id=key_id)
            return
        self.log(logging.INFO, "access key deleted", access_key_id=key_id)

    def _secret_value(self, stage: str = "AWSCURRENT") -> tuple[str, dict] | None:
        """The version id and JSON object of the secret at ``stage``, if any."""
        try:
            text = self.secrets.get_secret_value(
                SecretId=self.secret_arn, VersionStage=stage
            )
        except ClientError as error:
            code = _code(error)
            if code == "ResourceNotFoundException" and (
                self.action == "Delete" or stage != "AWSCURRENT"
            ):
                return None
            raise
        try:
            value = json.loads(text.get("SecretString") or "")
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        return str(text["VersionId"]), value

    def named_key(self, stage: str = "AWSCURRENT") -> str | None:
        """The access key id the secret names at ``stage``, whatever its region."""
        found = self._secret_value(stage)
        if found is None or not found[1].get("password"):
            return None
        username = found[1].get("username")
        return username if isinstance(username, str) else None

    def key_in_secret(self) -> str | None:
        """The access key id of complete credentials for this region, if any."""
        found = self._secret_value()
        if found is None or found[1].get("region") != self.region:
            return None
        return self.named_key()

    def restore_previous(self, key_id: str) -> bool:
        """Make the secret's previous version current again, if it names a live key.

        Used when the key the secret names is deleted while an older key of the
        same user survives: a rotation rolled back. Returns whether it did.
        """
        previous = self.named_key("AWSPREVIOUS")
        current = self._secret_value()
        previous_found = self._secret_value("AWSPREVIOUS")
        if (
            previous is None
            or previous == key_id
            or current is None
            or previous_found is None
            or previous not in self.access_keys()
        ):
            return False
        self.secrets.update_secret_version_stage(
            SecretId=self.secret_arn,
            VersionStage="AWSCURRENT",
            MoveToVersionId=previous_found[0],
            RemoveFromVersionId=current[0],
        )
        self.log(
            logging.INFO,
            "secret put back to the previous access key",
            access_key_id=previous,
        )
        return True

    def issue_key(self, keep: str | None) -> str:
        """Make a key, write its credentials to the secret, return its id.

        At the per-user limit, keys other than ``keep`` are deleted first. If
        writing the secret fails, the new key is deleted before the error is
        raised again, so a failed request leaves no key behind.
        """
        keys = self.access_keys()
        for stale in [key for key in keys if key != keep]:
            if len(keys) < KEYS_PER_USER:
                break
            self.log(
                logging.WARNING,
                "user is at the access key limit; deleting a key the secret "
                "does not name",
                access_key_id=stale,
            )
            self.delete_key(stale)
            keys.remove(stale)

        created = self.iam.create_access_key(UserName=self.user)["AccessKey"]
        key_id = created["AccessKeyId"]
        self.log(logging.INFO, "access key created", access_key_id=key_id)
        try:
            credentials = {
                "username": key_id,
                "password": smtp_password(created.pop("SecretAccessKey"), self.region),
                "host": f"email-smtp.{self.region}.amazonaws.com",
                "port": SMTP_PORT,
                "region": self.region,
            }
            self.secrets.put_secret_value(
                SecretId=self.secret_arn, SecretString=json.dumps(credentials)
            )
        except Exception as error:
            self.log(
                logging.ERROR,
                "writing the secret failed; deleting the new access key",
                access_key_id=key_id,
                error_code=_code(error),
            )
            self.delete_key(key_id)
            raise
        self.log(logging.INFO, "secret updated", access_key_id=key_id)
        return key_id


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point of the provider framework's onEvent handler."""
    request = _Request(event, context)
    request.log(logging.INFO, "request received", access_key_id=request.physical_id)
    try:
        if request.action == "Create":
            key_id = _create(request)
        elif request.action == "Update":
            key_id = _update(request)
        elif request.action == "Delete":
            key_id = _delete(request)
        else:
            raise ValueError(f"unknown RequestType {request.action!r}")
    except Exception as error:
        request.log(logging.ERROR, "request failed", error_code=_code(error))
        raise
    request.log(logging.INFO, "request done", access_key_id=key_id)
    return {"PhysicalResourceId": key_id, "Data": {"AccessKeyId": key_id}}


def _create(request: _Request) -> str:
    current = request.key_in_secret()
    keys = request.access_keys()
    if current in keys:
        # A retried Create whose first attempt finished writing the secret.
        request.log(logging.INFO, "secret already complete", access_key_id=current)
        for key in keys:
            if key != current:
                request.delete_key(key)
        return current

    # The user is new: any key it has comes from an attempt that never wrote
    # the secret, and its secret key is lost.
    for key in keys:
        request.delete_key(key)
    return request.issue_key(keep=None)


def _update(request: _Request) -> str:
    current = request.key_in_secret()
    changed = [
        name
        for name, new in (
            ("Rotation", request.rotation),
            ("SesRegion", request.region),
            ("UserName", request.user),
        )
        if str(request.old.get(name, new)) != new
    ]
    if current is not None and current in request.access_keys() and not changed:
        request.log(logging.INFO, "access key kept", access_key_id=current)
        return current

    reason = f"{', '.join(changed)} changed" if changed else "secret names no live key"
    request.log(logging.INFO, "new access key needed", reason=reason)
    # The key the secret names serves clients until this update succeeds, even
    # when it is another region's: it is never the one deleted to make room.
    return request.issue_key(keep=request.named_key())


def _delete(request: _Request) -> str:
    key_id = request.physical_id or ""
    if not _ACCESS_KEY_ID.match(key_id):
        request.log(logging.INFO, "no access key behind this resource; nothing to do")
        return key_id

    if request.named_key() == key_id and request.restore_previous(key_id):
        # A rotation rolled back: CloudFormation keeps the resource it replaced,
        # so its key, which the secret names again, must stay.
        request.delete_key(key_id)
        return key_id

    current = request.named_key()
    request.delete_key(key_id)
    if current == key_id:
        for other in request.access_keys():
            request.delete_key(other)
    return key_id


def _code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__
