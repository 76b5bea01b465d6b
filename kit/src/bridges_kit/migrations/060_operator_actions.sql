-- What ops and admins did through the operations surfaces (replays, pauses, endpoint changes):
-- who, when, which action on which object, and how it ended. Appended only; ids and outcomes,
-- never family data.
CREATE TABLE operator_actions (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,
    name    text,
    role    text        NOT NULL,
    action  text        NOT NULL,
    target  text        NOT NULL,
    outcome text        NOT NULL DEFAULT 'done',
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb
);
