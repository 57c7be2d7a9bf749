"""The stack of an environment's WorkMail organisation, in the WorkMail region."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, CustomResource, RemovalPolicy, Stack
from constructs import Construct

from mailcore.workmail_settings import END_OF_SUPPORT_WARNING, WorkMailSettings
from stacks.workmail_provider import WorkMailProvider
from stacks.workmail_user import WorkMailUser

__all__ = ["END_OF_SUPPORT_WARNING_ID", "WorkMailStack"]

END_OF_SUPPORT_WARNING_ID = "mail:workmailEndOfSupport"


def _retained(delete_on_remove: bool) -> RemovalPolicy:
    return RemovalPolicy.DESTROY if delete_on_remove else RemovalPolicy.RETAIN


class WorkMailStack(Stack):
    """A WorkMail organisation (created or adopted), its domains, users and groups.

    Nothing holding mail is deleted with the stack or when an entry leaves the
    settings, unless that entry sets ``delete_on_remove``: without it, the
    custom resource is retained by CloudFormation and its handler only logs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: WorkMailSettings,
        secret_prefix: str,
        **stack_options: Any,
    ) -> None:
        """``secret_prefix``: the users' password secrets are named
        ``<secret_prefix>/<user name>``."""
        super().__init__(scope, construct_id, **stack_options)
        Annotations.of(self).add_warning_v2(
            END_OF_SUPPORT_WARNING_ID, END_OF_SUPPORT_WARNING
        )

        organization = settings.organization
        provider = WorkMailProvider(self, "Provider")
        properties: dict[str, str] = {
            "DeleteOnRemove": str(organization.delete_on_remove).lower()
        }
        if organization.alias:
            properties["Alias"] = organization.alias
        if organization.adopt_id:
            properties["AdoptId"] = organization.adopt_id
        if organization.adopt_alias:
            properties["AdoptAlias"] = organization.adopt_alias
        self.organization = CustomResource(
            self,
            "Organization",
            service_token=provider.service_token,
            resource_type="Custom::WorkMailOrganization",
            properties=properties,
            removal_policy=_retained(organization.delete_on_remove),
        )
        self.organization.node.add_dependency(provider.role)
        organization_id = self.organization.get_att_string("OrganizationId")

        domains: list[CustomResource] = []
        for domain in settings.domains:
            resource = CustomResource(
                self,
                f"Domain{_pascal(domain.name)}",
                service_token=provider.service_token,
                resource_type="Custom::WorkMailDomain",
                properties={
                    "OrganizationId": organization_id,
                    "DomainName": domain.name,
                    "Default": str(domain.name == settings.default_domain).lower(),
                    "DeleteOnRemove": str(domain.delete_on_remove).lower(),
                },
                removal_policy=_retained(domain.delete_on_remove),
            )
            resource.node.add_dependency(provider.role)
            domains.append(resource)

        entity_ids: dict[str, str] = {}
        for user in settings.users:
            construct = WorkMailUser(
                self,
                f"User{user.construct_id}",
                provider=provider,
                organization_id=organization_id,
                name=user.name,
                display_name=user.display_name,
                email=settings.email_of(user),
                role=user.api_role,
                enabled=user.enabled,
                aliases=user.aliases,
                secret_name=f"{secret_prefix}/{user.name}",
                delete_on_remove=user.delete_on_remove,
            )
            # Addresses need their domain registered and verified first.
            for domain_resource in domains:
                construct.resource.node.add_dependency(domain_resource)
            entity_ids[user.name] = construct.user_id
            CfnOutput(
                self,
                f"User{user.construct_id}PasswordSecret",
                value=construct.secret.secret_arn,
                description=f"Secret with the initial password of {user.name}",
            )

        groups: dict[str, CustomResource] = {}
        pending = list(settings.groups)
        # Groups that contain groups come after them: a member needs its id.
        while pending:
            for group in list(pending):
                if set(group.members) & {g.name for g in pending}:
                    continue
                resource = CustomResource(
                    self,
                    f"Group{group.construct_id}",
                    service_token=provider.service_token,
                    resource_type="Custom::WorkMailGroup",
                    properties={
                        "OrganizationId": organization_id,
                        "Name": group.name,
                        "Email": settings.email_of(group),
                        "Aliases": list(group.aliases),
                        "Members": [entity_ids[m] for m in group.members],
                        "DeleteOnRemove": str(group.delete_on_remove).lower(),
                    },
                    removal_policy=_retained(group.delete_on_remove),
                )
                resource.node.add_dependency(provider.role)
                for domain_resource in domains:
                    resource.node.add_dependency(domain_resource)
                groups[group.name] = resource
                entity_ids[group.name] = resource.ref
                pending.remove(group)

        CfnOutput(
            self,
            "OrganizationId",
            value=organization_id,
            description="WorkMail organisation id",
        )


def _pascal(domain: str) -> str:
    """``mail.example.com`` -> ``MailExampleCom``: part of a construct id."""
    return "".join(part.capitalize() for part in domain.replace("-", ".").split("."))
