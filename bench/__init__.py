"""Mailhook benchmarks (not tests): ``bench/ingest`` and friends; see bench/README.md."""
