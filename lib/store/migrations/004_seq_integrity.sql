-- 004_seq_integrity: what a device's sequence numbers may and may not do.
--  * recognition_event_keys.digest: SHA-256 of the FaceCodes message that
--    claimed (device_id, seq). A repeat with the same bytes is a redelivery
--    (it gets the stored decision again); other bytes under a used seq are
--    refused as seq_reused, never decided and published as a new event.
--    NULL for keys claimed before this migration (treated as redeliveries).
--  * devices.seq_generation: bumped by `fleetctl device reset-seq`, the one
--    way a device's high-water mark (last_seq) may go down; a backend that
--    sees a new generation takes last_seq from the table instead of keeping
--    its own higher mark.
ALTER TABLE recognition_event_keys ADD COLUMN digest bytea
    CHECK (digest IS NULL OR octet_length(digest) = 32);
ALTER TABLE devices ADD COLUMN seq_generation integer NOT NULL DEFAULT 0;

DROP TRIGGER devices_notify_update ON devices;
CREATE TRIGGER devices_notify_update AFTER UPDATE OF device_id, site_id, enabled, seq_generation
    ON devices FOR EACH STATEMENT EXECUTE FUNCTION ff_notify_devices();
