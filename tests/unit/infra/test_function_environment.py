"""What a function's process gets in its environment besides the settings: DuckDB's allocator setting, for the
functions that import DuckDB only, in a form DuckDB's jemalloc reads and accepts."""

from __future__ import annotations

import os
import subprocess
import sys

from lakebox_infra.topology import Topology
from lakebox_layer.registry import DUCKDB_ENVIRONMENT, STAGES, Stage
from lakebox_layer.settings import ResourceNames

PROBE = "import duckdb; duckdb.connect().execute('SELECT 1').fetchall()"


def test_only_a_function_that_imports_duckdb_gets_its_allocator_setting() -> None:
    topology = Topology(ResourceNames("lakebox", "000000000000", "us-east-1"))
    for stage in Stage:
        environment = topology.function_environment(stage)
        if STAGES[stage].duckdb:
            assert {name: environment[name] for name in DUCKDB_ENVIRONMENT} == DUCKDB_ENVIRONMENT, stage
        else:
            assert not set(DUCKDB_ENVIRONMENT) & set(environment), stage
    assert STAGES[Stage.CURATION].duckdb


def duckdb_stderr(conf: str) -> str:
    [(name, _)] = DUCKDB_ENVIRONMENT.items()
    ran = subprocess.run([sys.executable, "-c", PROBE], env={**os.environ, name: conf}, capture_output=True,
                         text=True, timeout=60, check=True)
    return ran.stderr


def test_duckdbs_jemalloc_reads_the_variable_and_accepts_the_setting() -> None:
    # A pair jemalloc does not know is reported: so the variable's name is the one it reads.
    assert "<jemalloc>: Invalid conf pair: no_such_option:1" in duckdb_stderr("no_such_option:1")
    [(_, conf)] = DUCKDB_ENVIRONMENT.items()
    assert "dirty_decay_ms:100" in conf and "muzzy_decay_ms:0" in conf
    assert duckdb_stderr(conf) == "", "every pair of the setting is one jemalloc accepts"
