"""Accounting for every raw file: what is unfinished or orphaned (:mod:`.accounting`, `lakebox reconcile`), putting
the unfinished back into the pipeline (:mod:`.redrive`, `lakebox redrive`), and how both report (:mod:`.render`)."""
