"""The web process's application: ``create_app``, the one route table, lifespan state, health checks."""
