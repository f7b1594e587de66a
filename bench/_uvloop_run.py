"""Run a module as ``python -m`` would, with uvloop's event loop policy installed first.

bench/pipeline ``--uvloop`` starts both workers through this (``python -m bench._uvloop_run
service worker --burst``, ``… bench._noop_worker``) to measure what the worker would gain from
uvloop: arq's ``Worker`` takes its loop from ``asyncio.get_event_loop()``, so the policy decides.
Mailhook's code is unchanged.
"""

from __future__ import annotations

import runpy
import sys

import uvloop

if __name__ == "__main__":
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    uvloop.install()
    runpy.run_module(module, run_name="__main__", alter_sys=True)
