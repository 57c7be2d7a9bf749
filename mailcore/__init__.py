"""Plain logic shared by the CDK app and the helper commands.

Nothing here imports the CDK: the settings model (:mod:`mailcore.config`), the
DNS records a domain needs (:mod:`mailcore.records`), domain-name rules
(:mod:`mailcore.names`) and the dated region tables (:mod:`mailcore.regions`).
"""
