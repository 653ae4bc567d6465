-- 008_sites_erasure_device_delete: three of fleetctl's traps closed in the
-- schema (issue 16, section 1).
--
--  * sites: the site registry. Sites existed only implicitly, so a typo
--    (`subscriber add --sites nosuchsite`) made a new one; fleetctl now
--    refuses a site that is not here (`fleetctl site add|list|remove`).
--    Every site already in use is registered below (devices, identities'
--    allowed sites, integrators), so nothing that works today breaks.
--    Devices and events keep their site_id text columns without a foreign
--    key: the backend's rows and older writers stay valid as they are.
--
--  * device_ids: every device id ever provisioned. Events and their dedupe
--    keys referenced devices, so a device with events could never be
--    deleted; they now reference device_ids (still refusing an unknown
--    device, SQLSTATE 23503), and `fleetctl device delete` removes the
--    devices row (and the device's dedupe keys, so the id can be provisioned
--    again from seq 1) while its events stay. A trigger on devices keeps
--    device_ids in step; it runs as the owner (SECURITY DEFINER), so neither
--    runtime role needs a grant on it.
--
--  * erasure scrubs audit details: `fleetctl identity delete` left the
--    person's name in the backend's audit rows (detail identity,
--    track_identity). audit_log stays append-only for everyone: no role gets
--    UPDATE. ff_audit_scrub_identity(id), owned by the schema owner and the
--    only way in, replaces that one identity's name by its pseudonym
--    ('erased-<id>') in detail values, and only during its erasure (the
--    identity still has its name and no templates left); the append-only
--    trigger lets exactly that through: an UPDATE of detail alone, from
--    inside the function (a transaction-local setting it sets and clears).

-- ---- sites ------------------------------------------------------------------------
CREATE TABLE sites (
    site_id     text PRIMARY KEY CHECK (site_id ~ '^[a-z0-9-]{1,32}$'),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT ''
);
INSERT INTO sites (site_id, created_by)
SELECT s, 'migration 008'
  FROM (SELECT site_id AS s FROM devices
        UNION SELECT unnest(allowed_sites) FROM identities
        UNION SELECT unnest(sites) FROM mqtt_subscribers) u
 WHERE s ~ '^[a-z0-9-]{1,32}$'
ON CONFLICT DO NOTHING;

GRANT SELECT, INSERT, DELETE ON sites TO facefleet_fleetctl;

-- ---- device ids -------------------------------------------------------------------
CREATE TABLE device_ids (
    device_id   text PRIMARY KEY CHECK (device_id ~ '^[a-z0-9-]{1,32}$'),
    first_added timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz           -- NULL while a devices row has this id
);
INSERT INTO device_ids (device_id) SELECT device_id FROM devices;

CREATE FUNCTION ff_device_ids_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO device_ids (device_id) VALUES (NEW.device_id)
        ON CONFLICT (device_id) DO UPDATE SET deleted_at = NULL;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE device_ids SET deleted_at = now() WHERE device_id = OLD.device_id;
    END IF;
    RETURN NULL;
END;
$$;
REVOKE EXECUTE ON FUNCTION ff_device_ids_track() FROM PUBLIC;
CREATE TRIGGER devices_track_ids AFTER INSERT OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION ff_device_ids_track();

-- events and keys reference the registry instead of the devices rows
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conrelid::regclass::text AS tbl, conname
               FROM pg_constraint
              WHERE contype = 'f' AND confrelid = 'devices'::regclass
                AND conrelid IN ('recognition_events'::regclass, 'recognition_event_keys'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
END;
$$;
ALTER TABLE recognition_events ADD CONSTRAINT recognition_events_device_id_fkey
    FOREIGN KEY (device_id) REFERENCES device_ids (device_id);
ALTER TABLE recognition_event_keys ADD CONSTRAINT recognition_event_keys_device_id_fkey
    FOREIGN KEY (device_id) REFERENCES device_ids (device_id);

-- fleetctl device delete: the row, and the dedupe keys of a device whose
-- account is gone (events stay)
GRANT DELETE ON devices, recognition_event_keys TO facefleet_fleetctl;

-- ---- audit details of an erased identity -----------------------------------------
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the one exception: ff_audit_scrub_identity rewriting detail, nothing else
    IF TG_OP = 'UPDATE' AND current_setting('facefleet.audit_scrub', true) = 'on'
       AND NEW.audit_id = OLD.audit_id AND NEW.at = OLD.at AND NEW.actor = OLD.actor
       AND NEW.action = OLD.action AND NEW.subject = OLD.subject
       AND NEW.source IS NOT DISTINCT FROM OLD.source THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Replaces the name of identity p_identity_id by 'erased-<id>' wherever it is
-- a string value of an audit row's detail (at any depth). Only during the
-- identity's erasure: it must still carry its name (not 'erased-...') and
-- have no face templates left. Returns the number of audit rows changed.
CREATE FUNCTION ff_audit_scrub_identity(p_identity_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_name   text;
    v_pseudo text := 'erased-' || p_identity_id;
    v_from   text;
    v_to     text;
    n        bigint;
BEGIN
    SELECT external_id INTO v_name FROM identities WHERE identity_id = p_identity_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ff_audit_scrub_identity: no identity %', p_identity_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF v_name LIKE 'erased-%' OR EXISTS (SELECT 1 FROM face_templates WHERE identity_id = p_identity_id) THEN
        RAISE EXCEPTION 'ff_audit_scrub_identity: identity % is not being erased '
                        '(delete its templates first, in the same transaction)', p_identity_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- the name as a whole JSON string token ("Al_Pacino"): never part of a
    -- longer string, whose inner quotes are escaped
    v_from := to_jsonb(v_name)::text;
    v_to := to_jsonb(v_pseudo)::text;
    PERFORM set_config('facefleet.audit_scrub', 'on', true);
    UPDATE audit_log SET detail = replace(detail::text, v_from, v_to)::jsonb
     WHERE jsonb_path_exists(detail, '$.** ? (@ == $n)', jsonb_build_object('n', v_name));
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('facefleet.audit_scrub', 'off', true);
    RETURN n;
END;
$$;
REVOKE EXECUTE ON FUNCTION ff_audit_scrub_identity(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ff_audit_scrub_identity(bigint) TO facefleet_fleetctl;
