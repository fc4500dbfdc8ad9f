"""Checks of official identifiers: credit codes, mobile numbers, division and industry codes."""

from __future__ import annotations

import re

import phonenumbers
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

# GB/T 2260 division codes are 6 digits; township-level codes (统计用区划代码) are 9 or 12.
_REGION_CODE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
# GB/T 4754 codes: a section letter, optionally followed by 2-4 digits, or the digits alone.
_INDUSTRY_CODE = re.compile(r"^([A-T](\d{2}(\d{1,2})?)?|\d{2}(\d{1,2})?)$")


class IdentifierError(ValueError):
    """A malformed identifier; `code` is the stable machine code for clients."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalize_credit_code(raw: str, *, allow_bad_check_digit: bool = False) -> str:
    """Return the compact 18-character unified social credit code (GB 32100).

    A code whose only fault is its check digit may be accepted when an admin overrides
    (legacy pilot codes exist); any other fault is always refused.
    """
    compact = uscc.compact(raw or "").upper()
    try:
        return str(uscc.validate(compact))
    except InvalidChecksum:
        if allow_bad_check_digit:
            return compact
        raise IdentifierError("INVALID_CREDIT_CODE_CHECK_DIGIT") from None
    except ValidationError:
        raise IdentifierError("INVALID_CREDIT_CODE") from None


def credit_code_check_digit_ok(code: str) -> bool:
    return bool(uscc.is_valid(code))


def make_credit_code(body17: str) -> str:
    """Append the GB 32100 check digit to a 17-character body (used by demo data)."""
    return body17 + str(uscc.calc_check_digit(body17))


def normalize_mobile(raw: str) -> str:
    """Return a mainland mobile number as 11 national digits, or refuse it."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise IdentifierError("INVALID_MOBILE") from None
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise IdentifierError("INVALID_MOBILE")
    return str(number.national_number)


def normalize_region_code(raw: str) -> str:
    code = (raw or "").strip()
    if not _REGION_CODE.match(code):
        raise IdentifierError("INVALID_REGION_CODE")
    return code


def normalize_industry_code(raw: str) -> str:
    code = (raw or "").strip().upper()
    if not _INDUSTRY_CODE.match(code):
        raise IdentifierError("INVALID_INDUSTRY_CODE")
    return code


_LANDLINE_TYPES = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def normalize_phone(raw: str) -> str:
    """A service desk's number: a mainland mobile (11 digits) or a landline with its area code,
    kept as "0531-88881234". Hotline numbers (400, 95xxx) are refused: not what a desk answers."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise IdentifierError("INVALID_PHONE") from None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise IdentifierError("INVALID_PHONE")
    kind = phonenumbers.number_type(number)
    national = str(number.national_number)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return national
    if kind in _LANDLINE_TYPES:
        area = phonenumbers.length_of_geographical_area_code(number)
        if area:
            return f"0{national[:area]}-{national[area:]}"
    raise IdentifierError("INVALID_PHONE")
