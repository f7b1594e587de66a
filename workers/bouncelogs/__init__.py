"""Pulled provider logs: delivery failures read from provider APIs that have no bounce webhook.

ImprovMX (``GET /v3/domains/{domain}/logs``) and addy.io (``GET /api/v1/failed-deliveries``)
keep a log of forwards that bounced; a worker cron job (``job.pull_bounce_logs``) reads each
configured ``bounce_logs`` account on its own schedule into bounce events, with a stored cursor,
no duplicates (event ids), and backoff when the provider fails or throttles.
"""
