-- The family's voice (issue 18): how and when it is asked "did you get help?", and its answer.
-- What could tell about the family is sealed under its case's key like the rest of its data
-- (the safe hours, the link's token, its comment) and erased with it.
ALTER TABLE referral_case ADD COLUMN safety_concerns boolean NOT NULL DEFAULT false;

CREATE TABLE follow_up (
    id          uuid PRIMARY KEY,   -- what the notifications service asks for the message by
    case_id     uuid        NOT NULL UNIQUE REFERENCES referral_case (id),
    channel     text        NOT NULL,            -- email | text | officer | none
    chosen      boolean     NOT NULL,            -- the family's choice (else the default)
    status      text        NOT NULL,            -- bridges_referrals.follow_up.FollowUpStatus
    reconfirmed boolean     NOT NULL,
    due_at      timestamptz,                     -- NULL: never (channel none)
    safe_window bytea,                           -- sealed {"hours", "time_zone"}
    token_hash  bytea UNIQUE,                    -- SHA-256 of the link's token
    token       bytea,                           -- the token, sealed (a retry sends it again)
    sent_at     timestamptz,
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL
);
CREATE INDEX follow_up_due ON follow_up (due_at)
    WHERE status = 'scheduled' AND channel IN ('email', 'text');

CREATE TABLE family_feedback (
    case_id     uuid PRIMARY KEY REFERENCES referral_case (id),
    answer      text        NOT NULL,            -- got-help | not-yet | could-not-reach | ...
    at          timestamptz NOT NULL,
    via         text        NOT NULL,            -- link | officer
    recorded_by text,                            -- the officer told, when via officer
    comment     bytea                            -- the family's words, sealed
);
