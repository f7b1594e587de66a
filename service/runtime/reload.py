"""SIGHUP re-reads the config file; a broken file is rejected and the previous one stays.

One process may hold several configs: ``mailhook dev`` runs web, worker and SMTP on one event
loop, each with its own holder. A loop has only one SIGHUP handler, so every holder registers
with that loop's ``_Reloaders`` and one signal reloads them all.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import weakref
from collections.abc import Callable

from service.config import AppConfig, ConfigError, ConfigHolder

log = logging.getLogger("mailhook.config")

Validator = Callable[[AppConfig], object]


def reload_config(holder: ConfigHolder, validate: Validator | None = None) -> bool:
    try:
        holder.reload(validate)
    except ConfigError as exc:
        log.error("config reload rejected, keeping the previous config:\n%s", exc)
        return False
    log.info("config reloaded from %s", holder.path)
    return True


class _Reloaders:
    """The holders one event loop reloads on SIGHUP (held weakly: a stopped app lets go of its own)."""

    def __init__(self) -> None:
        self.holders: weakref.WeakKeyDictionary[ConfigHolder, Validator | None] = weakref.WeakKeyDictionary()

    def reload_all(self) -> None:
        for holder, validate in list(self.holders.items()):
            reload_config(holder, validate)


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Reloaders] = weakref.WeakKeyDictionary()


def install_sighup_reload(holder: ConfigHolder, validate: Validator | None = None) -> bool:
    """Reload on SIGHUP when this process can take signals (main thread, Unix); True if installed."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    reloaders = _BY_LOOP.get(loop)
    if reloaders is None:
        reloaders = _Reloaders()
        try:
            loop.add_signal_handler(signal.SIGHUP, reloaders.reload_all)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            return False
        _BY_LOOP[loop] = reloaders
    reloaders.holders[holder] = validate
    return True
