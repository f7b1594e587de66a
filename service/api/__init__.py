"""``/api/v1``: the read API (issues 10 and 11). Bearer tokens (``auth``), strict query
parameters (``params``) and JSON bodies (``bodies``), message lists and details (``messages``),
raw and attachment downloads (``files``), admin deletes and replays (``admin``), waiting for mail
(``wait`` with ``waiters``), provider addresses (``addresses``), bounce events (``bounces``) and
the suppression list (``suppressions``). Routes are registered in ``service/web/routes.py``; the
OpenAPI description is in ``spec``."""
