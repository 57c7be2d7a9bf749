"""Custom resources for WorkMail: organisation, mail domain, user and group.

Called by the CDK provider framework: ``on_event`` starts each request,
``is_complete`` is polled until it says the work is done; returning succeeds,
raising fails with the message as the reason.

- ``Custom::WorkMailOrganization``: create one with ``Alias`` (asynchronous:
  ``is_complete`` waits for ``Active``; ``Failed`` fails the resource with
  WorkMail's reason, after deleting the failed organisation), or adopt one by
  ``AdoptId`` or ``AdoptAlias``. Physical id: the organisation id. An Update
  never creates or swaps the organisation: a changed alias, or a switch
  between creating and adopting, fails and leaves the organisation as it is.
- ``Custom::WorkMailDomain``: register ``DomainName``; ``is_complete`` waits
  until WorkMail has verified the domain, then makes it the default when
  ``Default`` is ``true``. Physical id: ``<organisation id>/<domain>``.
- ``Custom::WorkMailUser`` and ``Custom::WorkMailGroup``: find by name or
  create, then bring display name, role, enabled state, primary address,
  aliases and (groups) members to what the properties say. An alias is only
  removed when it leaves ``Aliases``; a former primary address stays an
  alias. Physical id: the
  entity id; an Update that renames the entity or moves it to another
  organisation fails rather than switch to another entity. A user's initial
  password is read from ``PasswordSecretArn`` when the user is created, and
  nowhere else.

Every request is safe to repeat: what already is as wanted is left alone. On
Delete, nothing is removed unless ``DeleteOnRemove`` is ``true``; then
something already gone counts as deleted.

Logs are JSON lines with the action and identifiers; never an event, a
property bag, a password or the response URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

__all__ = ["JsonLineFormatter", "is_complete", "on_event"]

_LOG_FIELDS = (
    "action",
    "request_id",
    "logical_id",
    "resource_type",
    "organization_id",
    "domain",
    "entity",
    "entity_id",
    "state",
    "error_code",
)
_GONE = {
    "EntityNotFoundException",
    "MailDomainNotFoundException",
    "OrganizationNotFoundException",
}


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
    logger = logging.getLogger("workmail")
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
    """One event: what it asks for, the clients, and the log context."""

    def __init__(self, event: dict[str, Any], context: Any) -> None:
        self.action = str(event["RequestType"])
        self.type = str(event["ResourceType"])
        self.props: dict[str, Any] = event["ResourceProperties"]
        self.old: dict[str, Any] = event.get("OldResourceProperties") or {}
        self.physical_id: str | None = event.get("PhysicalResourceId")
        self.stack_id = str(event.get("StackId", ""))
        self.logical_id = str(event.get("LogicalResourceId", ""))
        self.workmail = boto3.client("workmail")
        self._secrets: Any = None
        self._context: dict[str, Any] = {
            "action": self.action,
            "request_id": getattr(context, "aws_request_id", None),
            "logical_id": self.logical_id,
            "resource_type": self.type,
            "organization_id": self.props.get("OrganizationId"),
        }

    @property
    def secrets(self) -> Any:
        if self._secrets is None:
            self._secrets = boto3.client("secretsmanager")
        return self._secrets

    def log(self, level: int, message: str, **fields: Any) -> None:
        LOGGER.log(level, message, extra={**self._context, **fields})

    def flag(self, name: str) -> bool:
        return str(self.props.get(name, "false")).lower() == "true"

    def changed(self, *names: str) -> bool:
        return any(
            str(self.old.get(n, "")) != str(self.props.get(n, "")) for n in names
        )


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point of the provider framework's onEvent handler."""
    request = _Request(event, context)
    request.log(logging.INFO, "request received")
    handlers: dict[str, Callable[[_Request], dict[str, Any]]] = {
        "Custom::WorkMailOrganization": _organization,
        "Custom::WorkMailDomain": _domain,
        "Custom::WorkMailUser": _user,
        "Custom::WorkMailGroup": _group,
    }
    try:
        if request.type not in handlers:
            raise ValueError(f"unknown resource type {request.type!r}")
        if request.action not in ("Create", "Update", "Delete"):
            raise ValueError(f"unknown RequestType {request.action!r}")
        response = handlers[request.type](request)
    except Exception as error:
        request.log(logging.ERROR, "request failed", error_code=_code(error))
        raise
    request.log(logging.INFO, "request done", entity_id=response["PhysicalResourceId"])
    return response


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point of the provider framework's isComplete handler."""
    request = _Request(event, context)
    if request.action == "Delete":
        return {"IsComplete": True}
    try:
        if request.type == "Custom::WorkMailOrganization":
            return _organization_ready(request)
        if request.type == "Custom::WorkMailDomain":
            return _domain_ready(request)
    except Exception as error:
        request.log(logging.ERROR, "not complete: failed", error_code=_code(error))
        raise
    return {"IsComplete": True}


