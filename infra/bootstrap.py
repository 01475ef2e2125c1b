"""Provision (or with --teardown remove) the whole lakebox topology.

Targets whatever AWS_ENDPOINT_URL names, or real AWS through the normal credential chain when it is unset.
Idempotent: a second run changes nothing and says so. A failure ends in one line that says what failed and what to
do, and exit code 1 (2 for a bad setting), as in `lakebox`; LAKEBOX_DEBUG=1 shows an unexpected one's traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from lakebox_infra.failures import DEBUG_VARIABLE, failure_of
from lakebox_infra.provision import Provisioner
from lakebox_layer.settings import DEFAULT_PROJECT, DEFAULT_REGION, ResourceNames, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teardown", action="store_true", help="remove everything bootstrap creates")
    parser.add_argument("--project", default=os.environ.get("LAKEBOX_PROJECT", DEFAULT_PROJECT))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION")
                        or os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION))
    parser.add_argument("-v", "--verbose", action="store_true", help="also list unchanged resources")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    target = endpoint or "AWS (no AWS_ENDPOINT_URL set)"
    log = logging.getLogger("lakebox.bootstrap")
    log.info("%s project %r in %s at %s", "tearing down" if args.teardown else "provisioning",
             args.project, args.region, target)
    try:
        # Every setting is checked before the first call.
        ResourceNames.check(args.project, args.region)
        overrides = Settings.bootstrap_overrides()
        provisioner = Provisioner.connect(args.project, args.region, endpoint, settings_overrides=overrides)
        report = provisioner.teardown() if args.teardown else provisioner.apply()
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        failure = failure_of(error, endpoint or f"AWS ({args.region})")
        log.error("bootstrap failed: %s", failure.message)
        return failure.exit_code
    log.info(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
