-- 011_codes_packed_256: recognition_events.codes holds a face's code indices
-- packed (lib/codec bitpack), whichever form they travelled in. A model may
-- now pack to more than the 128 bytes a face may take on the wire (up to
-- FF_VQ_MAX_PACKED, 256: it is then sent entropy-coded within 128, issue 12),
-- so the stored form's bound follows the codec's, not the wire's.
ALTER TABLE recognition_events DROP CONSTRAINT recognition_events_codes_check;
ALTER TABLE recognition_events
    ADD CONSTRAINT recognition_events_codes_check
    CHECK (codes IS NULL OR octet_length(codes) BETWEEN 1 AND 256);
