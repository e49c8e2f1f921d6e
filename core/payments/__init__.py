"""x402 payments: requirements, the pure verifier, nonce reservations and settlement."""
