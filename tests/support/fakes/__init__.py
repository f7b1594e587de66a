"""Local stand-ins for third-party HTTP APIs, behaving as the providers document them."""
