"""lakebox: a serverless data lake that runs on a laptop and deploys unchanged to AWS."""

__version__ = "0.1.0"
