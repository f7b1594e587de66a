"""Pipeline steps: the contract (``base``), the registry of step names (``registry``) and one
module per step. Helpers steps share live elsewhere: ``workers.render`` (the message JSON and
templates), ``workers.effects`` (talking to HTTP and SMTP targets), ``workers.extract``."""
