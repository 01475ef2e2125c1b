"""The topology as data: least-privilege policies, the event chain, the trigger and the table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from lakebox_infra import PROJECT_ROOT
from lakebox_infra.topology import FunctionSpec, Topology, canonical
from lakebox_layer.registry import STAGES, Stage
from lakebox_layer.settings import ResourceNames

NAMES = ResourceNames("lakebox", "000000000000", "us-east-1")
TABLE_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/lakebox-metadata"


@pytest.fixture(scope="module")
def topology() -> Topology:
    return Topology(NAMES)


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def all_policies(topology: Topology) -> Iterator[tuple[str, dict[str, Any]]]:
    for function in topology.functions:
        yield function.name, function.policy
    for name, queue in topology.queues.items():
        yield name, queue.policy


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Statement"])


def function(topology: Topology, stage: Stage) -> FunctionSpec:
    [spec] = [f for f in topology.functions if f.stage is stage]
    return spec


def actions_of(policy: dict[str, Any]) -> set[str]:
    return {action for statement in statements(policy) for action in as_list(statement["Action"])}


def resources_for(policy: dict[str, Any], action: str) -> set[str]:
    return {
        resource
        for statement in statements(policy)
        if action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def test_there_is_one_function_per_stage_the_stream_batcher_the_healer_and_the_api(topology: Topology) -> None:
    assert [f.component for f in topology.functions] == ["ingestion", "validation", "quality", "curation",
                                                         "batcher", "healer", "authorizer", "api"]
    assert [f.stage for f in topology.functions] == list(Stage) and len({f.role for f in topology.functions}) == 8
    # Only curation imports compiled code (DuckDB, cryptography), which comes in layers of its own.
    assert {f.stage: f.native_layers for f in topology.functions if f.native_layers} == {
        Stage.CURATION: ("duckdb", "cryptography")}


def test_every_statement_allows_and_no_action_is_a_wildcard(topology: Topology) -> None:
    for owner, policy in all_policies(topology):
        assert policy["Version"] == "2012-10-17", owner
        for statement in statements(policy):
            assert statement["Effect"] == "Allow", owner
            for action in as_list(statement["Action"]):
                assert "*" not in action, (owner, action)
                assert ":" in action, (owner, action)


def test_wildcard_resources_only_where_aws_has_no_resource_level_permissions(topology: Topology) -> None:
    for owner, policy in all_policies(topology):
        for statement in statements(policy):
            if "*" not in as_list(statement["Resource"]):
                continue
            assert as_list(statement["Resource"]) == ["*"], owner
            actions = set(as_list(statement["Action"]))
            if actions == {"cloudwatch:PutMetricData"}:
                # Quality's metrics, or (the healer's) the circuit states: each role its own namespace.
                namespace = "DataLake/Health" if owner.endswith("healer") else "DataLake/Quality"
                assert statement["Condition"] == {"StringEqualsIfExists": {"cloudwatch:namespace": namespace}}, owner
            else:
                # Comprehend's DetectPiiEntities, Lambda's ListEventSourceMappings and CloudWatch's ListMetrics (the
                # healer's) have no resource-level permission.
                assert actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                   "comprehend:DetectPiiEntities", "lambda:ListEventSourceMappings",
                                   "cloudwatch:ListMetrics"}, (owner, actions)


def test_ingestion_reads_raw_input_and_writes_no_object(topology: Topology) -> None:
    policy = function(topology, Stage.INGESTION).policy
    s3_actions = {a for a in actions_of(policy) if a.startswith("s3:")}
    assert s3_actions == {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"}
    assert resources_for(policy, "s3:GetObject") == {f"arn:aws:s3:::{NAMES.raw_bucket}/input/*"}
    # Listing (so a deleted key answers 404, not 403) is limited to the raw bucket's input/ prefix.
    assert resources_for(policy, "s3:ListBucket") == {f"arn:aws:s3:::{NAMES.raw_bucket}"}
    listing = next(s for s in policy["Statement"] if "s3:ListBucket" in as_list(s["Action"]))
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["input/*"]}}
    assert "s3:PutObject" not in actions_of(policy)


def test_validation_writes_only_the_validated_and_quarantine_prefixes(topology: Topology) -> None:
    policy = function(topology, Stage.VALIDATION).policy
    assert resources_for(policy, "s3:PutObject") == {
        f"arn:aws:s3:::{NAMES.processed_bucket}/validated/*",
        f"arn:aws:s3:::{NAMES.quarantine_bucket}/quarantine/*",
    }
    assert resources_for(policy, "s3:GetObject") == {f"arn:aws:s3:::{NAMES.raw_bucket}/input/*"}
    assert not {a for a in actions_of(policy) if a.startswith("s3:Delete")}


def test_quality_touches_no_s3(topology: Topology) -> None:
    policy = function(topology, Stage.QUALITY).policy
    assert not {a for a in actions_of(policy) if a.startswith("s3:")}
    assert "cloudwatch:PutMetricData" in actions_of(policy)


@pytest.mark.parametrize("stage", list(Stage))
def test_functions_publish_only_to_their_bus_and_use_only_their_table(topology: Topology, stage: Stage) -> None:
    policy = function(topology, stage).policy
    # A stage that emits an event puts it on the project's bus; the stream batcher emits none (S3 announces its
    # files) and may not put events at all.
    assert resources_for(policy, "events:PutEvents") == (
        {"arn:aws:events:us-east-1:000000000000:event-bus/lakebox-bus"} if stage.spec.emits else set())
    dynamodb = {a for a in actions_of(policy) if a.startswith("dynamodb:")}
    assert dynamodb
    for action in dynamodb:  # only the API queries the status index (a file's status)
        index = {f"{TABLE_ARN}/index/StatusIndex"} if (stage, action) == (Stage.API, "dynamodb:Query") else set()
        assert resources_for(policy, action) == {TABLE_ARN, *index}
    # Logs only in the function's own log group.
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        for resource in resources_for(policy, action):
            assert f"log-group:/aws/lambda/lakebox-{stage.value}:" in resource


def test_curation_reads_validated_writes_curated_and_changes_only_its_catalog(topology: Topology) -> None:
    policy = function(topology, Stage.CURATION).policy
    assert resources_for(policy, "s3:GetObject") == {f"arn:aws:s3:::{NAMES.processed_bucket}/validated/*"}
    assert resources_for(policy, "s3:PutObject") == {f"arn:aws:s3:::{NAMES.processed_bucket}/curated/*"}
    assert not {a for a in actions_of(policy) if a.startswith(("s3:Delete", "s3:List"))}
    glue = {a for a in actions_of(policy) if a.startswith("glue:")}
    assert glue == {"glue:GetTable", "glue:CreateTable", "glue:UpdateTable", "glue:BatchCreatePartition"}
    for action in glue:
        assert resources_for(policy, action) == {
            "arn:aws:glue:us-east-1:000000000000:catalog",
            "arn:aws:glue:us-east-1:000000000000:database/lakebox_catalog",
            "arn:aws:glue:us-east-1:000000000000:table/lakebox_catalog/*"}
    dynamodb = {a for a in actions_of(policy) if a.startswith("dynamodb:")}
    # UpdateItem only to count its own health (the next test).
    assert dynamodb == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}


@pytest.mark.parametrize("stage", [spec.stage for spec in STAGES.values() if spec.reads_queue])
def test_a_stage_updates_only_its_own_health_counters_but_may_not_touch_records(topology: Topology,
                                                                                stage: Stage) -> None:
    policy = function(topology, stage).policy
    [counting] = [statement for statement in policy["Statement"]
                  if statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("dynamodb:LeadingKeys")]
    assert counting["Action"] == ["dynamodb:UpdateItem"]
    assert counting["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == [f"health#{stage.value}"]


def test_only_processed_files_are_curated(topology: Topology) -> None:
    [curation] = [r for r in topology.rules if r.target_id == "curation"]
    assert curation.pattern == {"source": ["datalake.validation"], "detail-type": ["Data Validated"],
                                "detail": {"status": ["processed"]}}
    assert curation.target_arn == "arn:aws:sqs:us-east-1:000000000000:lakebox-curation-queue"


def test_rules_chain_ingestion_to_validation_to_quality_to_queue(topology: Topology) -> None:
    ingestion, validation, _curation, quality, sensitive = topology.rules
    assert sensitive == topology.notice_rules[0]  # the notices for people come after the chain
    assert ingestion.pattern == {"source": ["datalake.ingestion"], "detail-type": ["Data Received"]}
    assert ingestion.target_arn == "arn:aws:sqs:us-east-1:000000000000:lakebox-validation-queue"
    assert validation.pattern == {"source": ["datalake.validation"], "detail-type": ["Data Validated"]}
    assert validation.target_arn == "arn:aws:sqs:us-east-1:000000000000:lakebox-quality-queue"
    assert quality.pattern == {"source": ["datalake.quality"], "detail-type": ["Quality Check Complete"]}
    assert quality.target_arn == topology.queue_arn == "arn:aws:sqs:us-east-1:000000000000:lakebox-quality-events"
    for rule in topology.rules:
        assert rule.target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
        assert rule.target["DeadLetterConfig"] == {"Arn": topology.dead_letter_arn}


def test_each_queue_accepts_only_its_sender(topology: Topology) -> None:
    rule = "arn:aws:events:us-east-1:000000000000:rule/lakebox-bus/lakebox-{}-rule"
    expected = {
        "lakebox-quality-events": {"ArnEquals": {"aws:SourceArn": [rule.format("quality")]}},
        "lakebox-validation-queue": {"ArnEquals": {"aws:SourceArn": [rule.format("ingestion")]}},
        "lakebox-quality-queue": {"ArnEquals": {"aws:SourceArn": [rule.format("validation")]}},
        "lakebox-curation-queue": {"ArnEquals": {"aws:SourceArn": [rule.format("curation")]}},
        "lakebox-ingestion-queue": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{NAMES.raw_bucket}"},
                                    "StringEquals": {"aws:SourceAccount": "000000000000"}},
    }
    queues = topology.queues
    for name, condition in expected.items():
        [statement] = statements(queues[name].policy)
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == condition, name


def test_stage_queues_dead_letter_after_five_receives_and_outlast_their_function(topology: Topology) -> None:
    functions = {f.queue: f for f in topology.functions if f.queue is not None}
    assert len(functions) == 4
    for name, function in functions.items():
        queue = topology.queues[name]
        redrive = json.loads(queue.attributes["RedrivePolicy"])
        assert redrive == {"deadLetterTargetArn": topology.dead_letter_arn, "maxReceiveCount": 5}
        assert queue.visibility_timeout == 6 * function.timeout
        mapping = topology.event_source_mapping(function)
        assert mapping["EventSourceArn"].endswith(name)
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= 4
        assert 1 <= mapping["BatchSize"] <= 10  # SQS's largest batch without a batching window


def test_the_architecture_page_states_the_batches_and_concurrency_the_mappings_use(topology: Topology) -> None:
    mappings = [topology.event_source_mapping(f) for _, f in sorted(topology.stage_functions.items(),
                                                                    key=lambda item: item[0].order)]
    batches = ", ".join(str(m["BatchSize"]) for m in mappings)
    concurrency = ", ".join(str(m["ScalingConfig"]["MaximumConcurrency"]) for m in mappings)
    page = " ".join((PROJECT_ROOT / "docs" / "architecture.md").read_text().split())
    assert f"batches ({batches}), bounded concurrency ({concurrency})" in page


def test_raw_notification_feeds_the_ingestion_queue_for_input_prefix_only(topology: Topology) -> None:
    [config] = topology.raw_notification["QueueConfigurations"]
    assert config["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:lakebox-ingestion-queue"
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "input/"}]}}


def test_buckets_deny_requests_without_tls(topology: Topology) -> None:
    for bucket in topology.buckets:
        [statement] = statements(topology.tls_only_policy(bucket))
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert f"arn:aws:s3:::{bucket}/*" in statement["Resource"]


def test_table_has_status_index_and_no_stream(topology: Topology) -> None:
    table = topology.table
    assert table["TableName"] == "lakebox-metadata"
    assert table["KeySchema"] == [
        {"AttributeName": "ProcessId", "KeyType": "HASH"},
        {"AttributeName": "Timestamp", "KeyType": "RANGE"},
    ]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "StatusIndex"
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {"Pipeline": "HASH", "RawKey": "RANGE"}
    # Nothing reads a stream of the table: none is declared.
    assert "StreamSpecification" not in table
    # Every key attribute (table and index) is declared, and nothing else (DynamoDB rejects extras).
    declared = {a["AttributeName"] for a in table["AttributeDefinitions"]}
    keyed = {k["AttributeName"] for k in table["KeySchema"] + index["KeySchema"]}
    assert declared == keyed


def test_only_the_raw_bucket_is_versioned(topology: Topology) -> None:
    assert topology.versioned_buckets == [NAMES.raw_bucket]
    assert set(topology.buckets) == {NAMES.raw_bucket, NAMES.processed_bucket, NAMES.quarantine_bucket}


def test_functions_receive_the_pipeline_settings(topology: Topology) -> None:
    assert topology.settings.raw_bucket == NAMES.raw_bucket
    assert topology.settings.metadata_table == NAMES.metadata_table
    for stage in Stage:
        environment = topology.function_environment(stage)
        assert environment["RAW_BUCKET"] == NAMES.raw_bucket
        assert environment["METADATA_TABLE"] == NAMES.metadata_table
        assert environment["POWERTOOLS_SERVICE_NAME"] == f"lakebox-{stage.value}"
        # Quality thresholds live in the dataset contracts, not in the functions' environment.
        assert "QUALITY_THRESHOLD" not in environment



def test_validation_reads_contracts_from_the_metadata_table(topology: Topology) -> None:
    # Contracts are items of the metadata table, read per file: validation needs GetItem there, and nothing more.
    policy = function(topology, Stage.VALIDATION).policy
    assert resources_for(policy, "dynamodb:GetItem") == {topology.table_arn}


@pytest.mark.parametrize(
    ("region", "prefix"),
    [("us-east-1", "arn:aws:"), ("cn-north-1", "arn:aws-cn:"), ("us-gov-west-1", "arn:aws-us-gov:")],
)
def test_arns_use_the_region_partition(region: str, prefix: str) -> None:
    topology = Topology(ResourceNames("lakebox", "000000000000", region))
    assert topology.table_arn.startswith(prefix)
    assert topology.bucket_arn("b", "k/*") == f"{prefix}s3:::b/k/*"


def test_canonical_ignores_key_order_and_accepts_text() -> None:
    assert canonical({"b": [1], "a": {"y": 1, "x": 2}}) == canonical('{"a": {"x": 2, "y": 1}, "b": [1]}')


def test_canonical_decodes_url_encoded_documents_as_iam_returns_them() -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "arn:aws:s3:::b/k*"}]}
    encoded = quote(json.dumps(document))
    assert encoded.startswith("%7B%22Version%22")
    assert canonical(encoded) == canonical(document)
    assert canonical(quote(json.dumps([1, "a b"]))) == canonical([1, "a b"])


def test_canonical_leaves_percent_signs_inside_json_text_alone() -> None:
    assert json.loads(canonical('{"prefix": "input/100%25"}')) == {"prefix": "input/100%25"}


def test_every_resource_is_tagged_with_its_project_and_manager() -> None:
    assert Topology(NAMES).resource_tags == {"project": "lakebox", "managed-by": "lakebox"}
    extra = Topology(NAMES, tags={"cost-centre": "data", "project": "lake"})
    assert extra.resource_tags == {"project": "lake", "managed-by": "lakebox", "cost-centre": "data"}


def test_the_operator_can_use_the_pipeline_but_not_delete_or_reshape_it(topology: Topology) -> None:
    policy = topology.operator_policy
    actions = actions_of(policy)
    assert {"s3:PutObject", "dynamodb:Query", "events:PutEvents", "sqs:ReceiveMessage"} <= actions
    assert not {a for a in actions if "Delete" in a and a != "sqs:DeleteMessage"}
    assert not {a for a in actions if a.startswith("iam:")}
    # Of Lambda, only pausing and resuming a stage's mapping (`lakebox pause`, `resume`).
    assert {a for a in actions if a.startswith("lambda:")} == {"lambda:ListEventSourceMappings",
                                                                "lambda:UpdateEventSourceMapping"}
    assert resources_for(policy, "s3:PutObject") == {f"arn:aws:s3:::{NAMES.raw_bucket}/input/*",
                                                     f"arn:aws:s3:::{NAMES.processed_bucket}/athena-results/*"}
    assert resources_for(policy, "logs:FilterLogEvents") == {
        f"arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/{NAMES.project}-*"}
    assert not {a for a in actions if a.startswith("logs:") and a != "logs:FilterLogEvents"}


def test_the_operator_runs_queries_only_in_the_projects_workgroup_and_only_reads_the_catalog(
        topology: Topology) -> None:
    policy = topology.operator_policy
    workgroup = f"arn:aws:athena:us-east-1:000000000000:workgroup/{NAMES.athena_workgroup}"
    athena = {a for a in actions_of(policy) if a.startswith("athena:")}
    glue = {a for a in actions_of(policy) if a.startswith("glue:")}

    assert athena == {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                      "athena:StopQueryExecution"}
    assert resources_for(policy, "athena:StartQueryExecution") == {workgroup}
    assert glue and all(a.startswith(("glue:Get", "glue:BatchGet")) for a in glue)
    assert resources_for(policy, "glue:GetTable") == {
        "arn:aws:glue:us-east-1:000000000000:catalog",
        f"arn:aws:glue:us-east-1:000000000000:database/{NAMES.glue_database}",
        f"arn:aws:glue:us-east-1:000000000000:table/{NAMES.glue_database}/*"}
    assert {f"arn:aws:s3:::{NAMES.processed_bucket}/curated/*",
            f"arn:aws:s3:::{NAMES.processed_bucket}/athena-results/*"} <= resources_for(policy, "s3:GetObject")
    # Reading a query by its id on "*" is granted only over plain HTTP, which AWS never serves: an emulator that
    # cannot attribute a query id to its workgroup.
    for statement in statements(policy):
        if any(a.startswith("athena:") for a in as_list(statement["Action"])) and statement["Resource"] == ["*"]:
            assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            assert "athena:StartQueryExecution" not in statement["Action"]


def test_the_operator_lists_but_never_reads_the_files_that_hold_personal_data_as_it_came(topology: Topology) -> None:
    """Raw, validated and quarantined files keep values as they came: the operator sees their names, sizes and
    versions, and reads only error reports (masked), why records were set aside (no values) and the stream's
    poison records; decrypting is the steward's alone."""
    policy = topology.operator_policy
    reads = resources_for(policy, "s3:GetObject")

    assert not [r for r in reads if f":::{NAMES.raw_bucket}" in r]
    assert not [r for r in reads if "/validated/" in r or r.endswith(f":::{NAMES.processed_bucket}/*")]
    assert sorted(r.split(":::", 1)[1] for r in reads if NAMES.quarantine_bucket in r) == [
        f"{NAMES.quarantine_bucket}/quarantine/*.error.json", f"{NAMES.quarantine_bucket}/quarantine/*.errors.jsonl",
        f"{NAMES.quarantine_bucket}/quarantine/stream/*"]
    assert {"s3:ListBucket", "s3:ListBucketVersions"} <= actions_of(policy)
    assert not {a for a in actions_of(policy) if a.startswith("kms:")}


