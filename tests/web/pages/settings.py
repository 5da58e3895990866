"""The settings pages: the personal tab for everyone, the option tabs for root."""

from tests.web.pages import ROOT, USER, Page

PAGES = [
    Page("/setting", USER, 'id="access-token"'),
    Page("/setting/operation", ROOT, 'id="group-ratios"'),
    Page("/setting/system", ROOT, 'id="group-smtp"'),
    Page("/setting/other", ROOT, 'id="group-branding"'),
]
