import secrets
import time
from datetime import date

import pytest
from django.core import signing
from django.core.cache import cache

from disclosure.roles import REVIEWER, UNIT_EDITOR
from govinfo import antiabuse, services
from govinfo.models import InfoRequest
from tests.factories import TownFactory, UserFactory, staff_user

ID_NUMBER = "510722198001011231"  # fictitious, with a correct check digit
CREDIT_CODE = "91510722MA6ABCD102"
NAME = "申请人甲某"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def token(age: float = 60) -> str:
    value = {"t": time.time() - age, "n": secrets.token_hex(16)}
    return signing.dumps(value, salt=antiabuse.TOKEN_SALT)


def form_data(**overrides) -> dict:
    data = {
        "applicant_kind": "citizen",
        "name": NAME,
        "id_number": ID_NUMBER,
        "credit_code": "",
        "contact_person": "",
        "phone": "13800001111",
        "address": "凤鸣镇文理村三组",
        "email": "",
        "description": "2011年文理村道路硬化工程的招标文件",
        "document_number": "",
        "purpose": "",
        "delivery": "online",
        "consent": "on",
        "website": "",
        "token": token(),
    }
    data.update(overrides)
    return data


@pytest.fixture
def gov_town():
    return TownFactory()


@pytest.fixture
def office(gov_town):
    """The town office: edits the town's records, handles applications."""
    return staff_user(username="office", group=UNIT_EDITOR, units=[gov_town])


@pytest.fixture
def reviewer(gov_town):
    return staff_user(username="reviewer", group=REVIEWER)


@pytest.fixture
def outsider():
    return UserFactory(username="outsider", is_staff=True)


def received(town, on: date, **fields) -> InfoRequest:
    values = {
        "unit": town,
        "channel": "letter",
        "name": NAME,
        "id_number": ID_NUMBER,
        "phone": "13800001111",
        "description": "某村低保名单",
        "received_on": on,
        **fields,
    }
    return services.register(InfoRequest(**values), by=None)