# Organisation ---------------------------------------------------------------


def _organization(request: _Request) -> dict[str, Any]:
    if request.action == "Delete":
        return _delete_organization(request)
    if request.action == "Update":
        return _keep_organization(request)

    adopt_id = request.props.get("AdoptId")
    adopt_alias = request.props.get("AdoptAlias")
    if adopt_id:
        return _organization_response(_adopt_by_id(request, str(adopt_id)))
    if adopt_alias:
        return _organization_response(_adopt_by_alias(request, str(adopt_alias)))

    alias = str(request.props["Alias"])
    # The same token for every retry of this request: WorkMail then returns
    # the organisation the first attempt created instead of a second one.
    token = hashlib.sha256(
        f"{request.stack_id}|{request.logical_id}|{alias}".encode()
    ).hexdigest()
    try:
        created = request.workmail.create_organization(Alias=alias, ClientToken=token)
    except ClientError as error:
        if _code(error) == "NameAvailabilityException":
            raise RuntimeError(
                f"the WorkMail organisation alias {alias!r} is taken; adopt that "
                f"organisation with 'adopt: {alias}' or choose another alias"
            ) from error
        raise
    organization_id = created["OrganizationId"]
    request.log(
        logging.INFO, "organisation creation started", organization_id=organization_id
    )
    return _organization_response(organization_id)


def _keep_organization(request: _Request) -> dict[str, Any]:
    """An Update keeps the organisation behind the physical id, always.

    A new physical id would make CloudFormation send Delete for the old one,
    which with ``DeleteOnRemove`` deletes every mailbox. So an Update succeeds
    only when its properties describe the organisation the resource already
    has: unchanged, or a rollback that puts back what was there before a
    refused change.
    """
    organization_id = str(request.physical_id)
    if not request.changed("Alias", "AdoptId", "AdoptAlias"):
        return _organization_response(organization_id)

    try:
        found = request.workmail.describe_organization(OrganizationId=organization_id)
    except ClientError as error:
        if _code(error) != "OrganizationNotFoundException":
            raise
        found = {}
    adopt_id = request.props.get("AdoptId")
    named = request.props.get("Alias") or request.props.get("AdoptAlias")
    names_it = (
        adopt_id == organization_id
        if adopt_id
        else bool(named) and named == found.get("Alias")
    )
    same_mode = bool(request.old.get("Alias")) == bool(request.props.get("Alias"))
    if names_it and (same_mode or _rolling_back(request)):
        request.log(logging.INFO, "organisation kept", organization_id=organization_id)
        return _organization_response(organization_id)

    before = _organization_setting(request.old)
    after = _organization_setting(request.props)
    if request.old.get("Alias") and request.props.get("Alias"):
        raise RuntimeError(
            f"workmail.organization.alias cannot change from "
            f"{request.old['Alias']!r} to {request.props['Alias']!r}: an "
            "organisation's alias is fixed at creation; expected alias: "
            f"{request.old['Alias']} again (organisation {organization_id} is "
            "unchanged)"
        )
    raise RuntimeError(
        f"workmail.organization cannot change from {before} to {after}: the stack "
        f"keeps the organisation it created or adopted ({organization_id}); "
        f"expected {before} again"
    )


def _organization_setting(props: dict[str, Any]) -> str:
    """How the settings file spelled the organisation: ``alias: x`` or ``adopt: x``."""
    if props.get("Alias"):
        return f"alias: {props['Alias']}"
    return f"adopt: {props.get('AdoptId') or props.get('AdoptAlias')}"


