"""Provisioning addresses at forwarding providers so their mail reaches this Mailhook (issue 10).

``base`` is the contract, one module per provider holds that provider's API facts, ``registry``
maps the config's ``provider`` name to its adapter, and ``service`` adds the bookkeeping (which
account made which address) that the CLI and the API share.
"""
