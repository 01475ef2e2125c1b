"""Provision (or with --teardown remove) the whole lakebox topology.

Targets whatever AWS_ENDPOINT_URL names, or real AWS through the normal credential chain when it is unset.
Idempotent: a second run changes nothing and says so.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from botocore.exceptions import BotoCoreError, ClientError

from lakebox_infra.provision import Provisioner
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.settings import DEFAULT_PROJECT, DEFAULT_REGION, Settings


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
        provisioner = Provisioner.connect(args.project, args.region, endpoint,
                                          settings_overrides=Settings.stream_overrides())
        report = provisioner.teardown() if args.teardown else provisioner.apply()
    except (LakeboxError, BotoCoreError, ClientError) as error:
        log.error("bootstrap failed at %s: %s", target, error)
        return 1
    log.info(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