def _rolling_back(request: _Request) -> bool:
    """Whether CloudFormation is rolling the stack back.

    A rollback sends the properties from before a refused change as an
    Update; the event itself does not say it is one, the stack's status does.
    """
    cloudformation = boto3.client("cloudformation")
    stacks = cloudformation.describe_stacks(StackName=request.stack_id)["Stacks"]
    return (
        bool(stacks) and stacks[0].get("StackStatus") == "UPDATE_ROLLBACK_IN_PROGRESS"
    )


def _organization_response(organization_id: str) -> dict[str, Any]:
    return {
        "PhysicalResourceId": organization_id,
        "Data": {"OrganizationId": organization_id},
    }


def _adopt_by_id(request: _Request, organization_id: str) -> str:
    try:
        found = request.workmail.describe_organization(OrganizationId=organization_id)
    except ClientError as error:
        if _code(error) == "OrganizationNotFoundException":
            raise RuntimeError(
                f"no WorkMail organisation {organization_id} in this account and "
                "region to adopt"
            ) from error
        raise
    request.log(
        logging.INFO,
        "organisation adopted",
        organization_id=organization_id,
        state=found.get("State"),
    )
    return organization_id


def _adopt_by_alias(request: _Request, alias: str) -> str:
    for summary in _pages(request.workmail.list_organizations, "OrganizationSummaries"):
        if summary.get("Alias") == alias and summary.get("State") not in (
            "Deleted",
            "Deleting",
        ):
            organization_id = str(summary["OrganizationId"])
            request.log(
                logging.INFO,
                "organisation adopted",
                organization_id=organization_id,
                state=summary.get("State"),
            )
            return organization_id
    raise RuntimeError(
        f"no WorkMail organisation with alias {alias!r} in this account and region "
        "to adopt"
    )


def _organization_ready(request: _Request) -> dict[str, Any]:
    organization_id = str(request.physical_id)
    found = request.workmail.describe_organization(OrganizationId=organization_id)
    state = found.get("State")
    request.log(
        logging.INFO, "organisation state", organization_id=organization_id, state=state
    )
    if state == "Active":
        return {
            "IsComplete": True,
            "Data": {"OrganizationId": organization_id, "Alias": found.get("Alias")},
        }
    if state == "Failed":
        reason = found.get("ErrorMessage") or "no reason given"
        message = (
            f"WorkMail organisation {organization_id} failed to become active: {reason}"
        )
        if not (request.props.get("AdoptId") or request.props.get("AdoptAlias")):
            # A failed organisation holds no mail: remove it so that the next
            # deployment can create the alias again.
            try:
                _request_deletion(request, organization_id)
            except Exception as cleanup:
                # WorkMail's reason is what the user must see; the cleanup
                # failure only adds what is left to do.
                request.log(
                    logging.WARNING,
                    "failed organisation not removed",
                    organization_id=organization_id,
                    error_code=_code(cleanup),
                )
                message += (
                    f"; removing it failed ({_code(cleanup)}): delete it in the "
                    "WorkMail console before deploying again"
                )
        raise RuntimeError(message)
    if state in ("Deleted", "Deleting"):
        raise RuntimeError(
            f"WorkMail organisation {organization_id} is {state.lower()}; expected "
            "an active organisation"
        )
    return {"IsComplete": False}


def _delete_organization(request: _Request) -> dict[str, Any]:
    organization_id = str(request.physical_id)
    adopted = request.props.get("AdoptId") or request.props.get("AdoptAlias")
    if adopted or not request.flag("DeleteOnRemove"):
        request.log(
            logging.INFO,
            "organisation retained: delete_on_remove is not set",
            organization_id=organization_id,
        )
        return _organization_response(organization_id)
    _request_deletion(request, organization_id)
    return _organization_response(organization_id)


def _request_deletion(request: _Request, organization_id: str) -> None:
    if not organization_id.startswith("m-"):
        request.log(logging.INFO, "no organisation behind this resource")
        return
    try:
        request.workmail.delete_organization(
            OrganizationId=organization_id,
            # The directory is the one WorkMail made for this organisation.
            DeleteDirectory=True,
            # Enabled users would otherwise stop the deletion the config asked for.
            ForceDelete=True,
        )
    except ClientError as error:
        if _code(error) != "OrganizationNotFoundException":
            raise
        request.log(
            logging.INFO, "organisation already gone", organization_id=organization_id
        )
        return
    request.log(
        logging.WARNING, "organisation deleted", organization_id=organization_id
    )


