-- 012_index_track_identity: an index behind the foreign key that 007 added,
-- recognition_events.track_identity_id -> identities. Without one, deleting
-- an identity (erasure, fleetctl identity delete, a gallery reset) checks
-- that constraint by scanning every partition of recognition_events: 45 ms
-- an identity at 94 k events and linear in them (EXPLAIN ANALYZE of 50
-- deletes: 2,247 ms in that trigger; with the index 6.7 ms). Partial, as
-- recognition_events_identity_idx: only fused faces carry a track identity.
CREATE INDEX recognition_events_track_identity_idx ON recognition_events (track_identity_id)
    WHERE track_identity_id IS NOT NULL;
