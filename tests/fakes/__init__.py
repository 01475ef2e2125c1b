"""What the unit tests stand in for AWS with, in one place: in-memory adapters typed against the layer's ports and
the stages built on them (:mod:`.stages`), the stream batcher's ledger and create-once store (:mod:`.stream`), the
metadata table's status index (:mod:`.metadata`), a lake's status for the CLI's waits (:mod:`.status`), what
`lakebox trace` and `lakebox docs` read (:mod:`.trace`, :mod:`.docs`), botocore Stubbers behind a provisioning
context (:mod:`.provision`), byte streams that arrive in pieces (:mod:`.streams`), and a function's environment
(:mod:`.functions`). A fake handed to a constructor typed with :mod:`lakebox_layer.ports` is checked by mypy against
the port the real adapter implements."""
