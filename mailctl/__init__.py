"""Operator commands for this project: ``python -m mailctl COMMAND --help``.

Commands:

- ``smtp-password``: the SES SMTP password of an IAM secret access key.
- ``records``: the DNS records a domain needs (table, zone file, JSON).
- ``doctor``: a domain's live DNS, SES status and SMTP endpoint, checked.
- ``send-test``: one message through the SES SMTP endpoint, failures explained.
"""
