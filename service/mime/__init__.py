"""The one MIME reader: header blocks (``headers``) for every ingest path, bodies and
attachments (``body``) for the worker, hydrate and ``mailhook inspect``."""
