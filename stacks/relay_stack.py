"""The stack of an environment's SMTP relay: ``<app>-<env>-relay``."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from mailcore.config import EnvironmentConfig
from mailcore.relay_settings import maillog_group_name, relay_stack_name
from mailcore.smtp_settings import secret_name
from stacks.relay_network import RelayNetwork
from stacks.smtp_relay import SmtpRelay

__all__ = ["RelayStack"]


class RelayStack(Stack):
    """Postfix relay instances, in a new or an existing VPC of the environment's region.

    The relay authenticates to SES with the secret of ``relay.smtp_user``, made by
    the shared stack, which must therefore be deployed first.
    """

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
        relay = config.relay
        [user] = [u for u in config.smtp_users if u.name == relay.smtp_user]

        network = RelayNetwork(
            self,
            "Network",
            ses_port=relay.ses_port,
            cidr=relay.vpc.new_vpc_cidr,
            nat=relay.vpc.nat,
            vpc_id=relay.vpc.id,
            subnet_ids=relay.vpc.subnet_ids,
        )
        self.relay = SmtpRelay(
            self,
            "Relay",
            relay_name=relay_stack_name(config),
            log_group_name=maillog_group_name(config),
            vpc=network.vpc,
            subnets=network.subnets,
            secret_name=secret_name(config.app, config.name, user),
            ses_region=user.region_in(config.region),
            ses_port=relay.ses_port,
            allowed_cidrs=relay.allowed_cidrs,
            instance_type=relay.instance_type,
            count=relay.count,
            queue_alarm_threshold=relay.queue_alarm_threshold,
            alarm_topic_arn=relay.alarm_topic_arn,
            encryption_key_arn=config.secrets_kms_key_arn,
            submission_secret_name=(
                f"{config.app}/{config.name}/relay/submission"
                if relay.submission_auth
                else None
            ),
            submission_cidrs=relay.submission_cidrs,
        )
        network.allow_endpoints_from(self.relay.security_group)
        # NOTE: one instance has no fixed address (a replacement gets a new
        # one); README "Known limitations".
        CfnOutput(
            self,
            "RelayHost",
            value=self.relay.endpoint or "(the instance's private address)",
            description=(
                "Where clients send mail (ports 25 and 587)"
                if self.relay.endpoint
                else "One instance: find its private address in the EC2 console"
            ),
        )
        CfnOutput(
            self,
            "SesRelayhost",
            value=self.relay.relayhost,
            description="Postfix's relayhost: the SES SMTP endpoint and port",
        )
