"""docs/ingestion-api.md's commands, run exactly as written (every `sh` block, in order, in one shell) against the
session's lake: the producer's key, records and a file sent with curl, the file's final status, the revocation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from lakebox_infra import PROJECT_ROOT
from lakebox_layer.adapters.producers import ProducerStore
from tests.e2e.lake import Lake

PAGE = PROJECT_ROOT / "docs" / "ingestion-api.md"
SCRIPT_DEADLINE_S = 180


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)


def test_the_pages_commands_send_records_and_a_file_and_revoke_the_key(lake: Lake, tmp_path: Path) -> None:
    blocks = shell_blocks(PAGE.read_text())
    assert len(blocks) == 5, "the page's walk-through: key, records, file, status, revoke"
    # The shell finds `lakebox` where this interpreter's scripts are, and the lake as the CLI's tests do.
    environment = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    environment.update(lake.cli_environment(), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    script = "set -euo pipefail\n" + "\n".join(blocks)

    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True,
                          timeout=SCRIPT_DEADLINE_S, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "sent.json").read_text())["accepted"] == 2
    status = json.loads((tmp_path / "status.json").read_text())
    assert (status["key"], status["status"], status["records_total"], status["final"]) == (
        "input/acme_orders/acme/orders.csv", "processed", 2, True)
    assert '"status": "processed"' in done.stdout
    producer = ProducerStore(lake.target.clients.dynamodb, lake.names.metadata_table).get("acme")
    assert producer is not None and producer.revoked
    assert "lbk_" not in done.stderr, "the key is printed to the file asked for, nowhere else"
