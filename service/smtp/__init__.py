"""SMTP ingress: for providers that forward by email (addy.io, mittwald ``forwardAddresses``, any MTA).

Kept import-light on purpose: ``service.config`` imports ``service.smtp.config``, so nothing here may
import the server, the handler or anything that imports ``service.config``.
"""