# Mail domain ----------------------------------------------------------------


def _domain(request: _Request) -> dict[str, Any]:
    organization_id = str(request.props["OrganizationId"])
    domain = str(request.props["DomainName"])
    physical_id = f"{organization_id}/{domain}"
    if request.action == "Delete":
        organization_id, _, domain = str(request.physical_id).partition("/")
        if not organization_id.startswith("m-") or not domain:
            # A Create that failed before registering left no domain behind.
            request.log(logging.INFO, "no domain behind this resource")
            return {"PhysicalResourceId": request.physical_id}
        if not request.flag("DeleteOnRemove"):
            request.log(
                logging.INFO,
                "domain retained: delete_on_remove is not set",
                domain=domain,
            )
            return {"PhysicalResourceId": request.physical_id}
        try:
            request.workmail.deregister_mail_domain(
                OrganizationId=organization_id, DomainName=domain
            )
        except ClientError as error:
            if _code(error) not in _GONE:
                raise
            request.log(logging.INFO, "domain already gone", domain=domain)
            return {"PhysicalResourceId": request.physical_id}
        request.log(logging.WARNING, "domain deregistered", domain=domain)
        return {"PhysicalResourceId": request.physical_id}

    try:
        request.workmail.get_mail_domain(
            OrganizationId=organization_id, DomainName=domain
        )
        request.log(logging.INFO, "domain already registered", domain=domain)
    except ClientError as error:
        if _code(error) != "MailDomainNotFoundException":
            raise
        try:
            request.workmail.register_mail_domain(
                OrganizationId=organization_id, DomainName=domain
            )
        except ClientError as in_use:
            if _code(in_use) == "MailDomainInUseException":
                raise RuntimeError(
                    f"{domain} is registered with another WorkMail organisation; "
                    "deregister it there first"
                ) from in_use
            raise
        request.log(logging.INFO, "domain registered", domain=domain)
    return {"PhysicalResourceId": physical_id, "Data": {"DomainName": domain}}


def _domain_ready(request: _Request) -> dict[str, Any]:
    organization_id = str(request.props["OrganizationId"])
    domain = str(request.props["DomainName"])
    found = request.workmail.get_mail_domain(
        OrganizationId=organization_id, DomainName=domain
    )
    status = found.get("OwnershipVerificationStatus")
    request.log(logging.INFO, "domain verification", domain=domain, state=status)
    if status == "FAILED":
        raise RuntimeError(
            f"WorkMail could not verify {domain}: check that the DNS records of "
            "the domain's stack are published, then deploy again"
        )
    if status != "VERIFIED":
        return {"IsComplete": False}
    if request.flag("Default") and not found.get("IsDefault"):
        request.workmail.update_default_mail_domain(
            OrganizationId=organization_id, DomainName=domain
        )
        request.log(logging.INFO, "domain made the default", domain=domain)
    return {"IsComplete": True, "Data": {"DomainName": domain}}


# Users and groups -----------------------------------------------------------


class _Kind:
    """What differs between users and groups in the WorkMail API."""

    def __init__(self, noun: str) -> None:
        self.noun = noun
        self.is_user = noun == "user"

    def describe(self, request: _Request, entity_id: str) -> dict[str, Any]:
        organization_id = request.props["OrganizationId"]
        if self.is_user:
            return request.workmail.describe_user(
                OrganizationId=organization_id, UserId=entity_id
            )
        return request.workmail.describe_group(
            OrganizationId=organization_id, GroupId=entity_id
        )

    def find(self, request: _Request, name: str) -> str | None:
        organization_id = request.props["OrganizationId"]
        if self.is_user:
            listed = _pages(
                request.workmail.list_users,
                "Users",
                OrganizationId=organization_id,
                Filters={"UsernamePrefix": name},
            )
        else:
            listed = _pages(
                request.workmail.list_groups,
                "Groups",
                OrganizationId=organization_id,
                Filters={"NamePrefix": name},
            )
        for entity in listed:
            if entity.get("Name") == name and entity.get("State") != "DELETED":
                return str(entity["Id"])
        return None

    def create(self, request: _Request, name: str) -> str:
        organization_id = request.props["OrganizationId"]
        if not self.is_user:
            created = request.workmail.create_group(
                OrganizationId=organization_id, Name=name
            )
            return str(created["GroupId"])
        secret = request.secrets.get_secret_value(
            SecretId=request.props["PasswordSecretArn"]
        )
        created = request.workmail.create_user(
            OrganizationId=organization_id,
            Name=name,
            DisplayName=request.props["DisplayName"],
            Password=secret["SecretString"],
            Role=request.props.get("Role", "USER"),
        )
        return str(created["UserId"])

    def delete(self, request: _Request, entity_id: str) -> None:
        organization_id = request.old.get("OrganizationId") or request.props.get(
            "OrganizationId"
        )
        if self.is_user:
            request.workmail.delete_user(
                OrganizationId=organization_id, UserId=entity_id
            )
        else:
            request.workmail.delete_group(
                OrganizationId=organization_id, GroupId=entity_id
            )


