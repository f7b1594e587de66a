"""``/api/v1``: the read API (issue 10). Bearer tokens (``auth``), strict query parameters
(``params``), message lists and details (``messages``), raw and attachment downloads (``files``),
admin deletes and replays (``admin``), and waiting for mail (``wait`` with ``waiters``). Routes
are registered in ``service/routes.py``; the OpenAPI description is in ``spec``."""
