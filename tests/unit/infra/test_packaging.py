"""Deterministic zips of the layer and the functions."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from lakebox_infra import PROJECT_ROOT
from lakebox_infra.contract_files import contracts
from lakebox_infra.packaging import VENDORED_DISTRIBUTIONS, build_function, build_layer, code_sha256
from lakebox_layer.contracts import Mode, parse_contract
from lakebox_layer.exceptions import ContractInvalid


@pytest.fixture(scope="module")
def layer_zip() -> bytes:
    return build_layer()


def names_in(archive: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(archive)).namelist()


def test_layer_is_byte_for_byte_deterministic(layer_zip: bytes) -> None:
    assert build_layer() == layer_zip
    assert code_sha256(build_layer()) == code_sha256(layer_zip)


def test_layer_entries_have_fixed_metadata(layer_zip: bytes) -> None:
    infos = zipfile.ZipFile(io.BytesIO(layer_zip)).infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)


def test_layer_holds_the_library_and_its_vendored_dependencies_under_python(layer_zip: bytes) -> None:
    names = names_in(layer_zip)
    assert all(name.startswith("python/") for name in names)
    assert "python/lakebox_layer/stages/validation.py" in names
    assert "python/lakebox_layer/adapters/objects.py" in names
    assert "python/aws_lambda_powertools/__init__.py" in names
    assert "python/jmespath/__init__.py" in names
    assert "python/fastjsonschema/__init__.py" in names
    assert len(names) == len(set(names))


def test_fastjsonschema_is_vendored_and_boto3_is_not() -> None:
    assert "fastjsonschema" in VENDORED_DISTRIBUTIONS
    assert not {"boto3", "botocore"} & set(VENDORED_DISTRIBUTIONS)


def test_the_personal_data_detectors_are_vendored_with_their_data(layer_zip: bytes) -> None:
    """Validation's classification reads numbering plans and IBAN formats from files beside the code."""
    assert {"phonenumberslite", "python-stdnum"} <= set(VENDORED_DISTRIBUTIONS)
    names = set(names_in(layer_zip))
    assert {"python/phonenumbers/__init__.py", "python/phonenumbers/data/region_GB.py",
            "python/stdnum/iban.dat", "python/stdnum/luhn.py", "python/stdnum/it/codicefiscale.py",
            "python/lakebox_layer/classification.py"} <= names
    # The full phonenumbers distribution's geocoder and carrier data stay out: phonenumberslite has none.
    assert not [n for n in names if n.startswith(("python/phonenumbers/geodata/", "python/phonenumbers/carrierdata/"))]


def test_layer_holds_no_bytecode_metadata_or_boto3(layer_zip: bytes) -> None:
    names = names_in(layer_zip)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if ".dist-info/" in n or ".egg-info/" in n]
    # The Lambda runtime provides boto3; a vendored copy would shadow it.
    assert not [n for n in names if n.startswith(("python/boto3/", "python/botocore/"))]


def test_layer_round_trips_the_library_sources(layer_zip: bytes) -> None:
    import lakebox_layer.stages.validation as stage_module

    with zipfile.ZipFile(io.BytesIO(layer_zip)) as archive:
        packaged = archive.read("python/lakebox_layer/stages/validation.py")
    assert stage_module.__file__ is not None
    with open(stage_module.__file__, "rb") as source:
        assert packaged == source.read()


@pytest.mark.parametrize("stage", ["ingestion", "validation", "quality"])
def test_function_zip_has_its_handler_at_the_root(stage: str) -> None:
    archive = build_function(stage)
    names = names_in(archive)
    assert "handler.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert build_function(stage) == archive
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert opened.read("handler.py") == (PROJECT_ROOT / "lambdas" / stage / "handler.py").read_bytes()


def test_function_zips_differ_per_stage() -> None:
    assert len({build_function(stage) for stage in ("ingestion", "validation", "quality")}) == 3