def _user(request: _Request) -> dict[str, Any]:
    return _entity(request, _Kind("user"))


def _group(request: _Request) -> dict[str, Any]:
    return _entity(request, _Kind("group"))


def _entity(request: _Request, kind: _Kind) -> dict[str, Any]:
    name = str(request.props["Name"])
    if request.action == "Delete":
        _delete_entity(request, kind, str(request.physical_id), name)
        return {"PhysicalResourceId": request.physical_id}

    entity_id: str | None = None
    current: dict[str, Any] | None = None
    if request.action == "Update":
        entity_id = str(request.physical_id)
        current = _present(request, kind, entity_id)
        _check_same_entity(request, kind, entity_id, current)
        if current is None:
            request.log(
                logging.WARNING, f"{kind.noun} gone; creating it again", entity=name
            )
            entity_id = None
    if entity_id is None:
        entity_id = kind.find(request, name)
        if entity_id is not None:
            request.log(
                logging.INFO, f"{kind.noun} exists", entity=name, entity_id=entity_id
            )
    if entity_id is None:
        entity_id = kind.create(request, name)
        request.log(
            logging.INFO, f"{kind.noun} created", entity=name, entity_id=entity_id
        )

    if current is None:
        current = kind.describe(request, entity_id)
    _reconcile(request, kind, entity_id, name, current)
    return {"PhysicalResourceId": entity_id, "Data": {"EntityId": entity_id}}


def _present(request: _Request, kind: _Kind, entity_id: str) -> dict[str, Any] | None:
    """The entity as WorkMail describes it, or ``None`` when it is gone."""
    try:
        current = kind.describe(request, entity_id)
    except ClientError as error:
        if _code(error) not in _GONE:
            raise
        return None
    return None if current.get("State") == "DELETED" else current


def _check_same_entity(
    request: _Request, kind: _Kind, entity_id: str, current: dict[str, Any] | None
) -> None:
    """Refuse an Update that would give the resource another entity.

    Finding or creating one under a new name or organisation returns a new
    physical id, and CloudFormation then deletes the old entity when it
    carries ``DeleteOnRemove``. A rollback names the entity the resource
    already has, so it passes.
    """
    old_org = request.old.get("OrganizationId")
    new_org = request.props["OrganizationId"]
    if current is None and request.changed("OrganizationId"):
        raise RuntimeError(
            f"the WorkMail {kind.noun} {request.props['Name']!r} ({entity_id}) "
            f"cannot move from organisation {old_org} to {new_org}: WorkMail "
            f"has no move; expected organisation {old_org}, where it was created"
        )
    if (
        current is not None
        and str(current.get("Name", "")).lower() != str(request.props["Name"]).lower()
    ):
        raise RuntimeError(
            f"the name of WorkMail {kind.noun} {current.get('Name')!r} cannot "
            f"change to {request.props['Name']!r}: WorkMail keeps the name an "
            f"entity was created with; expected {current.get('Name')!r}, or "
            "remove the entry and add the new name in a later deploy"
        )


