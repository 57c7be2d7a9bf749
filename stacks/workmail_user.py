"""A WorkMail user and the Secrets Manager secret holding its initial password."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import (
    Acknowledgment,
    CustomResource,
    RemovalPolicy,
    Validations,
)
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.workmail_provider import WorkMailProvider

__all__ = ["PASSWORD_EXCLUDED_CHARACTERS", "PASSWORD_LENGTH", "WorkMailUser"]

PASSWORD_LENGTH = 32
# Quotes, backslash and characters shells and URLs treat specially, so that the
# password can be copied from the console and typed as it is.
PASSWORD_EXCLUDED_CHARACTERS = "\"'`\\/@%&$ "


class WorkMailUser(Construct):
    """A user of ``organization_id`` with a mailbox at ``email``.

    CloudFormation generates the initial password into :attr:`secret`; the
    handler reads it once, when it creates the user. It is in no template,
    output or log. The user is kept when this construct goes away, unless
    ``delete_on_remove`` is set; then WorkMail disables and deletes it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        provider: WorkMailProvider,
        organization_id: str,
        name: str,
        display_name: str,
        email: str,
        role: str,
        enabled: bool,
        aliases: Sequence[str],
        secret_name: str,
        delete_on_remove: bool = False,
    ) -> None:
        """Keyword arguments:

        - ``role``: ``USER`` or ``SYSTEM_USER``, as the WorkMail API spells it.
        - ``enabled``: ``False`` disables the user (WorkMail keeps its mailbox
          for 30 days); it is not a deletion.
        - ``delete_on_remove``: delete the user and its mailbox when this
          resource is deleted. Default: ``False``, the user is retained.
        """
        super().__init__(scope, construct_id)

        self.secret = secretsmanager.Secret(
            self,
            "InitialPassword",
            secret_name=secret_name,
            description=f"Initial WorkMail password of {email}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=PASSWORD_LENGTH,
                exclude_characters=PASSWORD_EXCLUDED_CHARACTERS,
                require_each_included_type=True,
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        Validations.of(self.secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "The secret is the user's initial WorkMail password, read once "
                    "when the user is created; rotating it would not change the "
                    "password in WorkMail, where the user changes it."
                ),
            )
        )
        provider.grant_read_password(self.secret.secret_arn)

        self.resource = CustomResource(
            self,
            "User",
            service_token=provider.service_token,
            resource_type="Custom::WorkMailUser",
            properties={
                "OrganizationId": organization_id,
                "Name": name,
                "DisplayName": display_name,
                "Email": email,
                "Role": role,
                "Enabled": str(enabled).lower(),
                "Aliases": list(aliases),
                "PasswordSecretArn": self.secret.secret_arn,
                "DeleteOnRemove": str(delete_on_remove).lower(),
            },
            removal_policy=(
                RemovalPolicy.DESTROY if delete_on_remove else RemovalPolicy.RETAIN
            ),
        )
        # The handler must be allowed to read the password before it is called.
        self.resource.node.add_dependency(provider.role)

    @property
    def user_id(self) -> str:
        """The WorkMail user id."""
        return self.resource.ref
