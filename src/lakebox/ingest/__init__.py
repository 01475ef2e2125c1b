"""`lakebox ingest`'s work: local files uploaded to the raw bucket (:mod:`.uploads`), their outcomes awaited
(:mod:`.outcomes`) with a live bar on a terminal (:mod:`.progress`)."""
