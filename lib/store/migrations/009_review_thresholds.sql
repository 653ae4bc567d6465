-- 009_review_thresholds: human review and per-site thresholds (issue 16,
-- sections 3 and 5).
--
--  * recognition_events.codes: the face's packed code indices as received
--    (FaceCodes.codes, at most 128 bytes; about 123 with vq2), so an
--    operator can see the decoder's reconstruction of a recorded event
--    (lib/review: fleetctl events show ID --image, GET /events/ID/face.png).
--    model_id already names the decoder. NULL for an invalid message and for
--    rows from before this migration.
--  * sites.threshold, devices.threshold: the open-set threshold of a site and
--    a device's override (NULL: none). The backend's effective threshold for
--    a face is its device's, else its site's, else the global `threshold`
--    setting (backend/THRESHOLD.md). The backend reads them with its device
--    cache; a change notifies ff_devices so every backend reloads it.
--
-- Grants, least privilege: the backend inserts codes (its INSERT on
-- recognition_events is table-wide) and reads the thresholds (devices:
-- table-wide SELECT already; sites: the two columns it needs); fleetctl
-- reads codes (table-wide SELECT already) and writes the thresholds, nothing
-- else of either table.
ALTER TABLE recognition_events
    ADD COLUMN codes bytea CHECK (codes IS NULL OR octet_length(codes) BETWEEN 1 AND 128);

ALTER TABLE sites
    ADD COLUMN threshold real CHECK (threshold IS NULL OR (threshold > 0 AND threshold <= 1));
ALTER TABLE devices
    ADD COLUMN threshold real CHECK (threshold IS NULL OR (threshold > 0 AND threshold <= 1));

GRANT SELECT (site_id, threshold) ON sites TO facefleet_backend;
GRANT UPDATE (threshold) ON sites, devices TO facefleet_fleetctl;

-- the backend's device cache carries each device's effective override
CREATE TRIGGER devices_notify_threshold AFTER UPDATE OF threshold ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION ff_notify_devices();
CREATE TRIGGER sites_notify_threshold AFTER UPDATE OF threshold ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION ff_notify_devices();
