"""Operator commands for this project: ``python -m mailctl COMMAND --help``.

Commands:

- ``smtp-password``: the SES SMTP password of an IAM secret access key.
"""
