-- 001_init: the first facefleet backend schema.
-- Applied by backend/store/migrate.c inside one transaction and recorded in
-- schema_migrations; never edit a migration once it has landed: add NNN_next.sql.
-- Files hold no BEGIN/COMMIT of their own.

-- A provisioned device. Ids follow the topic rule [a-z0-9-]{1,32}.
CREATE TABLE devices (
    device_id    text PRIMARY KEY CHECK (device_id ~ '^[a-z0-9-]{1,32}$'),
    site_id      text NOT NULL CHECK (site_id ~ '^[a-z0-9-]{1,32}$'),
    enabled      boolean NOT NULL DEFAULT true,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz,
    -- highest FaceCodes.seq accepted from this device (replay guard; 0 = none yet)
    last_seq     bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);
CREATE INDEX devices_site_idx ON devices (site_id);

-- A person who can be recognised. external_id is what AccessEvent.identity carries.
CREATE TABLE identities (
    identity_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id  text NOT NULL UNIQUE CHECK (length(external_id) BETWEEN 1 AND 128),
    display_name text NOT NULL DEFAULT '',
    enabled      boolean NOT NULL DEFAULT true,
    -- sites where this identity is granted; empty = every site
    allowed_sites text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Enrolled face embeddings (the gallery), one row per enrolment image.
CREATE TABLE face_templates (
    template_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identity_id  bigint NOT NULL REFERENCES identities (identity_id) ON DELETE CASCADE,
    model_id     text NOT NULL,          -- embedding model, e.g. 'mobilefacenet-v1'
    embedding    real[] NOT NULL CHECK (array_ndims(embedding) = 1
                                        AND array_length(embedding, 1) BETWEEN 1 AND 4096),
    source       text NOT NULL DEFAULT '', -- where the enrolment image came from
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX face_templates_identity_idx ON face_templates (identity_id);
CREATE INDEX face_templates_model_idx ON face_templates (model_id);

-- One row per FaceCodes message the backend decided on. (device_id, seq) is
-- unique: a redelivered or replayed message cannot make a second row.
-- seq is FaceCodes.seq; the backend rejects values above 2^63-1.
CREATE TABLE recognition_events (
    event_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_id       text NOT NULL REFERENCES devices (device_id),
    site_id         text NOT NULL,
    seq             bigint NOT NULL CHECK (seq >= 0),
    capture_time    timestamptz NOT NULL,
    decided_time    timestamptz NOT NULL DEFAULT now(),
    decision        text NOT NULL CHECK (decision IN ('granted', 'unknown', 'rejected', 'invalid')),
    identity_id     bigint REFERENCES identities (identity_id),
    score           real,
    model_id        text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    CONSTRAINT recognition_events_device_seq_key UNIQUE (device_id, seq)
);
CREATE INDEX recognition_events_time_idx ON recognition_events (decided_time);
CREATE INDEX recognition_events_identity_idx ON recognition_events (identity_id)
    WHERE identity_id IS NOT NULL;

-- Append-only audit trail of who did what (enrolment, provisioning, decisions).
CREATE TABLE audit_log (
    audit_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,            -- 'backend', 'fleetctl:<user>', device id...
    action      text NOT NULL,            -- 'device.provision', 'identity.enrol', 'event.decide'...
    subject     text NOT NULL DEFAULT '', -- the device, identity or event concerned
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Append-only means append-only: UPDATE, DELETE and TRUNCATE raise.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
