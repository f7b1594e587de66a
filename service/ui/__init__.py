"""``/ui``: the web inbox (issue 12), served by the same Starlette app as the hooks and the API.

Server-rendered Jinja2 pages (autoescaped) with a little plain JavaScript, every asset served
from ``service/ui/static``: no build step, no CDN, works offline. The pages read the store through
the read API's own functions (``service.store.reads``, ``service.api.views``) and check sign-in
with the API's tokens (``service.store.tokens``); sessions live in ``service.store.sessions``.

Modules: ``pages`` (rendering, security headers), ``session`` (cookies, CSRF, origin checks),
``errors`` (HTML error pages), ``signin``, ``inbox`` + ``search`` + ``events`` (the live list),
``message`` + ``body`` + ``htmlsafe`` (one message, its sandboxed HTML), ``ops`` (dead letters,
sources, queue and worker status), ``bounces`` (bounce events and the suppression list).
Routes are listed in ``service/web/routes.py``.
"""
