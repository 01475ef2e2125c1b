"""The embedded emulator: MiniStack run as a local process on 127.0.0.1 (:mod:`.embedded`), and the operator user
lakebox acts as when it enforces IAM (:mod:`.operator`)."""