def test_the_steward_may_do_what_the_operator_may_and_decrypt_personal_data(topology: Topology) -> None:
    operator, steward = topology.operator_policy, topology.steward_policy

    assert statements(steward)[:-1] == statements(operator)
    assert statements(steward)[-1] == {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                                       "Resource": ["arn:aws:kms:us-east-1:000000000000:key/*",
                                                    "arn:aws:kms:us-east-1:000000000000:alias/lakebox-pii",
                                                    "arn:aws:kms:us-east-1:000000000000:alias/lakebox-pii-tokens"]}


def test_only_the_steward_may_decrypt_with_the_personal_data_key(topology: Topology) -> None:
    pii, tokens = topology.keys
    account, steward = statements(pii.policy)

    assert (pii.alias, pii.key_spec, pii.usage) == ("alias/lakebox-pii", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert (tokens.alias, tokens.key_spec, tokens.usage) == ("alias/lakebox-pii-tokens", "HMAC_256",
                                                             "GENERATE_VERIFY_MAC")
    assert account["Principal"] == {"AWS": "arn:aws:iam::000000000000:root"}
    assert set(account["NotAction"]) == {"kms:Decrypt", "kms:ReEncryptFrom"} and "Action" not in account
    assert steward["Principal"] == {"AWS": f"arn:aws:iam::000000000000:user/{NAMES.steward}"}
    assert set(steward["Action"]) == {"kms:Decrypt", "kms:ReEncryptFrom"}

