"""One domain's receipt rule, and what SES needs to run its actions."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.inbound_bucket import InboundBucket

__all__ = ["DomainReceiptRule", "receipt_rule_arn"]


class DomainReceiptRule(Construct):
    """A receipt rule storing a domain's mail in ``bucket`` under ``prefix``.

    The rule requires TLS from the sending server and, with ``scan``, has SES
    scan for spam and viruses (the verdicts are headers of the stored message).
    Its actions, in order: write the raw message to S3, telling the
    notification topic when ``notify`` is on (the notice names the object; it
    does not carry the message), then invoke ``lambda_arn`` asynchronously.
    The bucket policy, topic policy and Lambda permission each let SES act for
    this rule only, and exist before the rule: SES checks them when it
    creates the rule.

    Keyword arguments:

    - ``recipients``: addresses the rule accepts. Default (empty): ``domain``,
      every address of the domain.
    - ``after``: the rule this one follows in the set. Default: first.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: str,
        rule_set_name: str,
        rule_name: str,
        bucket: InboundBucket,
        prefix: str,
        recipients: Sequence[str] = (),
        scan: bool = True,
        notify: bool = False,
        lambda_arn: str | None = None,
        after: DomainReceiptRule | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.rule_name = rule_name
        arn = receipt_rule_arn(stack, rule_set_name=rule_set_name, rule_name=rule_name)

        bucket.allow_ses_writes(
            sid=f"SesWrites{construct_id}", prefix=prefix, rule_arn=arn
        )
        s3_action: dict[str, str] = {
            "bucketName": bucket.bucket.bucket_name,
            "objectKeyPrefix": prefix,
        }

        self.topic: sns.Topic | None = None
        if notify:
            self.topic = sns.Topic(
                self,
                "Notifications",
                display_name=f"Mail received for {domain}",
                enforce_ssl=True,
            )
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="SesPublishes",
                    principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions=_source(stack, arn),
                )
            )
            s3_action["topicArn"] = self.topic.topic_arn

        actions: list[dict[str, object]] = [{"s3Action": s3_action}]
        permission = None
        if lambda_arn is not None:
            permission = lambda_.CfnPermission(
                self,
                "InvokePermission",
                action="lambda:InvokeFunction",
                function_name=lambda_arn,
                principal="ses.amazonaws.com",
                source_account=stack.account,
                source_arn=arn,
            )
            actions.append(
                {"lambdaAction": {"functionArn": lambda_arn, "invocationType": "Event"}}
            )

        self.rule = ses.CfnReceiptRule(
            self,
            "Rule",
            rule_set_name=rule_set_name,
            after=after.rule_name if after is not None else None,
            rule={
                "name": rule_name,
                "enabled": True,
                "recipients": list(recipients) or [domain],
                "scanEnabled": scan,
                "tlsPolicy": "Require",
                "actions": actions,
            },
        )
        # SES checks its permissions when the rule is created; and the receipt
        # rule API allows one call a second, so rules are made one by one.
        self.rule.node.add_dependency(bucket.bucket.policy)  # type: ignore[arg-type]
        if self.topic is not None:
            self.rule.node.add_dependency(self.topic)
        if permission is not None:
            self.rule.node.add_dependency(permission)
        if after is not None:
            self.rule.node.add_dependency(after.rule)


def receipt_rule_arn(stack: Stack, *, rule_set_name: str, rule_name: str) -> str:
    """The ARN SES names as ``aws:SourceArn`` when it acts for a receipt rule."""
    return stack.format_arn(
        service="ses",
        resource="receipt-rule-set",
        resource_name=f"{rule_set_name}:receipt-rule/{rule_name}",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def _source(stack: Stack, arn: str) -> dict[str, dict[str, str]]:
    return {"StringEquals": {"aws:SourceAccount": stack.account, "aws:SourceArn": arn}}
