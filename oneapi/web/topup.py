"""The top-up page (`/topup`): the user's quota, redeeming a code, and the external top-up link.

The link is built per page view with a fresh `transaction_id` (One API's TopUp page does the same in the
browser), so a payment page can tell two visits apart.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, url_for

from oneapi.errors import OneAPIError
from oneapi.services import options, redemptions
from oneapi.web.access import user_page
from oneapi.web.forms import FormInput, field_errors
from oneapi.web.htmx import redirect_to, render
from oneapi.web.i18n import _
from oneapi.web.markup import quota

bp = Blueprint("topup", __name__)


@bp.get("/topup")
@user_page
def index():
    return _page()


@bp.post("/topup")
@user_page
def redeem():
    key = FormInput().str("key", max_len=64)
    try:
        added = redemptions.redeem(g.user, key)
    except OneAPIError as exc:
        return _page(key=key, errors=field_errors(exc), status=422)
    flash(_("Code redeemed: %(quota)s added to your quota.", quota=quota(added)), "success")
    return redirect_to(url_for("topup.index"))


def _page(key: str = "", errors: dict[str, str] | None = None, status: int = 200) -> Response:
    link = options.get("TopUpLink").strip()
    return render("topup/index.html", "content", status=status, key=key, errors=errors or {},
                  topup_link=redemptions.topup_link(link, g.user) if link else "")
