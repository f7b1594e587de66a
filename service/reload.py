"""SIGHUP re-reads the config file; a broken file is rejected and the previous one stays."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from service.config import AppConfig, ConfigError, ConfigHolder

log = logging.getLogger("mailhook.config")


def reload_config(holder: ConfigHolder, validate: Callable[[AppConfig], object] | None = None) -> bool:
    try:
        holder.reload(validate)
    except ConfigError as exc:
        log.error("config reload rejected, keeping the previous config:\n%s", exc)
        return False
    log.info("config reloaded from %s", holder.path)
    return True


def install_sighup_reload(holder: ConfigHolder, validate: Callable[[AppConfig], object] | None = None) -> bool:
    """Reload on SIGHUP when this process can take signals (main thread, Unix); True if installed."""
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload_config, holder, validate)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        return False
    return True
