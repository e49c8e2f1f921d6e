"""Lighthouse: monitoring with chat and x402-paid API front ends."""
