"""The custom resource provider that issues SMTP credentials, one per stack."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.nag import acknowledge_provider_framework

__all__ = ["HANDLER_DIR", "SmtpCredentialsProvider"]

HANDLER_DIR = Path(__file__).resolve().parent.parent / "lambda" / "smtp_credentials"


class SmtpCredentialsProvider(Construct):
    """A Lambda handler behind the CDK provider framework, shared by a stack's users.

    The handler starts with permission to write its own log group only; each
    :class:`~stacks.smtp_user.SmtpUser` adds what it needs with
    :meth:`grant_manage`, scoped to its own IAM user, secret and key.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

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

    def grant_manage(
        self,
        *,
        user: iam.IUser,
        secret_arn: str,
        encryption_key: kms.IKey | None,
    ) -> None:
        """Let the handler manage ``user``'s access keys and write its secret."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "iam:CreateAccessKey",
                    "iam:DeleteAccessKey",
                    "iam:ListAccessKeys",
                ],
                resources=[user.user_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                ],
                resources=[secret_arn],
            )
        )
        if encryption_key is not None:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                )
            )
