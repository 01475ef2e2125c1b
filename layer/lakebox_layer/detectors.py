"""Personal data in one value: which class (email, phone, ...) a value is, if any.

Detectors, each behind a cheap pre-filter on the value's shape (its first character, its separators, its length)
so that ids, amounts, dates, SKUs and free text never reach a library:

- email: a value with an '@' that matches a strict syntax: a dot-atom local part (RFC 5322 atext, no leading,
  trailing or doubled dots, at most 64 characters) and a host name of at least two labels (letters, digits, inner
  hyphens, at most 63 characters each) ending in an alphabetic top-level domain or a punycode one (`xn--`); a
  domain with non-ASCII letters must encode with the standard library's IDNA codec. Only bare addresses count
  (not `Name <a@b.com>`); quoted local parts and address literals do not. email-validator (which does the same
  with more RFC detail) was measured at 126 us per valid address against 0.65 us for this check: 125 ms more per
  file for a 1,000-record email column, for no difference in a column's verdict.
- payment_card: 13-19 digits, bare (or an integer) or in the usual groupings (4-4-4-4[-3], 4-6-5, 4-6-4, one
  separator, space or dash), with a known issuer prefix *and* a length that issuer uses (Visa 4: 13/16/19;
  Mastercard 51-55 and 2221-2720: 16; Amex 34/37: 15; Discover 6011, 644-649, 65: 16/19; JCB 3528-3589: 16-19;
  Diners 300-305, 3095, 36, 38-39: 14/16/19; UnionPay 62: 16-19; Mir 2200-2204: 16-19; Maestro's 5018, 5020,
  5038, 5893, 6304, 6759, 6761-6763: 13-19), and Luhn-valid (`stdnum.luhn`). About 3 % of random 16-digit ids
  pass all three, far from a column's threshold; IMEIs (15 digits, Luhn, TAC often 35...) fail the length check.
- iban: two letters, two check digits, then letters and digits (spaces allowed), checked by `stdnum.iban`
  (the country's length and format, and the mod-97 check digits).
- ip_address: IPv4 in dotted-quad form (no leading zeros, as `ipaddress` requires) and IPv6 (hex groups, `::`,
  an embedded IPv4 tail; no zone ids). Private ranges count (an internal address still points at a person's
  device); addresses that name no host do not: unspecified (0.0.0.0, ::), 0.x.x.x, loopback, multicast,
  reserved (240/4 and 255.255.255.255; IPv6's reserved blocks, which hold short forms such as `1::2`). An
  IPv4-mapped IPv6 address is judged as its IPv4 address. A four-part version number (`1.2.0.4`) cannot be told
  from an address; three-part versions and dates never match.
- national_id: strict formats, each checked by its python-stdnum validator (see :mod:`lakebox_layer.national_ids`).
- phone: `phonenumbers` (the phonenumberslite distribution, without geocoder and carrier data). A value starting
  with '+' (digit groups, separators, parentheses) is parsed as an international number and must have a length
  its country code's numbering plan allows (`is_possible_number`): the '+' already says "phone number", so numbers
  outside allotted ranges, such as the fictional +1 555 010 2000 of samples and tests, count too. Without a '+',
  only a written national form counts, and it must be a valid number (`is_valid_number`: an allotted range) of
  one of `PHONE_REGIONS`: digit groups with separators (space, dash, dot, slash) or an area code in parentheses,
  not shaped like a date; for the US, any NANP number (10 digits, or 11 starting with 1; Canada's too); starting
  with the trunk prefix 0, a number of GB, DE or FR (or, after 00, any country's). A bare run of digits is never a
  phone (order ids look the same), nor are extensions, `tel:` URIs or vanity letters.

Priority when a value fits several: the shapes above barely overlap; where they do (a 15-digit run can be an Amex
card and a NIR; NNN-NN-NNNN or YYMMDD-NNNN could also be written phone numbers) the checksummed class is tried
first: payment_card, then national_id, then phone. A card number is the most sensitive, and a checksum is stronger
evidence than a phone number's validity.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum

import phonenumbers
from stdnum import iban, luhn

from lakebox_layer.national_ids import LETTERED_IDS, NUMBERED_IDS, is_national_id, is_nir


class PiiClass(StrEnum):
    """A kind of personal data; the values are what events, records, tags and docs show."""

    EMAIL = "email"
    PHONE = "phone"
    PAYMENT_CARD = "payment_card"
    IBAN = "iban"
    IP_ADDRESS = "ip_address"
    NATIONAL_ID = "national_id"


# Longer values are counted as non-empty but never looked at: free text, not an identifier.
MAX_VALUE_CHARS = 256
# Regions whose written national phone numbers are recognised (numbers with '+' are recognised for every region).
PHONE_REGIONS = ("US", "GB", "DE", "FR")

CLASSES = tuple(PiiClass)
NOT_COUNTED = -1  # None, blank, boolean, nested: not part of the denominator
NOT_PII = 0  # counted, of no class; classes are 1..len(CLASSES)
_INDEX = {cls: i + 1 for i, cls in enumerate(CLASSES)}
_MIN_CHARS = 6  # a@b.co: nothing shorter is of any class
_MAX_DIGIT_RUN = 10**19  # integers of more than 19 digits are of no class

# -- email ------------------------------------------------------------------------------------------------------

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,59})"
_EMAIL = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+{_TLD}")
# Internationalised addresses: letters of any script in the local part; the domain must encode with IDNA.
_UATEXT = r"[\w!#$%&'*+/=?^`{|}~-]"
_LOCAL_UNICODE = re.compile(rf"{_UATEXT}+(?:\.{_UATEXT}+)*")
_DOMAIN_ASCII = re.compile(rf"(?:{_LABEL}\.)+{_TLD}")


def _is_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    if not at or len(local) > 64 or len(domain) > 253:
        return False
    if text.isascii():
        return _EMAIL.fullmatch(text) is not None
    if _LOCAL_UNICODE.fullmatch(local) is None:
        return False
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return _DOMAIN_ASCII.fullmatch(ascii_domain) is not None


# -- payment card -----------------------------------------------------------------------------------------------

# (first six digits from, to, lengths the issuer uses)
_CARD_ISSUERS: tuple[tuple[int, int, frozenset[int]], ...] = tuple(
    (low, high, frozenset(lengths))
    for low, high, lengths in (
        (400000, 499999, (13, 16, 19)),  # Visa
        (510000, 559999, (16,)),  # Mastercard
        (222100, 272099, (16,)),  # Mastercard 2-series
        (340000, 349999, (15,)),  # American Express
        (370000, 379999, (15,)),
        (601100, 601199, (16, 19)),  # Discover
        (644000, 659999, (16, 19)),
        (352800, 358999, (16, 17, 18, 19)),  # JCB
        (300000, 305999, (14, 16, 19)),  # Diners Club
        (309500, 309599, (14, 16, 19)),
        (360000, 369999, (14, 16, 19)),
        (380000, 399999, (14, 16, 19)),
        (620000, 629999, (16, 17, 18, 19)),  # UnionPay
        (220000, 220499, (16, 17, 18, 19)),  # Mir
        (501800, 501899, range(13, 20)),  # Maestro
        (502000, 502099, range(13, 20)),
        (503800, 503899, range(13, 20)),
        (589300, 589399, range(13, 20)),
        (630400, 630499, range(13, 20)),
        (675900, 675999, range(13, 20)),
        (676100, 676399, range(13, 20)),
    )
)
# Written card numbers: one separator throughout, in the groupings cards are printed with.
_CARD_GROUPED = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{4}([ -])\d{6}\2\d{4,5}", re.ASCII)


def _is_card_digits(digits: str) -> bool:
    length = len(digits)
    if not 13 <= length <= 19:
        return False
    prefix = int(digits[:6])
    for low, high, lengths in _CARD_ISSUERS:
        if low <= prefix <= high and length in lengths:
            return luhn.is_valid(digits)
    return False


def _is_grouped_card(text: str) -> bool:
    return _CARD_GROUPED.fullmatch(text) is not None and _is_card_digits(text.replace(" ", "").replace("-", ""))


# -- IBAN -------------------------------------------------------------------------------------------------------


def _is_iban(text: str) -> bool:
    compact = text.replace(" ", "")
    return 15 <= len(compact) <= 34 and compact.isalnum() and compact.isascii() and iban.is_valid(compact)


# -- IP address -------------------------------------------------------------------------------------------------

_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")


def _names_a_host(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address) and address.packed[0] == 0:
        return False
    return not (address.is_unspecified or address.is_loopback or address.is_multicast or address.is_reserved)


def _is_ipv4(text: str) -> bool:
    if len(text) > 15 or text.count(".") != 3 or not text.replace(".", "").isdigit():
        return False
    try:
        return _names_a_host(ipaddress.IPv4Address(text))
    except ValueError:
        return False


def _is_ipv6(text: str) -> bool:
    if len(text) > 45 or text.count(":") < 2 or not _IPV6_CHARS.issuperset(text):
        return False
    try:
        return _names_a_host(ipaddress.IPv6Address(text))
    except ValueError:
        return False


# -- phone ------------------------------------------------------------------------------------------------------

# Digit groups between separators (space, dot, slash, dash, parentheses). Every repetition starts with a
# separator, so a value is split one way only: matching takes linear time whatever the value.
_GROUPS = r"\d+(?:(?:[ ./-]|[ ]?\(|\)[ ./-]?)\d+)*"
_PHONE_INTERNATIONAL = re.compile(rf"\+{_GROUPS}", re.ASCII)
_PHONE_NATIONAL = re.compile(rf"\(?{_GROUPS}", re.ASCII)
_DATE_LIKE = re.compile(r"\d{1,4}([-./])\d{1,2}\1\d{1,4}", re.ASCII)


def _is_nanp(region: str) -> bool:
    """True for a region of the North American Numbering Plan (country code 1, national numbers never start with
    0); False for one whose national numbers are written after the trunk prefix 0. The written forms this module
    recognises are of these two kinds only."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        raise ValueError(f"phonenumbers knows no region {region!r}")
    if metadata.country_code != 1 and metadata.national_prefix != "0":
        raise ValueError(f"region {region!r} is neither of the NANP nor written with the trunk prefix 0")
    return metadata.country_code == 1


