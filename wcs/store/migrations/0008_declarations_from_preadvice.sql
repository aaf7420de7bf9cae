-- 0008_declarations_from_preadvice: what the import stores with each
-- declaration it builds from pre-advice (docs/customs.md "Declarations from
-- pre-advice"): the validator's warnings (submitted anyway, shown to
-- operators) and the duty estimate.
ALTER TABLE declarations
    ADD COLUMN warnings   jsonb,   -- [{field, code, message}] of warnings
    ADD COLUMN duty_cents bigint,  -- estimated duty, EUR cents (0 = under the duty-free limit); NULL = not estimated
    ADD COLUMN duty_note  text;    -- how the estimate was made, or why there is none

CREATE INDEX declarations_problems ON declarations (status) WHERE status IN ('invalid', 'rejected');
