"""The boto3 calls that make :class:`lakebox_infra.topology.Topology` real, and remove it again.

Every step reads first and writes only what differs, so a second run reports no changes. The same calls run
against AWS and against an emulator; only the endpoint differs. Waits use boto3 waiters or a bounded poll.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from lakebox_infra import contract_files, packaging
from lakebox_infra.capabilities import Capabilities, detect
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.session import session_for
from lakebox_infra.topology import (
    CRAWLER_SCHEDULE,
    HANDLER,
    RUNTIME,
    FunctionSpec,
    QueueSpec,
    RuleSpec,
    Topology,
    canonical,
    trust,
)
from lakebox_layer.adapters.contract_store import ContractStore
from lakebox_layer.adapters.errors import error_code, missing, unavailable
from lakebox_layer.adapters.metadata import STATUS_INDEX
from lakebox_layer.exceptions import ContractInvalid
from lakebox_layer.settings import ResourceNames

log = logging.getLogger("lakebox.bootstrap")
T = TypeVar("T")

@dataclass
class Report:
    """What a run did, resource by resource."""

    changes: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def changed(self, action: str, resource: str) -> None:
        self.changes.append((action, resource))
        log.info("%s %s", action, resource)

    def same(self, resource: str) -> None:
        self.unchanged.append(resource)
        log.debug("unchanged %s", resource)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    def summary(self) -> str:
        if not self.changes:
            return f"no changes: all {len(self.unchanged)} resources already as declared"
        return f"{len(self.changes)} changed, {len(self.unchanged)} unchanged"


def retry(call: Callable[[], T], *, retry_on: set[str], what: str, deadline_s: float = 90.0) -> T:
    """Retry a call while it fails with one of `retry_on` (IAM propagation on AWS), until a deadline."""
    deadline = time.monotonic() + deadline_s
    delay = 1.0
    while True:
        try:
            return call()
        except ClientError as error:
            if error_code(error) not in retry_on or time.monotonic() + delay > deadline:
                raise ProvisioningError(f"{what}: {error_code(error)}: {error}") from error
            log.info("%s: %s, retrying in %.0f s", what, error_code(error), delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


class Provisioner:
    """Applies or tears down a topology through one boto3 session."""

    def __init__(self, topology: Topology, session: boto3.Session, endpoint_url: str | None = None,
                 capabilities: Capabilities | None = None) -> None:
        self.topology = topology
        self.names = topology.names
        self.endpoint_url = endpoint_url
        self.capabilities = capabilities or detect(endpoint_url)
        self.session = session
        self.report = Report()
        self._clients: dict[str, Any] = {}

    @classmethod
    def connect(cls, project: str, region: str, endpoint_url: str | None,
                session: boto3.Session | None = None, **topology_args: Any) -> Provisioner:
        session = session or session_for(endpoint_url, region)
        sts = session.client("sts", region_name=region, endpoint_url=endpoint_url)
        account = sts.get_caller_identity()["Account"]
        names = ResourceNames(project=project, account=account, region=region)
        return cls(Topology(names, **topology_args), session, endpoint_url)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(  # type: ignore[call-overload]
                service, region_name=self.names.region, endpoint_url=self.endpoint_url,
            )
        return self._clients[service]

    # -- apply --------------------------------------------------------------------------------------------------

    def apply(self) -> Report:
        if not self.capabilities.tls:
            self.report.warn(
                f"{self.capabilities.emulator} is reached over plain HTTP: the buckets' TLS-only policy is not set "
                "(it would refuse every request); on AWS it is"
            )
        if self.capabilities.bundle_layer:
            self.report.warn(
                f"{self.capabilities.emulator} does not apply Lambda layers at invoke time: the layer is still "
                "published and attached, and its files are also bundled into each function's zip"
            )
        for bucket in self.topology.buckets:
            self._bucket(bucket)
        self._table()
        self._contracts()
        for function in self.topology.functions:
            self._role(function.role, "lambda.amazonaws.com", function.policy)
        layer_arn = self._layer()
        for function in self.topology.functions:
            self._function(function, layer_arn)
        self._bus()
        for queue in self.topology.queues.values():
            self._queue(queue)
        for function in self.topology.functions:
            self._event_source_mapping(function)
            self._event_invoke_config(function)
        for rule in self.topology.rules:
            self._rule(rule)
        self._notification()
        self._catalog()
        return self.report

    def _bucket(self, bucket: str) -> None:
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
            self.report.same(f"bucket {bucket}")
        except ClientError as error:
            if not missing(error):
                raise
            args: dict[str, Any] = {"Bucket": bucket}
            if self.names.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": self.names.region}
            s3.create_bucket(**args)
            s3.get_waiter("bucket_exists").wait(Bucket=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            self.report.changed("created", f"bucket {bucket}")
        encryption = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
        self._ensure_bucket_setting(
            f"encryption of {bucket}",
            lambda: s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
                "ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
            "AES256",
            lambda: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption),
        )
        block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                 "RestrictPublicBuckets": True}
        self._ensure_bucket_setting(
            f"public access block of {bucket}",
            lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
            block,
            lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block),
        )
        if self.capabilities.tls:
            tls_only = self.topology.tls_only_policy(bucket)

            def current_policy() -> str:
                return canonical(s3.get_bucket_policy(Bucket=bucket)["Policy"])

            self._ensure_bucket_setting(
                f"TLS-only policy of {bucket}", current_policy, canonical(tls_only),
                lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(tls_only)),
            )
        if bucket in self.topology.versioned_buckets:
            self._ensure_bucket_setting(
                f"versioning of {bucket}",
                lambda: s3.get_bucket_versioning(Bucket=bucket).get("Status"),
                "Enabled",
                lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
            )

    def _ensure_bucket_setting(self, what: str, read: Callable[[], Any], wanted: Any,
                               write: Callable[[], Any]) -> None:
        try:
            current = read()
        except ClientError as error:
            if not missing(error):
                raise
            current = None
        if current == wanted:
            self.report.same(what)
            return
        write()
        self.report.changed("set", what)

    def _table(self) -> None:
        ddb = self.client("dynamodb")
        spec = self.topology.table
        try:
            table = ddb.describe_table(TableName=spec["TableName"])["Table"]
        except ClientError as error:
            if not missing(error):
                raise
            ddb.create_table(**spec)
            ddb.get_waiter("table_exists").wait(TableName=spec["TableName"],
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            self.report.changed("created", f"table {spec['TableName']}")
            return
        indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        if STATUS_INDEX not in indexes:
            raise ProvisioningError(
                f"table {spec['TableName']} exists without the {STATUS_INDEX} index: "
                "run `python infra/bootstrap.py --teardown` and provision again"
            )
        self.report.same(f"table {spec['TableName']}")

    def operator_credentials(self) -> dict[str, str]:
        """Make sure the operator user exists with its policy, and give it a new access key (the old ones are
        removed: a secret key cannot be read back, and only the newest is recorded)."""
        iam = self.client("iam")
        user = self.names.operator
        try:
            iam.get_user(UserName=user)
        except ClientError as error:
            if not missing(error):
                raise
            iam.create_user(UserName=user)
            self.report.changed("created", f"user {user}")
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy",
                            PolicyDocument=json.dumps(self.topology.operator_policy))
        for key in iam.list_access_keys(UserName=user).get("AccessKeyMetadata", []):
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}

    def _delete_user(self, user: str) -> None:
        iam = self.client("iam")
        iam.get_user(UserName=user)
        for name in iam.list_user_policies(UserName=user).get("PolicyNames", []):
            iam.delete_user_policy(UserName=user, PolicyName=name)
        for key in iam.list_access_keys(UserName=user).get("AccessKeyMetadata", []):
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=user)

    def _contracts(self) -> None:
        """Publish contracts/*.json where the functions read them; withdraw those whose file is gone."""
        store = ContractStore(self.client("dynamodb"), self.names.metadata_table)
        try:
            wanted = {contract.dataset: contract for contract in contract_files.contracts()}
        except ContractInvalid as error:
            raise ProvisioningError(f"contract refused, nothing published: {error}") from error
        for dataset, contract in sorted(wanted.items()):
            if store.published_version(dataset) == contract.version:
                self.report.same(f"contract {dataset} {contract.version}")
                continue
            store.publish(contract)
            self.report.changed("published", f"contract {dataset} {contract.version} ({contract.mode.value} mode)")
        for dataset in store.published_datasets():
            if dataset not in wanted:
                store.withdraw(dataset)
                self.report.changed("withdrew", f"contract {dataset} (its file is gone)")

    def _role(self, role: str, service: str, inline_policy: dict[str, Any]) -> None:
        iam = self.client("iam")
        try:
            current_trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
            if canonical(current_trust) != canonical(trust(service)):
                iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust(service)))
                self.report.changed("updated trust of", f"role {role}")
            else:
                self.report.same(f"role {role}")
        except ClientError as error:
            if not missing(error):
                raise
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust(service)),
                            Description="lakebox pipeline role")
            iam.get_waiter("role_exists").wait(RoleName=role, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            self.report.changed("created", f"role {role}")
        policy_name = f"{role}-policy"
        try:
            current = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        except ClientError as error:
            if not missing(error):
                raise
            current = None
        if current is not None and canonical(current) == canonical(inline_policy):
            self.report.same(f"policy {policy_name}")
            return
        iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(inline_policy))
        self.report.changed("put", f"policy {policy_name}")

    def _layer(self) -> str:
        lam = self.client("lambda")
        archive = packaging.build_layer()
        digest = packaging.code_sha256(archive)
        description = f"lakebox shared library sha256:{digest}"
        versions = lam.list_layer_versions(LayerName=self.names.layer).get("LayerVersions", [])
        latest = max(versions, key=lambda v: v["Version"], default=None)
        if latest and latest.get("Description") == description:
            self.report.same(f"layer {self.names.layer}")
            return str(latest["LayerVersionArn"])
        published = lam.publish_layer_version(
            LayerName=self.names.layer, Description=description, Content={"ZipFile": archive},
            CompatibleRuntimes=[RUNTIME, "python3.11"],
        )
        self.report.changed("published", f"layer {self.names.layer} version {published['Version']}")
        return str(published["LayerVersionArn"])

    def _function_config(self, spec: FunctionSpec, layer_arn: str) -> dict[str, Any]:
        return {
            "FunctionName": spec.name,
            "Runtime": RUNTIME,
            "Role": self.topology.role_arn(spec.role),
            "Handler": HANDLER,
            "Description": spec.description,
            "Timeout": spec.timeout,
            "MemorySize": spec.memory,
            "Environment": {"Variables": self.topology.function_environment(spec.stage)},
            "TracingConfig": {"Mode": "Active"},
            "Layers": [layer_arn],
        }

    def _function(self, spec: FunctionSpec, layer_arn: str) -> None:
        lam = self.client("lambda")
        archive = packaging.build_function(spec.stage.value, bundle_layer=self.capabilities.bundle_layer)
        wanted = self._function_config(spec, layer_arn)
        try:
            current = lam.get_function(FunctionName=spec.name)["Configuration"]
        except ClientError as error:
            if not missing(error):
                raise
            # On AWS a new role takes seconds to become assumable: retry only that error, with a deadline.
            retry(lambda: lam.create_function(**wanted, Code={"ZipFile": archive}),
                  retry_on={"InvalidParameterValueException"}, what=f"creating function {spec.name}")
            self._wait_function(spec.name, "function_active_v2")
            self.report.changed("created", f"function {spec.name}")
            return
        if current.get("CodeSha256") != packaging.code_sha256(archive):
            lam.update_function_code(FunctionName=spec.name, ZipFile=archive)
            self._wait_function(spec.name, "function_updated_v2")
            self.report.changed("updated code of", f"function {spec.name}")
        current_config = {
            "FunctionName": current["FunctionName"],
            "Runtime": current.get("Runtime"),
            "Role": current.get("Role"),
            "Handler": current.get("Handler"),
            "Description": current.get("Description", ""),
            "Timeout": current.get("Timeout"),
            "MemorySize": current.get("MemorySize"),
            "Environment": {"Variables": current.get("Environment", {}).get("Variables", {})},
            "TracingConfig": {"Mode": current.get("TracingConfig", {}).get("Mode")},
            "Layers": [layer["Arn"] for layer in current.get("Layers", [])],
        }
        if canonical(current_config) == canonical(wanted):
            self.report.same(f"function {spec.name}")
            return
        retry(lambda: lam.update_function_configuration(**wanted),
              retry_on={"InvalidParameterValueException", "ResourceConflictException"},
              what=f"configuring function {spec.name}")
        self._wait_function(spec.name, "function_updated_v2")
        self.report.changed("updated configuration of", f"function {spec.name}")

    def _wait_function(self, name: str, waiter: str) -> None:
        self.client("lambda").get_waiter(waiter).wait(
            FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )

    def _bus(self) -> None:
        events = self.client("events")
        try:
            events.describe_event_bus(Name=self.names.event_bus)
            self.report.same(f"event bus {self.names.event_bus}")
        except ClientError as error:
            if not missing(error):
                raise
            events.create_event_bus(Name=self.names.event_bus)
            self.report.changed("created", f"event bus {self.names.event_bus}")

    def _queue(self, queue: QueueSpec) -> None:
        sqs = self.client("sqs")
        wanted = queue.attributes
        try:
            url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
            current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted)).get("Attributes", {})
            differs = [name for name, value in wanted.items()
                       if (canonical(current.get(name, "{}")) != canonical(value) if name in ("Policy", "RedrivePolicy")
                           else current.get(name) != value)]
            if not differs:
                self.report.same(f"queue {queue.name}")
                return
            action = f"updated {', '.join(differs)} of"
        except ClientError as error:
            if not missing(error):
                raise
            url = sqs.create_queue(QueueName=queue.name, Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
            action = "created"
        sqs.set_queue_attributes(QueueUrl=url, Attributes=wanted)
        self.report.changed(action, f"queue {queue.name}")

    def _event_invoke_config(self, spec: FunctionSpec) -> None:
        lam = self.client("lambda")
        wanted = self.topology.event_invoke_config(spec)
        try:
            current = lam.get_function_event_invoke_config(FunctionName=spec.name)
            same = (current.get("MaximumRetryAttempts") == wanted["MaximumRetryAttempts"]
                    and current.get("MaximumEventAgeInSeconds") == wanted["MaximumEventAgeInSeconds"]
                    and canonical(current.get("DestinationConfig", {})) == canonical(wanted["DestinationConfig"]))
        except ClientError as error:
            if not missing(error):
                raise
            same = False
        if same:
            self.report.same(f"async invoke config of {spec.name}")
            return
        retry(lambda: lam.put_function_event_invoke_config(**wanted), retry_on={"InvalidParameterValueException"},
              what=f"configuring retries of {spec.name}")
        self.report.changed("set", f"async retries and dead-letter destination of {spec.name}")

    def _event_source_mapping(self, spec: FunctionSpec) -> None:
        """The function reads its stage's queue; a mapping that differs is updated in place."""
        lam = self.client("lambda")
        wanted = self.topology.event_source_mapping(spec)
        mappings = lam.list_event_source_mappings(
            FunctionName=spec.name, EventSourceArn=wanted["EventSourceArn"]).get("EventSourceMappings", [])
        if not mappings:
            retry(lambda: lam.create_event_source_mapping(**wanted, Enabled=True),
                  retry_on={"InvalidParameterValueException"}, what=f"mapping {spec.queue} to {spec.name}")
            self.report.changed("mapped", f"queue {spec.queue} -> {spec.name}")
            return
        current = mappings[0]
        comparable = {key: current.get(key) for key in ("BatchSize", "FunctionResponseTypes", "ScalingConfig")}
        if canonical(comparable) == canonical({key: wanted[key] for key in comparable}) and \
                current.get("State") in (None, "Enabled", "Enabling", "Creating", "Updating"):
            self.report.same(f"mapping {spec.queue} -> {spec.name}")
            return
        lam.update_event_source_mapping(UUID=current["UUID"], Enabled=True, BatchSize=wanted["BatchSize"],
                                        FunctionResponseTypes=wanted["FunctionResponseTypes"],
                                        ScalingConfig=wanted["ScalingConfig"])
        self.report.changed("updated", f"mapping {spec.queue} -> {spec.name}")

    def _rule(self, rule: RuleSpec) -> None:
        events = self.client("events")
        bus = self.names.event_bus
        try:
            current = events.describe_rule(Name=rule.name, EventBusName=bus)
            same_rule = (canonical(current.get("EventPattern", "{}")) == canonical(rule.pattern)
                         and current.get("State") == "ENABLED")
        except ClientError as error:
            if not missing(error):
                raise
            same_rule = False
        if not same_rule:
            events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.pattern), State="ENABLED")
            self.report.changed("put", f"rule {rule.name}")
        targets = events.list_targets_by_rule(Rule=rule.name, EventBusName=bus).get("Targets", [])
        if canonical({"t": targets}) == canonical({"t": [rule.target]}):
            if same_rule:
                self.report.same(f"rule {rule.name}")
            return
        stale = [t["Id"] for t in targets if t["Id"] != rule.target_id]
        if stale:
            events.remove_targets(Rule=rule.name, EventBusName=bus, Ids=stale)
        events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[rule.target])
        self.report.changed("targeted", f"rule {rule.name} -> {rule.target_arn.rsplit(':', 1)[-1]}")

    def _notification(self) -> None:
        s3 = self.client("s3")
        bucket = self.names.raw_bucket
        wanted = self.topology.raw_notification["QueueConfigurations"]
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        comparable = [
            {"Id": c.get("Id"), "QueueArn": c.get("QueueArn"), "Events": c.get("Events"), "Filter": c.get("Filter")}
            for c in current.get("QueueConfigurations", [])
        ]
        if canonical({"c": comparable}) == canonical({"c": wanted}) and not current.get("LambdaFunctionConfigurations"):
            self.report.same(f"notification of {bucket}")
            return
        s3.put_bucket_notification_configuration(Bucket=bucket,
                                                 NotificationConfiguration=self.topology.raw_notification)
        self.report.changed("set", f"notification of {bucket} -> {self.names.stage_queue('ingestion')}")

    def _glue_available(self) -> bool:
        try:
            self.client("glue").get_database(Name=self.names.glue_database)
        except ClientError as error:
            if unavailable(error):
                self.report.warn(
                    f"Glue is not available at this endpoint ({error_code(error)}): the catalog database and crawler "
                    "are skipped; everything else is provisioned"
                )
                return False
        return True

    def _catalog(self) -> None:
        if not self._glue_available():
            return
        glue = self.client("glue")
        names = self.names
        self._role(names.glue_role, "glue.amazonaws.com", self.topology.glue_policy)
        try:
            glue.get_database(Name=names.glue_database)
            self.report.same(f"glue database {names.glue_database}")
        except ClientError as error:
            if not missing(error):
                raise
            glue.create_database(DatabaseInput={"Name": names.glue_database,
                                                "Description": "lakebox processed data catalog"})
            self.report.changed("created", f"glue database {names.glue_database}")
        wanted = {
            "Name": names.glue_crawler,
            "Role": self.topology.role_arn(names.glue_role),
            "DatabaseName": names.glue_database,
            "Targets": {"S3Targets": [{"Path": self.topology.crawler_path}]},
            "Schedule": CRAWLER_SCHEDULE,
        }
        try:
            crawler = glue.get_crawler(Name=names.glue_crawler)["Crawler"]
        except ClientError as error:
            if not missing(error):
                raise
            retry(lambda: glue.create_crawler(**wanted), retry_on={"InvalidInputException"},
                  what=f"creating crawler {names.glue_crawler}")
            self.report.changed("created", f"glue crawler {names.glue_crawler}")
            return
        schedule = crawler.get("Schedule", {})
        current = {
            "Name": crawler["Name"],
            "Role": crawler.get("Role"),
            "DatabaseName": crawler.get("DatabaseName"),
            "Targets": {"S3Targets": [{"Path": t.get("Path")}
                                      for t in crawler.get("Targets", {}).get("S3Targets", [])]},
            "Schedule": schedule.get("ScheduleExpression") if isinstance(schedule, dict) else schedule,
        }
        if canonical(current) == canonical(wanted):
            self.report.same(f"glue crawler {names.glue_crawler}")
            return
        glue.update_crawler(**wanted)
        self.report.changed("updated", f"glue crawler {names.glue_crawler}")

    # -- teardown -----------------------------------------------------------------------------------------------

    def teardown(self) -> Report:
        """Remove everything apply creates, emptying buckets first; safe to run again."""
        names = self.names
        for rule in self.topology.rules:
            self._absent(f"rule {rule.name}", partial(self._delete_rule, rule.name))
        self._absent(f"event bus {names.event_bus}", self._delete_bus)
        lam = self.client("lambda")
        for function in self.topology.functions:
            self._absent(f"mapping {function.queue} -> {function.name}", partial(self._delete_mappings, function.name))
            self._absent(f"function {function.name}", partial(lam.delete_function, FunctionName=function.name))
        self._absent(f"layer {names.layer}", self._delete_layer_versions)
        for queue in self.topology.queues:
            self._absent(f"queue {queue}", partial(self._delete_queue, queue))
        if self._glue_available():
            glue = self.client("glue")
            self._absent(f"glue crawler {names.glue_crawler}", lambda: glue.delete_crawler(Name=names.glue_crawler))
            self._absent(f"glue database {names.glue_database}",
                         lambda: glue.delete_database(Name=names.glue_database))
        ddb = self.client("dynamodb")
        self._absent(f"table {names.metadata_table}", lambda: self._delete_table(ddb))
        for bucket in self.topology.buckets:
            self._absent(f"bucket {bucket}", partial(self._delete_bucket, bucket))
        for role in [f.role for f in self.topology.functions] + [names.glue_role]:
            self._absent(f"role {role}", partial(self._delete_role, role))
        self._absent(f"user {names.operator}", partial(self._delete_user, names.operator))
        return self.report

    def _absent(self, resource: str, delete: Callable[[], Any]) -> None:
        try:
            result = delete()
        except ClientError as error:
            if missing(error) or unavailable(error):
                self.report.same(f"{resource} (absent)")
                return
            raise
        if result is False:
            self.report.same(f"{resource} (absent)")
        else:
            self.report.changed("deleted", resource)

    # DeleteRule and DeleteEventBus succeed for names that do not exist: describe first, so a second
    # teardown reports nothing deleted.
    def _delete_rule(self, rule: str) -> None:
        events = self.client("events")
        bus = self.names.event_bus
        events.describe_rule(Name=rule, EventBusName=bus)
        targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus).get("Targets", [])
        if targets:
            events.remove_targets(Rule=rule, EventBusName=bus, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=rule, EventBusName=bus)

    def _delete_mappings(self, function: str) -> bool:
        lam = self.client("lambda")
        mappings = lam.list_event_source_mappings(FunctionName=function).get("EventSourceMappings", [])
        for mapping in mappings:
            lam.delete_event_source_mapping(UUID=mapping["UUID"])
        return bool(mappings)

    def _delete_queue(self, name: str) -> None:
        sqs = self.client("sqs")
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def _delete_bus(self) -> None:
        events = self.client("events")
        events.describe_event_bus(Name=self.names.event_bus)
        events.delete_event_bus(Name=self.names.event_bus)

    def _delete_layer_versions(self) -> bool:
        lam = self.client("lambda")
        versions = lam.list_layer_versions(LayerName=self.names.layer).get("LayerVersions", [])
        for version in versions:
            lam.delete_layer_version(LayerName=self.names.layer, VersionNumber=version["Version"])
        return bool(versions)

    def _delete_table(self, ddb: Any) -> None:
        ddb.delete_table(TableName=self.names.metadata_table)
        ddb.get_waiter("table_not_exists").wait(TableName=self.names.metadata_table,
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 120})

    def _delete_bucket(self, bucket: str) -> None:
        s3 = self.client("s3")
        s3.head_bucket(Bucket=bucket)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            doomed = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)

    def _delete_role(self, role: str) -> None:
        iam = self.client("iam")
        for name in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        iam.delete_role(RoleName=role)
