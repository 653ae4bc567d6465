-- 002_partitions_and_backend: what fleet-backend needs on top of 001.
--  * recognition_events and audit_log become declaratively partitioned by day
--    (retention = dropping whole partitions; ff_partitions_maintain() below);
--  * events gain received_time, top-k matches and the deciding backend;
--  * (device_id, seq) uniqueness moves to recognition_event_keys, because a
--    unique constraint on a partitioned table must contain the partition key.
--    A trigger keeps the old behaviour for direct INSERTs: a second row for the
--    same (device_id, seq) raises unique_violation naming
--    recognition_events_device_seq_key, as in 001;
--  * audit_log gains `source` (from where: topic, peer) and stays append-only;
--  * NOTIFY ff_gallery / ff_devices when enrolments or devices change, so
--    running backends refresh their in-memory copies.
-- Rows already in the 001 tables are copied over.

-- ---- recognition events ---------------------------------------------------------
ALTER TABLE recognition_events RENAME TO recognition_events_001;
ALTER TABLE recognition_events_001 RENAME CONSTRAINT recognition_events_device_seq_key
    TO recognition_events_001_device_seq_key;
ALTER INDEX recognition_events_pkey RENAME TO recognition_events_001_pkey;
ALTER INDEX recognition_events_time_idx RENAME TO recognition_events_001_time_idx;
ALTER INDEX recognition_events_identity_idx RENAME TO recognition_events_001_identity_idx;

-- The dedupe key of every event: one row per (device_id, seq) ever decided
-- (within the event retention; older keys are pruned with their events, and
-- the per-device high-water mark devices.last_seq keeps refusing those seqs).
CREATE TABLE recognition_event_keys (
    device_id    text NOT NULL REFERENCES devices (device_id),
    seq          bigint NOT NULL CHECK (seq >= 0),
    event_id     uuid NOT NULL,
    decided_time timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recognition_events_device_seq_key PRIMARY KEY (device_id, seq)
);
CREATE INDEX recognition_event_keys_time_idx ON recognition_event_keys (decided_time);

CREATE TABLE recognition_events (
    event_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    device_id       text NOT NULL REFERENCES devices (device_id),
    site_id         text NOT NULL,
    seq             bigint NOT NULL CHECK (seq >= 0),
    capture_time    timestamptz NOT NULL,
    received_time   timestamptz NOT NULL DEFAULT now(),
    decided_time    timestamptz NOT NULL DEFAULT now(),
    decision        text NOT NULL CHECK (decision IN ('granted', 'unknown', 'rejected', 'invalid')),
    identity_id     bigint REFERENCES identities (identity_id),
    score           real,
    model_id        text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    -- best matches, best first: [{"identity": "<external_id>", "score": 0.71}, ...]
    topk            jsonb NOT NULL DEFAULT '[]'::jsonb,
    backend         text NOT NULL DEFAULT '',  -- instance that decided
    PRIMARY KEY (event_id, decided_time)
) PARTITION BY RANGE (decided_time);
CREATE TABLE recognition_events_default PARTITION OF recognition_events DEFAULT;
CREATE INDEX recognition_events_time_idx ON recognition_events (decided_time);
CREATE INDEX recognition_events_device_idx ON recognition_events (device_id, seq);
CREATE INDEX recognition_events_identity_idx ON recognition_events (identity_id)
    WHERE identity_id IS NOT NULL;

-- Claims (device_id, seq) for the new row; a different event already holding
-- it is a unique violation (redelivery and replay make no second row).
CREATE FUNCTION recognition_events_claim_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    holder uuid;
BEGIN
    INSERT INTO recognition_event_keys (device_id, seq, event_id, decided_time)
    VALUES (NEW.device_id, NEW.seq, NEW.event_id, NEW.decided_time)
    ON CONFLICT (device_id, seq) DO NOTHING;
    SELECT event_id INTO holder FROM recognition_event_keys
     WHERE device_id = NEW.device_id AND seq = NEW.seq;
    IF holder IS DISTINCT FROM NEW.event_id THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint "recognition_events_device_seq_key"'
            USING ERRCODE = 'unique_violation',
                  CONSTRAINT = 'recognition_events_device_seq_key',
                  TABLE = 'recognition_events',
                  DETAIL = format('Key (device_id, seq)=(%s, %s) already exists.', NEW.device_id, NEW.seq);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER recognition_events_claim_key BEFORE INSERT ON recognition_events
    FOR EACH ROW EXECUTE FUNCTION recognition_events_claim_key();

INSERT INTO recognition_events (event_id, device_id, site_id, seq, capture_time, decided_time,
                                decision, identity_id, score, model_id, reason)
SELECT event_id, device_id, site_id, seq, capture_time, decided_time, decision, identity_id,
       score, model_id, reason
  FROM recognition_events_001;
DROP TABLE recognition_events_001;

-- ---- audit log ----------------------------------------------------------------------
ALTER TABLE audit_log RENAME TO audit_log_001;
ALTER INDEX audit_log_pkey RENAME TO audit_log_001_pkey;
ALTER INDEX audit_log_at_idx RENAME TO audit_log_001_at_idx;
DROP TRIGGER audit_log_no_update ON audit_log_001;
DROP TRIGGER audit_log_no_truncate ON audit_log_001;

