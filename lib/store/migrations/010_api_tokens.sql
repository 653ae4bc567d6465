-- 010_api_tokens: fleet-backend's HTTP API (issue 16, section 2).
--
--  * api_tokens: who may call /api/v1. `fleetctl token add NAME --role R
--    [--sites a,b]` makes one and prints its secret once ("NAME.<43 random
--    base64url characters>"); only the SHA-256 of that text is stored. The
--    backend finds the row by the name before the dot and compares the hashes
--    in constant time (backend/http_auth.c). role operator: everything, on
--    its sites; integrator: reading events of its sites. sites NULL: every
--    site. A revoked token (revoked_at set) stays listed; its name is not
--    reused.
--
-- Grants, least privilege:
--   facefleet_fleetctl  creates, lists and revokes tokens (never reads the
--                       hash back: the list names its columns)
--   facefleet_backend   reads tokens; and what the API's operator resources
--                       change, the same statements fleetctl runs: sites
--                       (add, remove, threshold), devices (revoke = enabled,
--                       threshold), identities (enrol, erase: templates, the
--                       pseudonymised top-k, ff_audit_scrub_identity); it
--                       reads integrators' sites (a site still named by one
--                       is not removed).
CREATE TABLE api_tokens (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z0-9-]{1,32}$'),
    role         text NOT NULL CHECK (role IN ('operator', 'integrator')),
    sites        text[] CHECK (sites IS NULL OR cardinality(sites) BETWEEN 1 AND 64),
    token_sha256 bytea NOT NULL CHECK (octet_length(token_sha256) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL DEFAULT '',
    revoked_at   timestamptz
);

GRANT SELECT (name, role, sites, created_at, created_by, revoked_at), INSERT ON api_tokens
    TO facefleet_fleetctl;
GRANT UPDATE (revoked_at) ON api_tokens TO facefleet_fleetctl;
GRANT SELECT ON api_tokens TO facefleet_backend;

GRANT INSERT, DELETE ON sites TO facefleet_backend;
GRANT SELECT (description) ON sites TO facefleet_backend;  -- GET /api/v1/sites shows it
GRANT UPDATE (threshold) ON sites, devices TO facefleet_backend;
GRANT SELECT (sites) ON mqtt_subscribers TO facefleet_backend;
GRANT INSERT, UPDATE (external_id, display_name, enabled, allowed_sites) ON identities
    TO facefleet_backend;
GRANT INSERT, DELETE ON face_templates TO facefleet_backend;
GRANT UPDATE (topk) ON recognition_events TO facefleet_backend;
GRANT EXECUTE ON FUNCTION ff_audit_scrub_identity(bigint) TO facefleet_backend;
