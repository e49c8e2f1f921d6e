-- A payment settled whose paid action then failed (a race the pre-payment dry run could
-- not see, e.g. a limit reached meanwhile) is owed back to the payer:
--   settled -> refund_due -> refunding -> refunded
-- 'refunding' is taken atomically before a transfer is sent, so two processes never
-- send the same refund; a row left there (no receipt yet, or a crash mid-send) is
-- decided from its refund_tx, or by the operator (`lighthouse payments refunds`).
ALTER TABLE payments DROP CONSTRAINT payments_state_check;
ALTER TABLE payments ADD CONSTRAINT payments_state_check
    CHECK (state IN ('reserved', 'released', 'settled', 'failed', 'pending',
                     'refund_due', 'refunding', 'refunded'));
ALTER TABLE payments
    ADD COLUMN refund_reason text,       -- why the paid action failed (code: message)
    ADD COLUMN refund_tx     text,       -- the transfer back to the payer
    ADD COLUMN refunded_at   timestamptz;
CREATE INDEX payments_refunds ON payments (updated_at)
    WHERE state IN ('refund_due', 'refunding');
