"""National identifiers in one value: strict formats, each checked by its python-stdnum validator.

- US SSN written NNN-NN-NNNN (no 000/666/9xx area, 00 group, 0000 serial, nor the numbers known as misused);
- UK National Insurance number (prefix letters as HMRC allots them, six digits, suffix A-D; a format without a
  check digit: python-stdnum has none);
- Spanish DNI (8 digits and a check letter) and NIE (X/Y/Z, 7 digits, check letter);
- Italian codice fiscale (16 characters, birth date, check letter);
- French NIR (15 characters, sex 1/2/3/4/7/8, a birth month that NIR uses, mod-97 key; bare, spaced or as an
  integer);
- Swedish personnummer (YYMMDD-NNNN or YYYYMMDD-NNNN, a date and Luhn); Finnish HETU (DDMMYY, century sign, check
  character);
- Brazilian CPF written NNN.NNN.NNN-NN (two check digits); Swiss AHV number written 756.NNNN.NNNN.NN (EAN-13).

Pure 8-11 digit checksums (Dutch BSN, German Steuer-IdNr, Norwegian fodselsnummer...) are left out: ordinary
numeric ids pass them too often.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stdnum.br import cpf
from stdnum.ch import ssn as ch_ssn
from stdnum.es import dni, nie
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.se import personnummer
from stdnum.us import ssn as us_ssn

_NIR_SEX = frozenset("123478")


def is_nir(text: str) -> bool:
    digits = text.replace(" ", "")
    if len(digits) != 15 or digits[0] not in _NIR_SEX or not digits[3:5].isdigit():
        return False
    month = int(digits[3:5])
    return (1 <= month <= 12 or 20 <= month <= 42 or month >= 50) and nir.is_valid(digits)


def _shape(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """A shape of ASCII digits and letters (`\\d` would also take other scripts' digits)."""
    return re.compile(pattern, flags | re.ASCII)


_Check = Callable[[str], bool]
ShapesByLength = dict[int, list[tuple[re.Pattern[str], _Check]]]


def _by_length(shapes: tuple[tuple[tuple[int, ...], str, _Check], ...], flags: int = 0) -> ShapesByLength:
    """(lengths, shape, validator) declarations indexed by length: a value meets only the shapes of its length."""
    table: ShapesByLength = {}
    for lengths, pattern, valid in shapes:
        for length in lengths:
            table.setdefault(length, []).append((_shape(pattern, flags), valid))
    return table


def _nino(text: str) -> bool:
    return True  # the shape is all there is: HMRC's numbers carry no check character


# National ids that start with a digit (bare 15-digit NIRs go with the other digit runs).
NUMBERED_IDS = _by_length((
    ((11,), r"\d{3}-\d{2}-\d{4}", us_ssn.is_valid),
    ((9, 10), r"\d{8}[- ]?[A-Z]", dni.is_valid),
    ((11, 13), r"(?:\d{2})?\d{6}[-+]\d{4}", personnummer.is_valid),
    ((11,), r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]", hetu.is_valid),
    ((21, 15), r"[1-478] \d{2} \d{2} (?:\d{2}|2[AB]) \d{3} \d{3} \d{2}|[1-478]\d{4}2[AB]\d{8}", is_nir),
    ((14,), r"\d{3}\.\d{3}\.\d{3}-\d{2}", cpf.is_valid),
    ((16,), r"756\.\d{4}\.\d{4}\.\d{2}", ch_ssn.is_valid),
), re.IGNORECASE)
LETTERED_IDS = _by_length((
    # UK National Insurance number: HMRC's prefix letters (neither D F I Q U V, nor O second, nor the unallotted
    # pairs), six digits, suffix A-D; single spaces allowed between the parts.
    ((9, 10, 11, 12, 13), r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]",
     _nino),
    ((9, 10, 11), r"[XYZ]-?\d{7}-?[A-Z]", nie.is_valid),
    ((16,), r"[A-Z]{6}[0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]", codicefiscale.is_valid),
), re.IGNORECASE)


def is_national_id(text: str, table: ShapesByLength) -> bool:
    """Whether `text` has one of the table's shapes for its length and passes that shape's validator."""
    return any(shape.fullmatch(text) is not None and valid(text) for shape, valid in table.get(len(text), ()))
