"""The channels pages."""

from tests import factories
from tests.web.pages import ADMIN, Page


def _edit_path() -> str:
    return f"/channel/edit/{factories.make_channel('pagecheck').id}"


PAGES = [
    Page("/channel", ADMIN, 'id="channels-table"'),
    Page("/channel/add", ADMIN, 'id="channel-form"'),
    Page(_edit_path, ADMIN, 'id="channel-form"', endpoint="channels.edit"),
    Page("/channel/progress?job=test", ADMIN, 'id="progress-test"'),
]
