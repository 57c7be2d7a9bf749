"""The stack of an environment's shared resources: its SMTP users."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from mailcore.config import EnvironmentConfig
from mailcore.smtp_settings import (
    iam_user_name,
    iam_user_name_pattern,
    secret_name,
    secret_name_pattern,
)
from stacks.smtp_credentials_provider import SmtpCredentialsProvider
from stacks.smtp_user import SmtpUser

__all__ = ["SharedStack"]


class SharedStack(Stack):
    """SMTP users of one environment, deployed to the environment's region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        **stack_options: Any,
    ) -> None:
        super().__init__(scope, construct_id, **stack_options)
        assert config.region is not None, "checked when the environment was read"

        encryption_key = None
        if config.secrets_kms_key_arn:
            encryption_key = kms.Key.from_key_arn(
                self, "SecretsKey", config.secrets_kms_key_arn
            )
        provider = SmtpCredentialsProvider(
            self,
            "SmtpCredentials",
            user_name_pattern=iam_user_name_pattern(config.app, config.name),
            secret_name_pattern=secret_name_pattern(config.app, config.name),
            encryption_key=encryption_key,
        )

        self.smtp_users: dict[str, SmtpUser] = {}
        for settings in config.smtp_users:
            ses_region = settings.region_in(config.region)
            user = SmtpUser(
                self,
                settings.construct_id,
                user_name=iam_user_name(config.app, config.name, settings),
                secret_name=secret_name(config.app, config.name, settings),
                ses_region=ses_region,
                whole_domains=settings.whole_domains,
                addresses=settings.addresses,
                configuration_sets=[
                    config.configuration_set_name_of(domain)
                    for domain in config.domains
                    if domain.name in settings.domains
                ],
                rotation=settings.rotation,
                readers=settings.readers,
                encryption_key=encryption_key,
                provider=provider,
            )
            self.smtp_users[settings.name] = user
            CfnOutput(
                self,
                f"{settings.construct_id}SecretArn",
                value=user.secret.secret_arn,
                description=(
                    f"Secret with the SMTP credentials of {settings.name} "
                    f"(SES {ses_region})"
                ),
            )
