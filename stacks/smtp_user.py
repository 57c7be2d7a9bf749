"""An SMTP user: an IAM user that may send as some addresses, and its credentials."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    CustomResource,
    RemovalPolicy,
    SecretValue,
    Stack,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.smtp_credentials_provider import SmtpCredentialsProvider

__all__ = ["SECRET_PLACEHOLDER", "SmtpUser", "send_statements"]

SEND_ACTIONS = ["ses:SendEmail", "ses:SendRawEmail"]

# What the secret holds from its creation until the custom resource writes the
# credentials a few seconds later. It is never a credential; keep it constant,
# because a change here would make CloudFormation overwrite the credentials.
SECRET_PLACEHOLDER = json.dumps(
    {"status": "pending: written by the Credentials custom resource"}
)


class SmtpUser(Construct):
    """An IAM user allowed to send as ``send_as`` through SES in ``ses_region``.

    Its credentials are in :attr:`secret` as JSON: ``username`` (the access key
    id), ``password`` (the SMTP password for ``ses_region``), ``host``, ``port``
    and ``region``. The access key is made by ``provider``'s handler; the
    template never holds it. Raising ``rotation`` makes a new key and deletes the
    old one in the same deployment.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_name: str,
        secret_name: str,
        ses_region: str,
        whole_domains: Sequence[str],
        addresses: Sequence[str],
        configuration_sets: Sequence[str],
        rotation: int,
        provider: SmtpCredentialsProvider,
        readers: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
    ) -> None:
        """Keyword arguments:

        - ``whole_domains``: domains any address of which the user may send as.
        - ``addresses``: addresses and ``*`` patterns of other domains; they
          become an ``ses:FromAddress`` condition.
        - ``configuration_sets``: names of the default configuration sets of the
          identities above, which SES also checks a send against.
        - ``readers``: principal ARNs allowed to read the secret. Default: none
          beyond what IAM policies in the account allow.
        - ``encryption_key``: the secret's KMS key. Default: the AWS-managed key.
        """
        super().__init__(scope, construct_id)

        self.user = iam.User(self, "User", user_name=user_name)
        iam.Policy(
            self,
            "SendPolicy",
            statements=send_statements(
                Stack.of(self),
                ses_region=ses_region,
                whole_domains=whole_domains,
                addresses=addresses,
                configuration_sets=configuration_sets,
            ),
            users=[self.user],
        )

        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=secret_name,
            description=(
                f"SMTP credentials of IAM user {user_name} for SES in {ses_region}"
            ),
            encryption_key=encryption_key,
            secret_string_value=SecretValue.unsafe_plain_text(SECRET_PLACEHOLDER),
            removal_policy=RemovalPolicy.DESTROY,
        )
        Validations.of(self.secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "The secret holds an SMTP password derived from an IAM access "
                    "key; the key is rotated by raising rotation in the "
                    "environment's settings, which the Credentials custom resource "
                    "turns into a new key and a new secret value in one deployment."
                ),
            )
        )
        if readers:
            self.secret.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=[
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                    ],
                    principals=[iam.ArnPrincipal(arn) for arn in readers],
                    resources=[self.secret.secret_arn],
                )
            )

        self.credentials = CustomResource(
            self,
            "Credentials",
            service_token=provider.service_token,
            resource_type="Custom::SmtpCredentials",
            properties={
                "UserName": self.user.user_name,
                "SecretArn": self.secret.secret_arn,
                "SesRegion": ses_region,
                "Rotation": str(rotation),
            },
        )
        # The handler's permissions must exist before it is called, and outlive
        # the Delete that removes the last key. They name the user and secret by
        # pattern, so provider and names must agree.
        self.credentials.node.add_dependency(provider.role)

    @property
    def access_key_id(self) -> str:
        """The access key id in use, which is also the SMTP user name."""
        return self.credentials.ref


def send_statements(
    stack: Stack,
    *,
    ses_region: str,
    whole_domains: Sequence[str],
    addresses: Sequence[str],
    configuration_sets: Sequence[str],
) -> list[iam.PolicyStatement]:
    """Statements letting a user send as ``whole_domains`` and ``addresses`` only."""

    def identity(domain: str) -> str:
        return _arn(stack, ses_region, "identity", domain)

    statements = []
    if whole_domains:
        statements.append(
            iam.PolicyStatement(
                sid="SendAsDomains",
                actions=SEND_ACTIONS,
                resources=[identity(d) for d in whole_domains],
            )
        )
    if addresses:
        domains = sorted({a.rpartition("@")[2] for a in addresses})
        statements.append(
            iam.PolicyStatement(
                sid="SendAsAddresses",
                actions=SEND_ACTIONS,
                resources=[identity(d) for d in domains],
                conditions={"StringLike": {"ses:FromAddress": list(addresses)}},
            )
        )
    # SES also authorises a send against the configuration set it uses: the
    # identities' default ones, named in their domains' stacks.
    statements.append(
        iam.PolicyStatement(
            sid="UseConfigurationSets",
            actions=SEND_ACTIONS,
            resources=[
                _arn(stack, ses_region, "configuration-set", name)
                for name in configuration_sets
            ],
        )
    )
    return statements


def _arn(stack: Stack, ses_region: str, resource: str, name: str) -> str:
    return stack.format_arn(
        service="ses",
        region=ses_region,
        resource=resource,
        resource_name=name,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )
