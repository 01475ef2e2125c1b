"""`lakebox demo`: bring the pipeline up, ingest sample_data/, show the outcomes, the quality metrics, the curated
orders and the members' protected personal data, then stream sensor readings and send a few records through the
ingestion API, and show where they ended."""

from __future__ import annotations

from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import PortOption
from lakebox.demo.api import API_DATASET, API_PRODUCER, API_RECORDS, api_demo
from lakebox.demo.samples import (
    MEMBERS_QUERY,
    OUTCOMES_DEADLINE_S,
    STREAM_READINGS,
    demo_metrics,
    demo_query,
    next_steps,
    query_curated,
    run_demo,
    stream_demo,
)
from lakebox.exceptions import DemoUnexpected
from lakebox.lake.bringup import bring_up
from lakebox.lake.render import metrics_table, outcomes_table, query_table
from lakebox.send.render import landed_lines


def demo(
    port: PortOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the outcomes")] = OUTCOMES_DEADLINE_S,
) -> None:
    """Bring the pipeline up, ingest sample_data/, wait, show outcomes and quality metrics, query the curated
    orders, then stream sensor readings and show where they ended."""
    out = common.out
    common.configure_logging()
    target = bring_up(port, say=common.say)
    result = run_demo(target, deadline_s=timeout, say=common.say)
    out.print(outcomes_table(result.rows, result.expected))
    out.print(f"{len(result.rows)} files reached a terminal status in {result.elapsed_s:.1f} s")
    common.say("reading the quality metrics back from CloudWatch")
    out.print(metrics_table(demo_metrics(target, result)))
    if result.unexpected:
        raise DemoUnexpected(f"{len(result.unexpected)} sample file(s) ended in an unexpected state: "
                             f"{', '.join(result.unexpected)}")
    out.print("[green]every sample file ended where sample_data/README.md says it should[/]")
    common.say("querying the curated orders through Athena")
    out.print(f"$ lakebox query \"{demo_query(result)}\"")
    out.print(query_table(query_curated(target, result)))
    common.say("querying the members' personal data as curated: protected, whether the contract declares it or not")
    out.print(f"$ lakebox query \"{demo_query(result, MEMBERS_QUERY)}\"")
    out.print(query_table(query_curated(target, result, MEMBERS_QUERY)))
    common.say(f"streaming {STREAM_READINGS} sensor readings to {target.names.ingest_stream} "
               "(lakebox send --sample sensors)")
    streamed = stream_demo(target, deadline_s=timeout)
    out.print("\n".join([streamed.summary(), *landed_lines(streamed.landed)]), highlight=False, markup=False)
    if streamed.unexpected:
        raise DemoUnexpected(f"the streamed readings did not end as sent: {'; '.join(streamed.unexpected)}")
    common.say(f"sending {len(API_RECORDS)} records through the ingestion API as producer {API_PRODUCER}, with a key "
               f"of its own (lakebox producer add {API_PRODUCER} --dataset {API_DATASET})")
    sent = api_demo(target, deadline_s=timeout)
    if isinstance(sent, str):
        common.say(sent)
    else:
        out.print("\n".join([*sent.lines(), *landed_lines(sent.landed)] if sent.landed else sent.lines()),
                  highlight=False, markup=False, soft_wrap=True)
        if sent.unexpected:
            raise DemoUnexpected(f"the records sent through the ingestion API did not end as sent: "
                                 f"{'; '.join(sent.unexpected)}")
    for line in next_steps(result):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
