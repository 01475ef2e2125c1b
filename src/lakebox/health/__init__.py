"""Pipeline health: each mapped stage's circuit, what waits for it (:mod:`.model`, `lakebox health`, and why a file
waits in `lakebox status` and `reconcile`), pausing and resuming a stage by hand (:mod:`.pausing`), and how both
look on a terminal (:mod:`.render`)."""
