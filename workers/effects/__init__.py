"""How steps act on the outside world: posting to HTTP targets, guarded SMTP sockets and the
bytes a forward re-sends. Step modules decide *what* to send; these decide *how*."""
