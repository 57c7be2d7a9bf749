"""Turns one environment's settings into its stacks."""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from mailcore.config import EnvironmentConfig
from mailcore.relay_settings import relay_stack_name
from stacks.relay_stack import RelayStack
from stacks.sending_domain_stack import SendingDomainStack
from stacks.shared_stack import SharedStack

__all__ = ["add_checks", "build_environment"]


def build_environment(app: App, config: EnvironmentConfig) -> list[Stack]:
    """Add the stacks of ``config`` to ``app`` and return them.

    One stack per domain, in the order of ``domains``, then the shared stack
    ``<app>-<env>-shared`` when there are SMTP users, then the relay stack
    ``<app>-<env>-relay`` when ``relay.enabled``.
    """
    account = config.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    built: list[Stack] = []
    for domain in config.domains:
        region = config.ses_region_of(domain)
        name = config.stack_name_of(domain)
        stack = SendingDomainStack(
            app,
            name,
            domain=domain,
            ses_region=region,
            configuration_set_name=config.configuration_set_name_of(domain),
            env=Environment(account=account, region=region),
            stack_name=name,
            description=(
                f"SES sending domain {domain.name} "
                f"({config.app}, environment {config.name})"
            ),
            termination_protection=config.protect_stacks,
        )
        for key, value in config.tags.items():
            Tags.of(stack).add(key, value)
        built.append(stack)

    if config.smtp_users:
        name = f"{config.app}-{config.name}-shared"
        shared = SharedStack(
            app,
            name,
            config=config,
            env=Environment(account=account, region=config.region),
            stack_name=name,
            description=f"SMTP users ({config.app}, environment {config.name})",
            termination_protection=config.protect_stacks,
        )
        for key, value in config.tags.items():
            Tags.of(shared).add(key, value)
        built.append(shared)

    if config.relay.enabled:
        name = relay_stack_name(config)
        relay = RelayStack(
            app,
            name,
            config=config,
            env=Environment(account=account, region=config.region),
            stack_name=name,
            description=f"SMTP relay to SES ({config.app}, environment {config.name})",
            termination_protection=config.protect_stacks,
        )
        relay.add_stack_dependency(shared)
        for key, value in config.tags.items():
            Tags.of(relay).add(key, value)
        built.append(relay)
    return built


def add_checks(app: App) -> None:
    """Run cdk-nag's AWS Solutions rules on every stack when ``app`` synthesizes."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
