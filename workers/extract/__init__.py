"""One-time-code and verification-link extraction from an email's subject, text and HTML.

Pure functions, no I/O: callers hand in strings (see ``service.mime.parts.subject_text_html`` for
getting them out of a parsed message) and get back the code and the ranked links.
"""

from workers.extract.html_view import html_to_text
from workers.extract.links import find_links
from workers.extract.otp import find_code

__all__ = ["find_code", "find_links", "html_to_text"]
