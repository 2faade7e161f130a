"""Canonical fields, the --columns mapping and header resolution."""

from __future__ import annotations

import pytest

from riskscore.batch import columns as c
from riskscore.batch.columns import (
    DEFAULT_MAPPING,
    BatchInputError,
    parse_mapping,
    resolve,
)
from riskscore.errors import InvalidArgumentError

RBA_HEADER = [
    "index",
    "Login Timestamp",
    "User ID",
    "Round-Trip Time [ms]",
    "IP Address",
    "Country",
    "Region",
    "City",
    "ASN",
    "User Agent String",
    "Browser Name and Version",
    "OS Name and Version",
    "Device Type",
    "Login Successful",
    "Is Attack IP",
    "Is Account Takeover",
]


def test_the_rba_header_resolves_as_it_is() -> None:
    found = resolve(RBA_HEADER)
    assert list(found.fields) == [f for f in c.FIELDS if f != c.DEVICE_KEY]
    assert dict(found.labels) == {
        c.IS_ATTACK_IP: "Is Attack IP",
        c.IS_TAKEOVER: "Is Account Takeover",
    }
    assert found.fields[c.RTT_MS] == "Round-Trip Time [ms]"
    assert sorted(found.usecols) == sorted(RBA_HEADER)
    assert found.canonical[: len(found.fields)] == list(found.fields)
    assert not set(found.labels) & set(found.fields)


def test_labels_can_be_left_unread() -> None:
    found = resolve([*RBA_HEADER, "attack_kind"], labels=False)
    assert not found.labels
    assert "Is Attack IP" not in found.usecols


def test_simulated_attack_kind_is_a_label() -> None:
    found = resolve([*RBA_HEADER, "attack_kind"])
    assert found.labels[c.ATTACK_KIND] == "attack_kind"


def test_optional_columns_may_be_missing() -> None:
    header = ["Login Timestamp", "User ID", "IP Address", "Login Successful"]
    found = resolve(header)
    assert list(found.fields) == [c.TIMESTAMP, c.USER, c.IP, c.SUCCESS]
    assert found.source(c.COUNTRY) == c.COUNTRY  # absent: named by the field


@pytest.mark.parametrize("field", c.REQUIRED)
def test_missing_required_column_names_field_source_and_option(field: str) -> None:
    source = DEFAULT_MAPPING.source(field)
    header = [h for h in RBA_HEADER if h != source]
    with pytest.raises(BatchInputError) as caught:
        resolve(header)
    message = str(caught.value)
    assert repr(source) in message
    assert repr(field) in message
    assert f"--columns {field}=" in message
    assert caught.value.column == source


def test_parse_mapping_overrides_with_spaces_in_names() -> None:
    mapping = parse_mapping("user = Account Name, ip=Client IP Address,device_key=Device Key,")
    assert mapping.source(c.USER) == "Account Name"
    assert mapping.source(c.IP) == "Client IP Address"
    assert mapping.source(c.DEVICE_KEY) == "Device Key"
    assert mapping.source(c.TIMESTAMP) == "Login Timestamp"  # untouched default
    assert mapping.explicit == {c.USER, c.IP, c.DEVICE_KEY}
    header = ["Login Timestamp", "Account Name", "Client IP Address", "Login Successful"]
    header.append("Device Key")
    found = resolve(header, mapping)
    assert found.fields[c.USER] == "Account Name"
    assert found.fields[c.DEVICE_KEY] == "Device Key"


def test_empty_value_means_absent() -> None:
    mapping = parse_mapping("country=,is_attack_ip=")
    found = resolve(RBA_HEADER, mapping)
    assert c.COUNTRY not in found.fields
    assert c.IS_ATTACK_IP not in found.labels
    assert c.IS_TAKEOVER in found.labels


def test_swapping_two_columns_is_not_a_duplicate() -> None:
    mapping = parse_mapping("user=IP Address,ip=User ID")
    assert resolve(RBA_HEADER, mapping).fields[c.USER] == "IP Address"


@pytest.mark.parametrize(
    ("text", "offender"),
    [
        ("usr=User ID", "'usr'"),
        ("user=A,user=B", "'user'"),
        ("user=Device Type", "'Device Type'"),
        ("user=X,ip=X", "'X'"),
        ("user", "'user'"),
    ],
)
def test_bad_mappings_name_the_offender(text: str, offender: str) -> None:
    with pytest.raises(BatchInputError) as caught:
        parse_mapping(text)
    assert offender in str(caught.value)
    assert str(caught.value).startswith("--columns: ")


def test_required_field_cannot_be_mapped_away() -> None:
    with pytest.raises(BatchInputError, match="'ip' cannot be absent"):
        resolve(RBA_HEADER, parse_mapping("ip="))


def test_an_explicitly_mapped_optional_column_must_exist() -> None:
    with pytest.raises(BatchInputError, match=r"column 'Land'.*--columns country="):
        resolve(RBA_HEADER, parse_mapping("country=Land"))


def test_row_error_message_and_fields() -> None:
    error = BatchInputError(
        "not an IP address", row=17, index="100016", column="IP Address", value="999.1.1.1"
    )
    assert (
        str(error) == "row 17 (index 100016), column 'IP Address': not an IP address: '999.1.1.1'"
    )
    assert isinstance(error, InvalidArgumentError)
    assert error.code == "invalid_argument"
    assert (error.row, error.column, error.value, error.reason) == (
        17,
        "IP Address",
        "999.1.1.1",
        "not an IP address",
    )
    long = BatchInputError("not a timestamp", row=2, column="t", value="x" * 500)
    assert str(long).startswith("row 2, column 't': not a timestamp: 'xxx")
    assert len(str(long)) < 120
