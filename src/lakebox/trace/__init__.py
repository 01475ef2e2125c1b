"""What happened to a file: one raw file's story (:mod:`.story`) read from the lake (:mod:`.sources`), the functions'
log lines (:mod:`.logs`), and how both look on a terminal (:mod:`.render`)."""