-- Who (actor) did what (action) to which object (subject), when (at), from
-- where (source), with details. Rejected input is recorded here too.
CREATE TABLE audit_log (
    audit_id    bigint GENERATED ALWAYS AS IDENTITY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,            -- 'backend:<instance>', 'fleetctl:<user>', device id...
    action      text NOT NULL,            -- 'event.decide', 'message.reject', 'identity.enrol'...
    subject     text NOT NULL DEFAULT '', -- the device, identity or event concerned
    source      text NOT NULL DEFAULT '', -- where it came from: 'mqtt:<topic>', 'cli:<host>'
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (audit_id, at)
) PARTITION BY RANGE (at);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_subject_idx ON audit_log (subject);

INSERT INTO audit_log (at, actor, action, subject, detail)
SELECT at, actor, action, subject, detail FROM audit_log_001 ORDER BY audit_id;
DROP TABLE audit_log_001;

-- Append-only: UPDATE and DELETE raise for every row (partitions included);
-- TRUNCATE of the table raises. Expired days go by dropping partitions
-- (ff_partitions_maintain), which is DDL for the owner only.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_default_no_truncate BEFORE TRUNCATE ON audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- ---- partitions and retention ----------------------------------------------------------
-- Creates daily partitions of `parent` (recognition_events or audit_log) for
-- today - 1 .. today + ahead_days, and drops those whose whole day ended more
-- than keep_days ago (keep_days <= 0 keeps everything). Returns one line per
-- partition created or dropped. Safe to run often and from several backends.
CREATE FUNCTION ff_partitions_maintain(parent text, keep_days integer, ahead_days integer DEFAULT 7)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    d      date;
    part   text;
    bound  text;
    upper_ts timestamptz;
    r      record;
    busy   boolean;
    keycol text := CASE parent WHEN 'audit_log' THEN 'at' ELSE 'decided_time' END;
BEGIN
    IF parent NOT IN ('recognition_events', 'audit_log') THEN
        RAISE EXCEPTION 'ff_partitions_maintain: % is not a partitioned facefleet table', parent;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ff_partitions_maintain:' || parent));
    FOR d IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - 1,
                                    (now() AT TIME ZONE 'UTC')::date + greatest(ahead_days, 0),
                                    interval '1 day')::date
    LOOP
        part := format('%s_p%s', parent, to_char(d, 'YYYYMMDD'));
        IF to_regclass(part) IS NULL THEN
            -- rows of that day already in the default partition would block
            -- it (audit rows cannot be moved: append-only): leave that day there
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %L::timestamptz AND %I < %L::timestamptz)',
                           parent || '_default', keycol, d::text || ' 00:00:00+00',
                           keycol, (d + 1)::text || ' 00:00:00+00') INTO busy;
            IF busy THEN
                RETURN NEXT 'kept ' || part || ' in ' || parent || '_default';
                CONTINUE;
            END IF;
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           part, parent, d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
            IF parent = 'audit_log' THEN
                EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I '
                               'FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()', part);
            END IF;
            RETURN NEXT 'created ' || part;
        END IF;
    END LOOP;
    IF keep_days > 0 THEN
        FOR r IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS b
                   FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE i.inhparent = parent::regclass AND c.relname <> parent || '_default'
        LOOP
            bound := substring(r.b FROM 'TO \(''([^'']+)''\)');
            IF bound IS NULL THEN CONTINUE; END IF;
            upper_ts := bound::timestamptz;
            IF upper_ts <= now() - make_interval(days => keep_days) THEN
                EXECUTE format('DROP TABLE %I', r.relname);
                RETURN NEXT 'dropped ' || r.relname;
            END IF;
        END LOOP;
        IF parent = 'recognition_events' THEN
            DELETE FROM recognition_event_keys
             WHERE decided_time < now() - make_interval(days => keep_days);
        END IF;
    END IF;
END;
$$;

-- ---- change notifications -----------------------------------------------------------------
CREATE FUNCTION ff_notify_gallery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ff_gallery', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
CREATE TRIGGER face_templates_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON face_templates
    FOR EACH STATEMENT EXECUTE FUNCTION ff_notify_gallery();
CREATE TRIGGER identities_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON identities
    FOR EACH STATEMENT EXECUTE FUNCTION ff_notify_gallery();

CREATE FUNCTION ff_notify_devices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ff_devices', TG_OP);
    RETURN NULL;
END;
$$;
-- last_seq / last_seen_at updates by the backends themselves do not notify
CREATE TRIGGER devices_notify AFTER INSERT OR DELETE OR TRUNCATE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION ff_notify_devices();
CREATE TRIGGER devices_notify_update AFTER UPDATE OF device_id, site_id, enabled ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION ff_notify_devices();

SELECT ff_partitions_maintain('recognition_events', 0);
SELECT ff_partitions_maintain('audit_log', 0);
