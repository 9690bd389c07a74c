-- Bounded sign-in (replaces login_failures): every attempt is recorded when it is admitted,
-- counted as a failure until its password check passes, by name, client address and overall;
-- a browser that signed in before holds a trusted-browser token (stored as its hash).
DROP TABLE login_failures;

CREATE TABLE sign_in_attempts (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL,
    address TEXT NOT NULL,
    trusted INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sign_in_attempts_login ON sign_in_attempts(login, at_ms);
CREATE INDEX sign_in_attempts_address ON sign_in_attempts(address, at_ms);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts(trusted, at_ms);

CREATE TABLE trusted_browsers (
    token_hash TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    login TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX trusted_browsers_expiry ON trusted_browsers(expires_at_ms);
