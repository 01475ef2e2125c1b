"""Lake Formation in the topology, as data: the tag that marks personal data, what carries it, and who is granted what
by it. No AWS calls here (:mod:`lakebox_infra.provision.lake_formation` makes it real, on AWS only).

Opt-in (`LAKEBOX_LAKE_FORMATION=1`, read by bootstrap and given to the functions), because it changes how the
account decides who may read the catalog's tables. Turning it on:

- makes bootstrap's caller a data lake administrator if it is not one (added to the account's `DataLakeAdmins`;
  no administrator is ever removed, no other data lake setting changed), so it can define the tag and grant;
- defines the LF-tag `sensitivity` (`pii`, `public`; values others added to it are kept), tags the database
  `public` (its tables and columns inherit it) and each protected column `pii` (the column a `lakebox:pii=` comment
  marks; not its token column: a keyed token is not personal data, and joins and counts need it);
- registers the curated zone (`s3://<processed bucket>/curated`) with Lake Formation (its service-linked role), so
  Athena reads it with credentials Lake Formation vends per query, for the columns the caller is granted only;
- grants, by tag: the operator SELECT and DESCRIBE on the tables' columns tagged `sensitivity=public` (every column
  but the protected ones) and DESCRIBE on the database; the steward the same on both values. By name: the curation
  role CREATE_TABLE on the database, ALTER, INSERT, DESCRIBE (and, to tag the columns of tables it did not create,
  SELECT, DELETE, DROP, all with the grant option, which its IAM policy gives it no call to use) on its tables,
  ASSOCIATE on `sensitivity=pii` and DATA_LOCATION_ACCESS on the curated zone (and, in IAM, the one call that tags,
  :func:`tagging_statements`); bootstrap's caller ALL on the database and its tables and ASSOCIATE on the tag: an
  administrator has no implicit right to alter or drop tables others created, and without it a later bootstrap
  could not update a contract table curation created, nor teardown drop it;
- revokes the default grant of ALL to `IAM_ALLOWED_PRINCIPALS` on the database and on each of its tables, and
  empties the database's default for new tables. That is what makes Lake Formation enforce: while that group holds
  ALL, any principal its IAM policy allows reads every column, whatever the tags.

Identities that query (the operator, the steward) need `lakeformation:GetDataAccess` in IAM as well, to be vended
credentials for the registered zone (:func:`data_access_statements`).

What it does not do: anything on an emulator (skipped with one warning: MiniStack does not offer Lake Formation,
moto stores grants without enforcing them); govern reads of the curated objects straight from S3, which IAM alone
decides (an identity allowed `s3:GetObject` there reads protected columns as they are stored: ciphertext, masks or
tokens, never values in the clear); change the account's defaults for other databases; filter rows or cells; undo
itself when turned off (bootstrap then leaves Lake Formation as it is; a teardown with it on removes the grants,
the registration and the tag, which stays while another database carries it; the caller's own grants go with the
database).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from lakebox_infra.arns import Arns
from lakebox_infra.personal_data import steward_arn
from lakebox_infra.specs import allow
from lakebox_layer.adapters.lake_formation import PII, PUBLIC, SENSITIVITY
from lakebox_layer.columns import Column
from lakebox_layer.privacy import protected_in
from lakebox_layer.registry import STAGES, Stage
from lakebox_layer.routing import CURATED_PREFIX
from lakebox_layer.settings import Settings

# The group Lake Formation gives ALL on every new database and table by default: IAM alone decides while it holds it.
IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
TAG_VALUES = (PII, PUBLIC)
# What a principal needs on a table, with the grant option, to tag the columns of a table it did not create.
TAGGING_TABLE_PERMISSIONS = ("ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT", "SELECT")


@dataclass(frozen=True)
class Grant:
    """One Lake Formation grant: to whom (`who` names them in reports), on what, which permissions, and which of
    those the principal may grant on."""

    who: str
    principal: str
    what: str
    resource: dict[str, Any]
    permissions: tuple[str, ...]
    grantable: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"lake formation grant of {', '.join(self.permissions)} on {self.what} to {self.who}"


def tag() -> dict[str, Any]:
    """The LF-tag as create_lf_tag takes it."""
    return {"TagKey": SENSITIVITY, "TagValues": list(TAG_VALUES)}


def expression(*values: str) -> list[dict[str, Any]]:
    """An LF-tag expression: resources whose `sensitivity` is one of `values`."""
    return [{"TagKey": SENSITIVITY, "TagValues": list(values)}]


def tagged(resource_type: str, *values: str) -> dict[str, Any]:
    """The databases or tables (their columns) whose `sensitivity` is one of `values`, as a grant's resource."""
    return {"LFTagPolicy": {"ResourceType": resource_type, "Expression": expression(*values)}}


def database(arns: Arns) -> dict[str, Any]:
    return {"Database": {"Name": arns.names.glue_database}}


