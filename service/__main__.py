"""``python -m service`` is the same as the ``mailhook`` command."""

from service.cli.main import main

main()
