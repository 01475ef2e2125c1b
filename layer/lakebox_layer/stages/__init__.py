"""The pipeline's stages, one module each, as the functions in `lambdas/` run them: ingestion, validation, quality.

Each stage does its side effects first (idempotent copies, the next event) and writes its stage record last with a
conditional write (:mod:`lakebox_layer.stages.recorder`). A stage whose record exists already is a duplicate delivery
and does nothing; a stage that died halfway is redone in full on retry, and the next stage drops the duplicate event
it may then receive.
"""
