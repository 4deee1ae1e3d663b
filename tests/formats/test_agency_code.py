"""formats.agency_code: QCVN 102:2016 agency codes and Decision 20/2020's longer codes."""

from __future__ import annotations

import pytest

from formats.agency_code import (
    is_qcvn_code,
    is_valid_agency_code,
    level,
    level1_body,
    parent_code,
)


@pytest.mark.parametrize(
    "code",
    [
        "000.00.00.G22",
        "002.00.20.H13",
        "000.01.32.H57",
        "000.00.00.K01",
        "0100109106",  # an enterprise's registration code (Decision 20/2020)
        "VXP.SAAS.03",
        "A" * 35,
    ],
)
def test_valid_codes(code):
    assert is_valid_agency_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "000.00.00.g22",  # lower case
        "000 00 00 G22",
        "000.00.00.G22 ",
        ".000.00.00.G22",
        "000..00.G22",
        "000.00.00.G22.",
        "A" * 36,
        "000.00.00.Ğ22",
        None,
        22,
    ],
)
def test_invalid_codes(code):
    assert not is_valid_agency_code(code)


def test_qcvn_shape_and_levels():
    assert is_qcvn_code("000.00.00.G22")
    assert not is_qcvn_code("0100109106")
    assert not is_qcvn_code("000.00.00.222")  # level 1 starts with a letter
    assert level1_body("002.00.20.H13") == "H13"
    assert level1_body("0100109106") is None
    assert level("000.00.00.G22") == 1
    assert level("000.00.20.H13") == 2
    assert level("000.05.20.H13") == 3
    assert level("002.00.20.H13") == 4
    assert level("X") is None


def test_parent_code_walks_up_one_level():
    assert parent_code("002.05.20.H13") == "000.05.20.H13"
    assert parent_code("000.05.20.H13") == "000.00.20.H13"
    assert parent_code("002.00.20.H13") == "000.00.20.H13"  # level 3 unused: up to level 2
    assert parent_code("000.00.20.H13") == "000.00.00.H13"
    assert parent_code("000.00.00.H13") is None
    assert parent_code("0100109106") is None
