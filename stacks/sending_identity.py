"""The SES identity of a domain: DKIM, custom MAIL FROM, default configuration set."""

from __future__ import annotations

from aws_cdk import SecretValue
from aws_cdk import aws_ses as ses
from constructs import Construct

from mailcore.config import DkimSettings, DomainSettings

__all__ = ["SendingIdentity"]

_KEY_LENGTHS = {
    1024: ses.EasyDkimSigningKeyLength.RSA_1024_BIT,
    2048: ses.EasyDkimSigningKeyLength.RSA_2048_BIT,
}

_ON_MX_FAILURE = {
    "use_default": ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
    "reject": ses.MailFromBehaviorOnMxFailure.REJECT_MESSAGE,
}


class SendingIdentity(Construct):
    """An SES domain identity that signs with DKIM and bounces to its MAIL FROM.

    With Easy DKIM, :meth:`easy_dkim_records` gives the three CNAMEs SES asks for,
    straight from the identity's attributes. With a key of your own, the private
    key stays in Secrets Manager: the template holds a dynamic reference that
    CloudFormation resolves at deploy time.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: DomainSettings,
        configuration_set: ses.IConfigurationSet,
    ) -> None:
        super().__init__(scope, construct_id)
        self._signing = domain.dkim.signing

        self.identity = ses.EmailIdentity(
            self,
            "Resource",
            identity=ses.Identity.domain(domain.name),
            dkim_identity=_dkim_identity(domain.dkim),
            dkim_signing=True,
            mail_from_domain=domain.mail_from,
            mail_from_behavior_on_mx_failure=_ON_MX_FAILURE[
                domain.mail_from_on_mx_failure
            ],
            configuration_set=configuration_set,
        )

    def easy_dkim_records(self) -> list[tuple[str, str]]:
        """(name, value) of the three Easy DKIM CNAMEs; empty for a key of your own."""
        if self._signing != "easy":
            return []
        identity = self.identity
        return [
            (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
            (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
            (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
        ]


def _dkim_identity(dkim: DkimSettings) -> ses.DkimIdentity:
    if dkim.signing == "easy":
        return ses.DkimIdentity.easy_dkim(_KEY_LENGTHS[dkim.key_length])
    assert dkim.private_key_secret and dkim.selector
    private_key = SecretValue.secrets_manager(
        dkim.private_key_secret, json_field=dkim.private_key_field
    )
    return ses.DkimIdentity.byo_dkim(
        private_key=private_key,
        selector=dkim.selector,
        public_key=dkim.public_key,
    )
