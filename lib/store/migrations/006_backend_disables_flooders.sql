-- 006_backend_disables_flooders: fleet-backend may disable a device that
-- keeps flooding past its budget (flood_disable_s; audited
-- device.flood_disable in the same transaction). That is the one column of
-- devices besides its marks the runtime role may change; re-enabling stays
-- with the operator.
GRANT UPDATE (enabled) ON devices TO facefleet_backend;
