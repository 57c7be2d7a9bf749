"""Where the relay runs: a new VPC (with endpoints or a NAT), or an existing one."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from mailcore.relay_settings import NEW_VPC_SUBNET_MASK, NEW_VPC_ZONES

__all__ = ["RelayNetwork"]

# What an instance without a route to the internet talks to: Session Manager,
# Secrets Manager, CloudWatch Logs and metrics. dnf reaches the Amazon Linux
# repositories in S3 through the gateway endpoint.
_INTERFACE_ENDPOINTS = {
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "SsmMessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "Ec2Messages": ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
}


class RelayNetwork(Construct):
    """The VPC and subnets of the relay.

    A new VPC (``vpc_id`` None) has a public and a private subnet in two
    Availability Zones and flow logs of rejected traffic. The relay runs in the
    private subnets: with ``nat`` they reach AWS through one NAT gateway;
    without, through interface endpoints (SSM, Secrets Manager, CloudWatch, the
    SES SMTP endpoint on ``ses_port``) and an S3 gateway endpoint for dnf.

    An existing VPC is used as it is: ``subnet_ids`` must already reach those
    services.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ses_port: int,
        cidr: str = "10.80.0.0/16",
        nat: bool = False,
        vpc_id: str | None = None,
        subnet_ids: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.ses_port = ses_port
        self.endpoint_security_group: ec2.SecurityGroup | None = None
        if vpc_id is not None:
            self.vpc: ec2.IVpc = ec2.Vpc.from_vpc_attributes(
                self, "Vpc", vpc_id=vpc_id, availability_zones=["unused"]
            )
            subnets = [
                ec2.Subnet.from_subnet_id(self, f"Subnet{index}", subnet_id)
                for index, subnet_id in enumerate(subnet_ids)
            ]
            for subnet in subnets:
                Validations.of(subnet).acknowledge(
                    Acknowledgment(
                        id="Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                        reason=(
                            "The relay only places instances and the load balancer "
                            "in these subnets; it never reads their route tables."
                        ),
                    )
                )
            self.subnets = ec2.SubnetSelection(subnets=subnets)
            return

        private = (
            ec2.SubnetType.PRIVATE_WITH_EGRESS
            if nat
            else ec2.SubnetType.PRIVATE_ISOLATED
        )
        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=NEW_VPC_ZONES,
            nat_gateways=1 if nat else 0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=NEW_VPC_SUBNET_MASK,
                ),
                ec2.SubnetConfiguration(
                    name="Relay",
                    subnet_type=private,
                    cidr_mask=NEW_VPC_SUBNET_MASK,
                ),
            ],
            flow_logs={
                "Rejected": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        flow_log_group
                    ),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,
                )
            },
        )
        self.vpc = vpc
        self.subnets = ec2.SubnetSelection(subnet_type=private)
        if nat:
            return

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=vpc,
            description="VPC endpoints of the SMTP relay: from the relay only",
            allow_all_outbound=False,
        )
        for name, service in _INTERFACE_ENDPOINTS.items():
            vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.subnets,
                open=False,
                security_groups=[self.endpoint_security_group],
            )
        # NOTE: email-smtp is not offered in every AZ of some regions; CDK can
        # only find out with a synth-time lookup, which this project avoids.
        # README "Known limitations".
        vpc.add_interface_endpoint(
            "SesSmtp",
            service=ec2.InterfaceVpcEndpointAwsService("email-smtp", port=ses_port),
            subnets=self.subnets,
            open=False,
            security_groups=[self.endpoint_security_group],
        )
        vpc.add_gateway_endpoint(
            "S3",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[self.subnets],
        )

    def allow_endpoints_from(self, peer: ec2.IConnectable) -> None:
        """Let ``peer`` reach the interface endpoints (HTTPS and SES's SMTP port)."""
        if self.endpoint_security_group is None:
            return
        for port in (443, self.ses_port):
            self.endpoint_security_group.connections.allow_from(
                peer, ec2.Port.tcp(port), "From the SMTP relay"
            )