def all_tables(arns: Arns) -> dict[str, Any]:
    return {"Table": {"DatabaseName": arns.names.glue_database, "TableWildcard": {}}}


def curated_zone(arns: Arns) -> str:
    """The S3 location registered with Lake Formation: the curated zone, which every table's location is under."""
    return arns.bucket_arn(arns.names.processed_bucket, CURATED_PREFIX)


def operator_arn(arns: Arns) -> str:
    return arns.arn("iam", f"user/{arns.names.operator}", region=False)


def curation_role_arn(arns: Arns) -> str:
    return arns.role_arn(arns.names.function_role(STAGES[Stage.CURATION].name))


def principal_arn(caller_arn: str) -> str:
    """The principal Lake Formation knows a caller as: an assumed role's session is its role (whose ARN, to STS,
    keeps no path), a user is itself."""
    prefix, _, resource = caller_arn.partition(":assumed-role/")
    if not resource:
        return caller_arn
    partition, account = prefix.split(":")[1], prefix.split(":")[4]
    return f"arn:{partition}:iam::{account}:role/{resource.split('/')[0]}"


def pii_columns(columns: list[Column]) -> list[str]:
    """The columns of a table that hold protected personal data, by their comments (not the token columns)."""
    return list(protected_in(columns))


def grants(arns: Arns) -> list[Grant]:
    """What the operator, the steward and the curation role are granted (see the module's docstring)."""
    names = arns.names
    operator, steward, curation = "the operator", "the steward", "the curation role"
    public, everything = f"{SENSITIVITY}={PUBLIC}", f"{SENSITIVITY}={PII} or {PUBLIC}"
    role = curation_role_arn(arns)
    return [
        Grant(operator, operator_arn(arns), f"databases tagged {public}", tagged("DATABASE", PUBLIC), ("DESCRIBE",)),
        Grant(operator, operator_arn(arns), f"columns tagged {public}", tagged("TABLE", PUBLIC),
              ("DESCRIBE", "SELECT")),
        Grant(steward, steward_arn(arns), f"databases tagged {everything}", tagged("DATABASE", *TAG_VALUES),
              ("DESCRIBE",)),
        Grant(steward, steward_arn(arns), f"columns tagged {everything}", tagged("TABLE", *TAG_VALUES),
              ("DESCRIBE", "SELECT")),
        Grant(curation, role, f"database {names.glue_database}", database(arns), ("CREATE_TABLE", "DESCRIBE")),
        Grant(curation, role, f"the tables of {names.glue_database}", all_tables(arns), TAGGING_TABLE_PERMISSIONS,
              TAGGING_TABLE_PERMISSIONS),
        Grant(curation, role, f"tag {SENSITIVITY}={PII}", {"LFTag": {"TagKey": SENSITIVITY, "TagValues": [PII]}},
              ("ASSOCIATE", "DESCRIBE")),
        Grant(curation, role, f"location {curated_zone(arns)}", {"DataLocation": {"ResourceArn": curated_zone(arns)}},
              ("DATA_LOCATION_ACCESS",)),
    ]


def caller_grants(arns: Arns, caller: str) -> list[Grant]:
    """What bootstrap's caller (a data lake administrator) grants itself, so that it keeps managing the catalog."""
    who, names = f"bootstrap's caller {caller}", arns.names
    return [
        Grant(who, caller, f"database {names.glue_database}", database(arns), ("ALL",), ("ALL",)),
        Grant(who, caller, f"the tables of {names.glue_database}", all_tables(arns), ("ALL",), ("ALL",)),
        Grant(who, caller, f"tag {SENSITIVITY}", {"LFTag": tag()}, ("ASSOCIATE", "DESCRIBE")),
    ]


@runtime_checkable
class _Configured(Protocol):
    """ARNs with the settings they were derived with: a :class:`lakebox_infra.topology.Topology`."""

    @property
    def settings(self) -> Settings: ...


def enabled(arns: Arns) -> bool:
    """Whether Lake Formation is on in the topology `arns` belongs to (ARNs alone carry no settings: off)."""
    return isinstance(arns, _Configured) and arns.settings.lake_formation


def tagging_statements(arns: Arns) -> list[dict[str, Any]]:
    """The curation role's IAM permission to tag the columns it protects, where Lake Formation is on. Lake Formation
    has no resource-level IAM permissions (AWS requires "*"); what the role may tag is what Lake Formation grants it
    (ASSOCIATE on `sensitivity=pii`)."""
    return [allow(["lakeformation:AddLFTagsToResource"], ["*"])] if enabled(arns) else []


def data_access_statements(arns: Arns) -> list[dict[str, Any]]:
    """What an identity that queries the curated zone needs in IAM where Lake Formation is on (the zone is then
    registered): the credentials Lake Formation vends per query, for the columns it is granted only (AWS requires
    "*")."""
    return [allow(["lakeformation:GetDataAccess"], ["*"])] if enabled(arns) else []