def _reconcile(
    request: _Request, kind: _Kind, entity_id: str, name: str, current: dict[str, Any]
) -> None:
    """Bring the entity to the properties; leave alone what already matches."""
    organization_id = request.props["OrganizationId"]
    email = str(request.props["Email"]).lower()
    enabled = not kind.is_user or request.flag("Enabled")
    fields = {"entity": name, "entity_id": entity_id}

    if kind.is_user:
        display_name = request.props["DisplayName"]
        role = request.props.get("Role", "USER")
        if (
            current.get("DisplayName") != display_name
            or current.get("UserRole") != role
        ):
            request.workmail.update_user(
                OrganizationId=organization_id,
                UserId=entity_id,
                DisplayName=display_name,
                Role=role,
            )
            request.log(logging.INFO, "user details updated", **fields)

    state = current.get("State")
    previous = str(current.get("Email", "")).lower()
    if enabled and state == "DISABLED":
        request.workmail.register_to_work_mail(
            OrganizationId=organization_id, EntityId=entity_id, Email=email
        )
        request.log(logging.INFO, f"{kind.noun} enabled", **fields)
    elif enabled and previous != email:
        request.workmail.update_primary_email_address(
            OrganizationId=organization_id, EntityId=entity_id, Email=email
        )
        request.log(logging.INFO, "primary address changed", **fields)
    elif not enabled and state == "ENABLED":
        request.workmail.deregister_from_work_mail(
            OrganizationId=organization_id, EntityId=entity_id
        )
        request.log(
            logging.WARNING,
            "user disabled: WorkMail keeps the mailbox for 30 days",
            **fields,
        )
    if not enabled:
        return

    wanted = [str(alias).lower() for alias in request.props.get("Aliases", [])]
    present = [
        str(alias).lower()
        for alias in _pages(
            request.workmail.list_aliases,
            "Aliases",
            OrganizationId=organization_id,
            EntityId=entity_id,
        )
    ]
    # Mail to a former primary address would bounce: it stays as an alias.
    kept = [previous] if previous and previous != email and state != "DISABLED" else []
    for alias in wanted + kept:
        if alias not in present:
            request.workmail.create_alias(
                OrganizationId=organization_id, EntityId=entity_id, Alias=alias
            )
            request.log(logging.INFO, "alias added", **fields)
    # Only an alias the settings listed before is theirs to remove; a former
    # primary address, or one added in the console, still receives mail.
    listed_before = [str(alias).lower() for alias in request.old.get("Aliases", [])]
    for alias in present:
        if alias in listed_before and alias not in wanted and alias != email:
            request.workmail.delete_alias(
                OrganizationId=organization_id, EntityId=entity_id, Alias=alias
            )
            request.log(logging.INFO, "alias removed", **fields)

    if kind.is_user:
        return
    members = [str(member) for member in request.props.get("Members", [])]
    listed = [
        str(member["Id"])
        for member in _pages(
            request.workmail.list_group_members,
            "Members",
            OrganizationId=organization_id,
            GroupId=entity_id,
        )
        if member.get("State") != "DELETED"
    ]
    for member in members:
        if member not in listed:
            request.workmail.associate_member_to_group(
                OrganizationId=organization_id, GroupId=entity_id, MemberId=member
            )
            request.log(logging.INFO, "member added", **fields)
    for member in listed:
        if member not in members:
            try:
                request.workmail.disassociate_member_from_group(
                    OrganizationId=organization_id, GroupId=entity_id, MemberId=member
                )
            except ClientError as error:
                if _code(error) != "EntityNotFoundException":
                    raise
            request.log(logging.INFO, "member removed", **fields)


def _delete_entity(request: _Request, kind: _Kind, entity_id: str, name: str) -> None:
    fields = {"entity": name, "entity_id": entity_id}
    if not request.flag("DeleteOnRemove"):
        request.log(
            logging.INFO, f"{kind.noun} retained: delete_on_remove is not set", **fields
        )
        return
    try:
        current = kind.describe(request, entity_id)
    except ClientError as error:
        if _code(error) not in _GONE:
            raise
        request.log(logging.INFO, f"{kind.noun} already gone", **fields)
        return
    if current.get("State") == "DELETED":
        request.log(logging.INFO, f"{kind.noun} already gone", **fields)
        return
    if current.get("State") == "ENABLED":
        # WorkMail deletes only disabled users and groups.
        request.workmail.deregister_from_work_mail(
            OrganizationId=request.props["OrganizationId"], EntityId=entity_id
        )
    kind.delete(request, entity_id)
    request.log(logging.WARNING, f"{kind.noun} deleted", **fields)


# Helpers --------------------------------------------------------------------


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator:
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__
