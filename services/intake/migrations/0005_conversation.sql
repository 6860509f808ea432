-- The citizen's side of the conversation with the unit: replies to its
-- questions and the rating of its response. The text stays here (personal
-- data); routing reads it over gRPC (`GetText`).
CREATE TABLE petition_messages (
    id          uuid PRIMARY KEY,
    petition_id uuid        NOT NULL,
    province    text        NOT NULL,
    -- reply | rating
    kind        text        NOT NULL CHECK (kind IN ('reply', 'rating')),
    body        text        NOT NULL DEFAULT '',
    score       integer CHECK (score BETWEEN 1 AND 5),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX petition_messages_petition_idx ON petition_messages (petition_id, kind);
-- one rating per petition
CREATE UNIQUE INDEX petition_messages_one_rating_idx ON petition_messages (petition_id) WHERE kind = 'rating';
