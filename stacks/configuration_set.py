"""A configuration set that requires TLS and publishes delivery problems to SNS."""

from __future__ import annotations

from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from mailcore import names

__all__ = ["PUBLISHED_EVENTS", "DeliveryConfigurationSet"]

# SNS refuses a display name over 100 characters; a domain may be longer.
_DISPLAY_NAME_LIMIT = 100

PUBLISHED_EVENTS = (
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
)


class DeliveryConfigurationSet(Construct):
    """The configuration set a domain's identity uses by default.

    Mail goes out over TLS only, reputation metrics are on, addresses that bounce
    or complain are suppressed at the account level, and every bounce,
    complaint, reject and delivery delay is published to :attr:`topic`. The set
    is named (``name``) so that SMTP users' policies can name it, not ``*``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, domain: str, name: str
    ) -> None:
        super().__init__(scope, construct_id)

        self.topic = sns.Topic(
            self,
            "Events",
            display_name=names.shortened(
                f"SES delivery events for {domain}", _DISPLAY_NAME_LIMIT
            ),
            enforce_ssl=True,
        )

        self.configuration_set = ses.ConfigurationSet(
            self,
            "Resource",
            configuration_set_name=name,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )

        self.configuration_set.add_event_destination(
            "ToTopic",
            destination=ses.EventDestination.sns_topic(self.topic),
            events=list(PUBLISHED_EVENTS),
        )