def test_unknown_function_is_an_error() -> None:
    with pytest.raises(FileNotFoundError, match="no-such-stage"):
        build_function("no-such-stage")


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        # Known SHA-256 digests, base64-encoded as Lambda reports CodeSha256.
        (b"", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        (b"abc", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="),
    ],
)
def test_code_sha256_is_base64_of_sha256(archive: bytes, expected: str) -> None:
    assert code_sha256(archive) == expected


def test_code_sha256_of_the_layer(layer_zip: bytes) -> None:
    assert base64.b64decode(code_sha256(layer_zip)) == hashlib.sha256(layer_zip).digest()


def test_bundled_function_holds_the_handler_and_the_layer_at_its_root() -> None:
    import io
    import zipfile

    from lakebox_infra.packaging import build_function

    names = set(zipfile.ZipFile(io.BytesIO(build_function("validation", bundle_layer=True))).namelist())

    assert "handler.py" in names
    assert "lakebox_layer/stages/validation.py" in names
    assert "aws_lambda_powertools/__init__.py" in names
    assert "fastjsonschema/__init__.py" in names
    assert not any(name.startswith("python/") for name in names)


# -- contracts/*.json ---------------------------------------------------------------------------------------------


def test_the_shipped_contracts_load_and_are_named_after_their_files() -> None:
    found = {contract.dataset: contract for contract in contracts()}
    files = sorted(path.stem for path in (PROJECT_ROOT / "contracts").glob("*.json"))
    assert sorted(found) == files
    assert {"default", "orders"} <= set(found)
    for dataset, contract in found.items():
        document = json.loads((PROJECT_ROOT / "contracts" / f"{dataset}.json").read_text())
        assert contract == parse_contract(document)
        assert contract.version.startswith(document["version"] + "+")


def test_the_shipped_default_contract_keeps_the_recipe_rules() -> None:
    default = {c.dataset: c for c in contracts()}["default"]
    assert default.mode is Mode.FILE
    assert default.threshold == 70.0
    assert default.schema is not None
    assert default.schema["required"] == ["id", "timestamp", "data"]
    assert {f.name: f.format for f in default.fields} == {"email": "email", "phone": "phone"}


def test_the_shipped_orders_contract_is_record_mode_with_pii() -> None:
    orders = {c.dataset: c for c in contracts()}["orders"]
    assert orders.mode is Mode.RECORD
    assert orders.threshold == 50.0
    assert orders.pii_fields == {"customer_email", "phone"}


def write(directory: Path, name: str, content: str) -> None:
    (directory / name).write_text(content)


def test_contracts_of_an_empty_directory_are_none(tmp_path: Path) -> None:
    assert contracts(tmp_path) == []


def test_contracts_are_loaded_in_file_order_and_other_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "b.json", json.dumps({"dataset": "b", "version": "1"}))
    write(tmp_path, "a.json", json.dumps({"dataset": "a", "version": "2"}))
    write(tmp_path, "notes.txt", "not a contract")
    assert [(c.dataset, c.version.split("+")[0]) for c in contracts(tmp_path)] == [("a", "2"), ("b", "1")]


@pytest.mark.parametrize(
    ("content", "reason_part"),
    [
        ('{"dataset": "other", "version": "1"}', "'dataset' must be 'sales'"),
        ('{"version": "1"}', "'dataset' must be 'sales'"),
        ('["sales"]', "'dataset' must be 'sales'"),
        ("{not json", "not JSON"),
        ('{"dataset": "sales", "version": "1", "policy": {"threshold": 150}}', "threshold"),
        ('{"dataset": "sales", "version": "1", "fields": {"n": {"minimum": 5, "maximum": 1}}}', "minimum"),
    ],
    ids=["other-dataset", "no-dataset", "not-an-object", "not-json", "bad-threshold", "min-above-max"],
)
def test_a_malformed_contract_file_is_refused_naming_the_file(tmp_path: Path, content: str,
                                                               reason_part: str) -> None:
    write(tmp_path, "a-good.json", json.dumps({"dataset": "a-good", "version": "1"}))
    write(tmp_path, "sales.json", content)
    with pytest.raises(ContractInvalid) as caught:
        contracts(tmp_path)
    assert str(caught.value).startswith("sales.json: ")
    assert reason_part in str(caught.value)
