"""Local stand-ins for third-party HTTP APIs, each built from that provider's own documentation."""
