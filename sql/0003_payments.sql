-- x402 payments: one row per EIP-3009 authorization we accepted for verification.
-- The unique key is the one-use nonce reservation (chain, token, payer, nonce); a row in
-- 'released' may be reserved again (the handler failed, nothing was settled).
CREATE TABLE payments (
    id           bigserial PRIMARY KEY,
    chain_id     bigint NOT NULL,
    asset        text NOT NULL,          -- lowercase 0x address
    payer        text NOT NULL,          -- lowercase 0x address
    nonce        text NOT NULL,          -- lowercase 0x + 64 hex
    pay_to       text NOT NULL,
    amount       numeric(78, 0) NOT NULL CHECK (amount > 0),
    network      text NOT NULL,          -- CAIP-2, e.g. eip155:43113
    resource     text NOT NULL,          -- METHOD + public URL
    state        text NOT NULL DEFAULT 'reserved'
                 CHECK (state IN ('reserved', 'released', 'settled', 'failed', 'pending')),
    tx_hash      text,
    error        text,
    payload      jsonb,                  -- the payment payload, kept for reconciliation
    valid_before bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chain_id, asset, payer, nonce)
);
CREATE INDEX payments_open ON payments (updated_at) WHERE state IN ('reserved', 'pending');

-- Management tokens for monitors bought over the API: only the SHA-256 is stored.
CREATE TABLE api_tokens (
    token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    monitor_id  bigint NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    payment_id  bigint REFERENCES payments(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_monitor ON api_tokens (monitor_id);
