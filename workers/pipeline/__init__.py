"""Pipelines: named, ordered steps run over a stored message, with every run recorded."""
