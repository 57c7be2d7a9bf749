"""Turns one environment's settings into its stacks."""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from mailcore.bounce_settings import (
    BounceSettings,
    alarm_topic_name,
    dashboard_name,
    dashboard_region,
    monitoring_regions,
    monitoring_stack_name,
    ses_regions,
)
from mailcore.config import EnvironmentConfig
from mailcore.inbound_settings import (
    inbound_stack_name,
    receipt_rule_set_name,
    receiving_domains_by_region,
)
from mailcore.relay_settings import relay_stack_name
from stacks.inbound_stack import InboundStack
from stacks.monitoring_stack import MonitoringStack
from stacks.relay_stack import RelayStack
from stacks.sending_domain_stack import SendingDomainStack
from stacks.shared_stack import SharedStack
from stacks.workmail_stack import WorkMailStack

__all__ = ["add_checks", "build_environment"]


def build_environment(app: App, config: EnvironmentConfig) -> list[Stack]:
    """Add the stacks of ``config`` to ``app`` and return them.

    One stack per domain, in the order of ``domains``, then one
    ``<app>-<env>-inbound-<region>`` per SES region with receiving domains, then
    one ``<app>-<env>-monitoring-<region>`` stack per region of
    :func:`~mailcore.bounce_settings.monitoring_regions` when bounce handling is
    on, then the shared stack ``<app>-<env>-shared`` when there are SMTP users,
    then ``<app>-<env>-workmail`` when there is a WorkMail organisation, then
    the relay stack ``<app>-<env>-relay`` when ``relay.enabled``.
    """
    account = config.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    built: list[Stack] = []
    workmail = config.workmail
    served = {d.name for d in workmail.domains} if workmail else set()
    bounces = config.bounces if config.bounces and config.bounces.enabled else None
    for domain in config.domains:
        region = config.ses_region_of(domain)
        name = config.stack_name_of(domain)
        stack = SendingDomainStack(
            app,
            name,
            domain=domain,
            ses_region=region,
            configuration_set_name=config.configuration_set_name_of(domain),
            workmail_region=config.workmail_region_of(domain),
            events_retention_days=bounces.retention_days if bounces else None,
            alarm_topic_name=alarm_topic_name(config) if bounces else None,
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
    domain_stacks = list(built)

    for region, domains in receiving_domains_by_region(config).items():
        name = inbound_stack_name(config.app, config.name, region)
        inbound = InboundStack(
            app,
            name,
            rule_set_name=receipt_rule_set_name(config.app, config.name),
            domains=domains,
            env=Environment(account=account, region=region),
            stack_name=name,
            description=(
                f"SES receiving in {region} ({config.app}, environment {config.name})"
            ),
            termination_protection=config.protect_stacks,
        )
        for key, value in config.tags.items():
            Tags.of(inbound).add(key, value)
        # A domain's stack publishes its inbound MX: only once the rule set that
        # takes the mail is active, or senders get bounces in between.
        receiving = {d.name for d in domains}
        for domain_stack, domain in zip(domain_stacks, config.domains, strict=True):
            if domain.name in receiving:
                domain_stack.add_stack_dependency(inbound)
        built.append(inbound)

    if bounces is not None:
        built += _monitoring_stacks(app, config, bounces, account, domain_stacks)

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

    if workmail is not None:
        name = f"{config.app}-{config.name}-workmail"
        stack = WorkMailStack(
            app,
            name,
            settings=workmail,
            secret_prefix=f"{config.app}/{config.name}/workmail",
            env=Environment(account=account, region=workmail.region),
            stack_name=name,
            description=f"WorkMail ({config.app}, environment {config.name})",
            termination_protection=config.protect_stacks,
        )
        # WorkMail verifies its domains through the records of their stacks.
        for domain_stack, domain in zip(domain_stacks, config.domains, strict=True):
            if domain.name in served:
                stack.add_stack_dependency(domain_stack)
        for key, value in config.tags.items():
            Tags.of(stack).add(key, value)
        built.append(stack)

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


def _monitoring_stacks(
    app: App,
    config: EnvironmentConfig,
    bounces: BounceSettings,
    account: str | None,
    domain_stacks: list[Stack],
) -> list[Stack]:
    sending_regions = ses_regions(config)
    home = dashboard_region(config)
    stacks: list[Stack] = []
    for region in monitoring_regions(config):
        name = monitoring_stack_name(config, region)
        stack = MonitoringStack(
            app,
            name,
            alarm_topic_name=alarm_topic_name(config),
            thresholds=bounces.alarms,
            notify=bounces.notify,
            alarms=region in sending_regions,
            dashboard_name=dashboard_name(config) if region == home else None,
            dashboard_regions=sending_regions,
            relay_name=(
                relay_stack_name(config)
                if config.relay.enabled and region == config.region
                else None
            ),
            env=Environment(account=account, region=region),
            stack_name=name,
            description=(
                f"Email reputation alarms in {region} "
                f"({config.app}, environment {config.name})"
            ),
            termination_protection=config.protect_stacks,
        )
        for key, value in config.tags.items():
            Tags.of(stack).add(key, value)
        # Domain stacks' dead-letter alarms notify this stack's topic by name.
        for domain_stack in domain_stacks:
            if domain_stack.region == region:
                domain_stack.add_stack_dependency(stack)
        stacks.append(stack)
    return stacks


def add_checks(app: App) -> None:
    """Run cdk-nag's AWS Solutions rules on every stack when ``app`` synthesizes."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
