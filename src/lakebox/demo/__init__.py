"""`lakebox demo`'s work: the sample files and the sensor readings through the pipeline, each checked against where
the samples say it should end (:mod:`.samples`)."""