_NANP_REGIONS = tuple(region for region in PHONE_REGIONS if _is_nanp(region))
_TRUNK_ZERO_REGIONS = tuple(region for region in PHONE_REGIONS if not _is_nanp(region))
_SEPARATORS = str.maketrans("", "", " ./-()")


def _parsed(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _is_international_phone(text: str) -> bool:
    """'+', a country code and a number of a length its numbering plan allows: the '+' says phone number, so a
    number in no allotted range (the fictional +1 555 ...) counts too."""
    if _PHONE_INTERNATIONAL.fullmatch(text) is None or not 7 <= len(text.translate(_SEPARATORS)) - 1 <= 15:
        return False
    number = _parsed(text, None)
    return number is not None and phonenumbers.is_possible_number(number)


def _is_national_phone(text: str) -> bool:
    """A written national number, valid (in an allotted range) for one of PHONE_REGIONS: without a '+', only the
    number itself can say it is one."""
    if len(text) < 8 or _PHONE_NATIONAL.fullmatch(text) is None or _DATE_LIKE.fullmatch(text) is not None:
        return False
    digits = text.translate(_SEPARATORS)
    if digits[0] != "0":
        if not (len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")):
            return False
        return any(_is_valid_in(text, region) for region in _NANP_REGIONS)
    if not 7 <= len(digits) <= 14 or not _TRUNK_ZERO_REGIONS:
        return False
    if digits.startswith("00"):  # the international call prefix these regions share: a country code follows
        return _is_valid_in(text, _TRUNK_ZERO_REGIONS[0])
    # These regions strip the same trunk prefix 0, so one parse gives the national number for each of them.
    number = _parsed(text, _TRUNK_ZERO_REGIONS[0])
    if number is None:
        return False
    return any(
        phonenumbers.is_valid_number(phonenumbers.PhoneNumber(
            country_code=phonenumbers.country_code_for_region(region), national_number=number.national_number))
        for region in _TRUNK_ZERO_REGIONS
    )


def _is_valid_in(text: str, region: str) -> bool:
    number = _parsed(text, region)
    return number is not None and phonenumbers.is_valid_number(number)


# -- dispatch ---------------------------------------------------------------------------------------------------


def _digit_run(digits: str) -> PiiClass | None:
    """A bare run of digits (or an integer): only a card or a NIR; never a phone (order ids look the same)."""
    if _is_card_digits(digits):
        return PiiClass.PAYMENT_CARD
    if len(digits) == 15 and is_nir(digits):
        return PiiClass.NATIONAL_ID
    return None


def _numbered(text: str) -> PiiClass | None:
    """A value starting with a digit that is not only digits."""
    if ":" in text:
        return PiiClass.IP_ADDRESS if _is_ipv6(text) else None
    if "." in text and _is_ipv4(text):
        return PiiClass.IP_ADDRESS
    if _is_grouped_card(text):
        return PiiClass.PAYMENT_CARD
    if is_national_id(text, NUMBERED_IDS):
        return PiiClass.NATIONAL_ID
    if _is_national_phone(text):
        return PiiClass.PHONE
    return None


def _lettered(text: str) -> PiiClass | None:
    """A value starting with a letter, without '@'."""
    if ":" in text:
        return PiiClass.IP_ADDRESS if _is_ipv6(text) else None
    if text[2:4].isdigit() and text[:2].isalpha() and _is_iban(text):
        return PiiClass.IBAN
    if is_national_id(text, LETTERED_IDS):
        return PiiClass.NATIONAL_ID
    return None


def value_index(value: object) -> int:
    """`NOT_COUNTED`, `NOT_PII`, or the class's index."""
    if value.__class__ is str:
        text = value.strip()
        if not text:
            return NOT_COUNTED
        found = _classify_text(text) if _MIN_CHARS <= len(text) <= MAX_VALUE_CHARS else None
    elif value.__class__ is int:  # exactly int: booleans are not counted
        found = _digit_run(str(value)) if 0 < value < _MAX_DIGIT_RUN else None
    elif value.__class__ is float:
        return NOT_PII
    else:
        return NOT_COUNTED
    return NOT_PII if found is None else _INDEX[found]


def _classify_text(text: str) -> PiiClass | None:
    if "@" in text:
        return PiiClass.EMAIL if _is_email(text) else None
    first = text[0]
    if "0" <= first <= "9":
        if text.isdigit() and text.isascii():
            return _digit_run(text)
        return _numbered(text)
    if first == "+":
        return PiiClass.PHONE if _is_international_phone(text) else None
    if first == "(":
        return PiiClass.PHONE if _is_national_phone(text) else None
    if first.isalpha():
        return _lettered(text)
    if first == ":":
        return PiiClass.IP_ADDRESS if _is_ipv6(text) else None
    return None


def classify_value(value: object) -> PiiClass | None:
    """The class of one value, or None. Strings are stripped first; an integer is judged as its digits (a card
    number or a NIR written as a JSON number); anything else (floats, booleans, None, objects, arrays) is None."""
    index = value_index(value)
    return CLASSES[index - 1] if index > 0 else None
