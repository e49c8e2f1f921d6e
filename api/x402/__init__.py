"""x402 paywall for aiohttp: challenge, verify, reserve, run, settle (notes/x402.md §5)."""
