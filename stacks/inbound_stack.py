"""One stack per environment and SES region that receives mail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ses as ses
from constructs import Construct

from mailcore import names
from mailcore.config import DomainSettings
from mailcore.inbound_settings import object_prefix, receipt_rule_name
from stacks.domain_receipt_rule import DomainReceiptRule
from stacks.inbound_bucket import InboundBucket, PrefixLifecycle
from stacks.rule_set_activation import RuleSetActivation

__all__ = ["InboundStack", "domain_construct_id"]


class InboundStack(Stack):
    """The environment's receipt rule set in one region, active, and its bucket.

    SES runs one receipt rule set per account and region, so the receiving
    domains of an environment in one region share this stack: one rule each,
    in the order of ``domains``, writing to one bucket under ``<domain>/``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set_name: str,
        domains: Sequence[DomainSettings],
        **stack_options: Any,
    ) -> None:
        super().__init__(scope, construct_id, **stack_options)

        bucket = InboundBucket(
            self,
            "Bucket",
            lifecycles=[
                PrefixLifecycle(
                    rule_id=f"Expire{domain_construct_id(domain.name)}",
                    prefix=object_prefix(domain.name),
                    expire_after_days=domain.inbound.expire_after_days,
                    noncurrent_expire_after_days=(
                        domain.inbound.noncurrent_expire_after_days
                    ),
                )
                for domain in domains
                if domain.inbound is not None
            ],
        )
        rule_set = ses.CfnReceiptRuleSet(self, "RuleSet", rule_set_name=rule_set_name)

        rules: list[DomainReceiptRule] = []
        for domain in domains:
            inbound = domain.inbound
            assert inbound is not None, "only receiving domains are passed in"
            construct_id = domain_construct_id(domain.name)
            rule = DomainReceiptRule(
                self,
                construct_id,
                domain=domain.name,
                rule_set_name=rule_set_name,
                rule_name=receipt_rule_name(domain.name),
                bucket=bucket,
                prefix=object_prefix(domain.name),
                recipients=inbound.recipients,
                scan=inbound.scan,
                notify=inbound.notify,
                lambda_arn=inbound.lambda_arn,
                after=rules[-1] if rules else None,
            )
            rule.rule.node.add_dependency(rule_set)
            rules.append(rule)
            if rule.topic is not None:
                CfnOutput(
                    self,
                    f"{construct_id}TopicArn",
                    value=rule.topic.topic_arn,
                    description=f"SNS topic told of each message for {domain.name}",
                )

        activation = RuleSetActivation(
            self,
            "ActiveRuleSet",
            rule_set_name=rule_set_name,
            rule_names=[rule.rule_name for rule in rules],
        )
        activation.resource.node.add_dependency(
            rule_set, *(rule.rule for rule in rules)
        )

        CfnOutput(
            self,
            "MailBucketName",
            value=bucket.bucket.bucket_name,
            description="Bucket holding received messages under <domain>/",
        )
        CfnOutput(
            self,
            "ReceiptRuleSetName",
            value=rule_set_name,
            description="The receipt rule set this stack keeps active",
        )


def domain_construct_id(domain: str) -> str:
    """A domain as a construct id: ``mail.example.com`` -> ``MailExampleCom``.

    Renaming a domain replaces its rule, topic and permission.
    """
    return "".join(
        part.capitalize() or "X" for part in names.stack_slug(domain).split("-")
    )
