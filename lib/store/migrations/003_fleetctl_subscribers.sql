-- 003_fleetctl_subscribers: integrators that receive AccessEvents (fleetctl
-- subscriber add). The broker holds their accounts and ACLs (dynamic
-- security, role "sub.<name>": subscribe fleet/<site>/+/access of these sites
-- only, never publish); this table is the operator's record of who may see
-- which sites. No password or hash is stored here.
CREATE TABLE mqtt_subscribers (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9-]{1,32}$'),
    sites       text[] NOT NULL CHECK (cardinality(sites) BETWEEN 1 AND 64),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT ''
);
