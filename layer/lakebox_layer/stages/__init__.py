"""The pipeline's stages, one module each, named after the stage the registry declares (:mod:`lakebox_layer.registry`)
and run by the function of the same name in `lambdas/`: ingestion, validation, quality, curation and the stream
batcher, around the batch helpers (:mod:`.batch`) and the stage records (:mod:`.recorder`).

Each file stage does its side effects first (idempotent copies, the next event) and writes its stage record last with
a conditional write (:mod:`lakebox_layer.stages.recorder`). A stage whose record exists already is a duplicate delivery
and does nothing; a stage that died halfway is redone in full on retry, and the next stage drops the duplicate event
it may then receive. The stream batcher writes each batch's objects create-once under a per-shard ledger instead.
"""
