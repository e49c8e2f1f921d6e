"""Reusable test infrastructure (local EVM, stand-in servers) for the Lighthouse test suite."""

from __future__ import annotations
