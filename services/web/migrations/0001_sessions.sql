-- Staff sessions of the desk console. The browser holds only a random id in a
-- __Host- cookie; the row is found by the id's SHA-256, so a leaked table does
-- not hand out live cookies. Provider tokens stay here, never in the browser.
CREATE TABLE staff_sessions (
    id_sha256        BYTEA PRIMARY KEY,
    csrf_token       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    role             TEXT NOT NULL,
    province         TEXT,
    organisation     TEXT,
    access_token     TEXT NOT NULL,
    access_expires_at TIMESTAMPTZ NOT NULL,
    refresh_token    TEXT,
    id_token         TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

-- A sign-in on its way through the provider: the PKCE verifier and nonce,
-- found again by the `state` the provider hands back; used once.
CREATE TABLE sign_in_attempts (
    state          TEXT PRIMARY KEY,
    pkce_verifier  TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    return_to      TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Receipts shown after a POST (post/redirect/get): the page is found by a
-- random token, lives a day, and holds nothing a stranger could use.
CREATE TABLE receipts (
    token          TEXT PRIMARY KEY,
    body           JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX receipts_age ON receipts (created_at);
