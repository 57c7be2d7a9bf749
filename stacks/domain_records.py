"""A domain's DNS records: in a Route 53 zone, or as outputs for another DNS host."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_route53 as route53
from constructs import Construct

from mailcore.records import DnsRecord

__all__ = ["DomainRecords"]


class DomainRecords(Construct):
    """Publishes ``records`` in ``zone``, or, without a zone, outputs each one.

    Names are passed to Route 53 fully qualified with a final dot, so the zone
    name is never appended a second time, also for a domain inside its parent's
    zone and for the DKIM names SES returns already qualified. Without a zone,
    each record becomes an output holding its zone-file line(s), ready to be
    entered at another DNS host.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        records: Sequence[DnsRecord],
        ttl: int,
        zone: route53.IHostedZone | None,
    ) -> None:
        super().__init__(scope, construct_id)

        for record in records:
            if zone is None:
                output = CfnOutput(
                    self,
                    record.key,
                    value="\n".join(record.zone_lines(ttl)),
                    description=f"DNS record to create: {record.purpose}",
                )
                # Scripts read these by name: keep the key free of a hash.
                output.override_logical_id(f"Dns{record.key}")
                continue
            route53.RecordSet(
                self,
                record.key,
                zone=zone,
                record_name=f"{record.name}.",
                record_type=route53.RecordType(record.type),
                target=route53.RecordTarget.from_values(*record.values),
                ttl=Duration.seconds(ttl),
                comment=record.purpose,
            )
