-- 005_runtime_roles: least privilege at run time. The schema's owner (the
-- role that runs these migrations) is the only one that can change tables:
-- ALTER TABLE ... DISABLE TRIGGER followed by DELETE emptied the audit log
-- when the backend ran as the owner. The programs run as two roles the
-- database administrator creates before this migration (deploy/stack does;
-- docs/DATABASE.md gives the SQL):
--   facefleet_backend   fleet-backend: reads devices and the gallery, writes
--                       events, keys and audit rows, moves devices' marks
--   facefleet_fleetctl  fleetctl: provisioning, enrolment, erasure, queries
-- Neither owns anything, so neither can ALTER, DISABLE TRIGGER or TRUNCATE;
-- on audit_log both have INSERT and SELECT only.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'facefleet_backend')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'facefleet_fleetctl') THEN
        RAISE EXCEPTION 'roles facefleet_backend and facefleet_fleetctl must exist before migration 005 '
                        '(create them as the database administrator: docs/DATABASE.md)';
    END IF;
END;
$$;

GRANT USAGE ON SCHEMA public TO facefleet_backend, facefleet_fleetctl;
GRANT SELECT ON schema_migrations TO facefleet_backend, facefleet_fleetctl;

-- the backend
GRANT SELECT ON devices, identities, face_templates TO facefleet_backend;
GRANT UPDATE (last_seq, last_seen_at) ON devices TO facefleet_backend;
GRANT SELECT, INSERT ON recognition_events, recognition_event_keys, audit_log TO facefleet_backend;

-- partition upkeep is DDL: the backend calls it, it runs with the owner's
-- rights and can do nothing else (fixed parents, fixed statements)
ALTER FUNCTION ff_partitions_maintain(text, integer, integer)
    SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE EXECUTE ON FUNCTION ff_partitions_maintain(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ff_partitions_maintain(text, integer, integer) TO facefleet_backend;

-- fleetctl
GRANT SELECT, INSERT ON devices, mqtt_subscribers TO facefleet_fleetctl;
GRANT UPDATE (enabled, description, last_seq, seq_generation) ON devices TO facefleet_fleetctl;
GRANT UPDATE (enabled, sites) ON mqtt_subscribers TO facefleet_fleetctl;
GRANT SELECT, INSERT, UPDATE ON identities TO facefleet_fleetctl;
GRANT SELECT, INSERT, DELETE ON face_templates TO facefleet_fleetctl;
GRANT SELECT ON recognition_events, recognition_event_keys TO facefleet_fleetctl;
-- identity erasure scrubs the name out of stored top-k lists
GRANT UPDATE (topk) ON recognition_events TO facefleet_fleetctl;
GRANT SELECT, INSERT ON audit_log TO facefleet_fleetctl;
