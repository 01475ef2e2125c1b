"""`lakebox send`'s work: records read and checked into entries (:mod:`.entries`), put to the ingest stream in
`PutRecords` calls (:mod:`lakebox_layer.stream_puts`, shared with the ingestion API), followed to the raw files they
land in (:mod:`.landing`); the generated sensor readings (:mod:`.sensor_sample`) and what a send shows
(:mod:`.render`)."""
