"""Where the lake is and reading it: the target every command acts on (:mod:`.target`), bringing it up
(:mod:`.bringup`), the metadata table's records folded into one status row per file (:mod:`.status`, a page at a
time in :mod:`.pages`), the quality metrics read back (:mod:`.metrics`), SQL through Athena (:mod:`.athena`), and
how all of that looks on a terminal (:mod:`.render`)."""
