"""The redemption code pages."""

from tests import factories
from tests.web.pages import ADMIN, Page


def _code() -> str:
    return f"/redemption/edit/{factories.make_redemption().id}"


PAGES = [
    Page("/redemption", ADMIN, 'id="redemption-table"'),
    Page("/redemption/add", ADMIN, 'id="redemption-form"'),
    Page(_code, ADMIN, 'id="redemption-form"', endpoint="redemptions.edit"),
]
