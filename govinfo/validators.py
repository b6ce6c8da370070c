"""Checks of the identifiers an applicant gives: pure functions.

居民身份证号码 (GB 11643-1999): 17 digits, a birth date in them, and a check
character; 统一社会信用代码 (GB 32100-2015): 18 characters of a 31-letter
alphabet, the last a check character.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_valid_id_number(raw: str) -> bool:
    value = raw.strip().upper()
    # ASCII digits only: str.isdigit() also passes "²" or "①", which int()
    # then refuses.
    if len(value) != 18 or not (value[:17].isascii() and value[:17].isdigit()):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return value[17] == id_check_char(value[:17])


def credit_code_check_char(first17: str) -> str:
    pairs = zip(first17, CODE_WEIGHTS, strict=True)
    total = sum(CODE_ALPHABET.index(c) * w for c, w in pairs)
    return CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(raw: str) -> bool:
    value = raw.strip().upper()
    if len(value) != 18 or any(c not in CODE_ALPHABET for c in value):
        return False
    return value[17] == credit_code_check_char(value[:17])


def validate_id_number(value: str) -> None:
    if value and not is_valid_id_number(value):
        raise ValidationError(
            _("身份证号码不正确：应为18位，出生日期和末位校验码须正确。"),
            code="id_number",
        )


def validate_credit_code(value: str) -> None:
    if value and not is_valid_credit_code(value):
        raise ValidationError(
            _("统一社会信用代码不正确：应为18位，末位校验码须正确。"),
            code="credit_code",
        )
