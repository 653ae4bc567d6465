-- 007_tracks: decisions per face track. A device reading video joins the
-- faces of one person into a track (FaceCodes track_id, track_index) and
-- sends a few of them; the backend still writes one row per face (decision,
-- identity_id and score stay that face's own) and also decides the track on
-- the quality-weighted fusion of its faces so far (backend/track_fusion.h).
-- Every new column is nullable: rows from before, faces without a track and
-- older backends leave them NULL.
--   track_id, track_index  the face's track (FaceCodes 19, 20); NULL: none
--   faces_fused            faces of the track in the fusion this face was
--                          decided with (>= 1); NULL: not fused (no track,
--                          an invalid face, fusion off)
--   track_decision, track_identity_id, track_score, track_reason
--                          the track's decision on that fusion (its best
--                          match, its reason: below_threshold, not_allowed)
--   track_changed          this face changed its track's decision or
--                          identity (the first decision included), so its
--                          AccessEvent was published; false: row only
-- Grants (005, 006): both runtime roles hold table-wide SELECT (and the
-- backend INSERT) on recognition_events, which covers columns added later;
-- fleetctl's column-wise UPDATE stays topk only, so erasing an identity
-- leaves track_identity_id pointing at the renamed (erased-) identity, like
-- identity_id. Nothing to grant here.
ALTER TABLE recognition_events
    ADD COLUMN track_id bigint CHECK (track_id IS NULL OR track_id > 0),
    ADD COLUMN track_index integer CHECK (track_index IS NULL OR track_index >= 0),
    ADD COLUMN faces_fused integer CHECK (faces_fused IS NULL OR faces_fused >= 1),
    ADD COLUMN track_decision text
        CHECK (track_decision IS NULL OR track_decision IN ('granted', 'unknown', 'rejected')),
    ADD COLUMN track_identity_id bigint REFERENCES identities (identity_id),
    ADD COLUMN track_score real,
    ADD COLUMN track_reason text,
    ADD COLUMN track_changed boolean;

-- one track's rows (fleetctl events query track=N)
CREATE INDEX recognition_events_track_idx ON recognition_events (device_id, track_id)
    WHERE track_id IS NOT NULL;
