"""The custom resource provider that issues SMTP credentials, one per stack."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.nag import acknowledge_provider_framework, acknowledge_wildcard

__all__ = ["HANDLER_DIR", "SmtpCredentialsProvider"]

HANDLER_DIR = Path(__file__).resolve().parent.parent / "lambda" / "smtp_credentials"


class SmtpCredentialsProvider(Construct):
    """A Lambda handler behind the CDK provider framework, shared by a stack's users.

    The handler may manage the access keys of IAM users named
    ``user_name_pattern`` and write secrets named ``secret_name_pattern``. The
    grants name patterns rather than each user: when one user is removed while
    others stay, CloudFormation applies the stack's new policies before it
    deletes the removed user's credentials, and a per-user grant would already
    be gone by then.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_name_pattern: str,
        secret_name_pattern: str,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        """Keyword arguments:

        - ``user_name_pattern``: IAM user names, with ``*``, such as
          ``mail-production-smtp-*``.
        - ``secret_name_pattern``: secret names, with ``*``, such as
          ``mail/production/smtp/*``.
        - ``encryption_key``: the secrets' KMS key. Default: the AWS-managed key.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        log_group = logs.LogGroup(
            self,
            "HandlerLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Issues and rotates the access keys of SMTP users",
        )
        log_group.grant_write(self.role)

        user_arns = stack.format_arn(
            service="iam",
            region="",
            resource="user",
            resource_name=user_name_pattern,
        )
        secret_arns = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=secret_name_pattern,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "iam:CreateAccessKey",
                    "iam:DeleteAccessKey",
                    "iam:ListAccessKeys",
                ],
                resources=[user_arns],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    # Put back the previous credentials when a rotation is rolled
                    # back.
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                resources=[secret_arns],
            )
        )
        acknowledge_wildcard(
            self.role,
            resource=user_arns,
            reason=(
                "The handler manages the access keys of this environment's SMTP "
                "users only, named by the pattern every SMTP user's name follows, "
                "so that its rights outlive the removal of any one user."
            ),
        )
        acknowledge_wildcard(
            self.role,
            resource=secret_arns,
            reason=(
                "The handler writes the secrets of this environment's SMTP users "
                "only, named by the pattern every SMTP secret's name follows; the "
                "wildcard also covers the suffix Secrets Manager adds to an ARN."
            ),
        )
        if encryption_key is not None:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                )
            )

        self.handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.on_event",
            code=lambda_.Code.from_asset(str(HANDLER_DIR)),
            role=self.role,
            log_group=log_group,
            timeout=Duration.minutes(2),
            memory_size=256,
            description="Issues SMTP credentials: IAM access key to SES SMTP password",
        )

        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.handler,
            log_group=logs.LogGroup(
                self,
                "ProviderLogs",
                retention=logs.RetentionDays.ONE_YEAR,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        acknowledge_provider_framework(self.provider, self.handler)

    @property
    def service_token(self) -> str:
        """What a custom resource names as its ServiceToken."""
        return self.provider.service_token
