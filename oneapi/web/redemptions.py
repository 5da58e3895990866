"""The redemption code pages, for admins (`/redemption`, `/redemption/add`, `/redemption/edit/<id>`).

Where the new codes go: nowhere on the server. `create_batch` stores them as rows; the answer to the
create POST is a result page that lists them and carries them in a download form, and the download
(`POST /redemption/download`, CSRF-protected, admin only) sends back those lines as `<name>.txt`.
So the codes exist only in the database and in that one response, not in the session cookie, a cache
or a temporary file, and a GET of a download URL (which a browser or proxy might store) never holds them.
"""

from __future__ import annotations

import io
import re

from flask import Blueprint, Response, flash, g, send_file, url_for

from oneapi.errors import OneAPIError
from oneapi.services import redemptions
from oneapi.services.paging import PAGE_SIZE
from oneapi.web.access import admin_page
from oneapi.web.forms import FormInput, field_errors, page_number, query_text
from oneapi.web.htmx import redirect_to, render, wants_fragment
from oneapi.web.i18n import _
from oneapi.web.tokens import removed_row

bp = Blueprint("redemptions", __name__)

CODE = re.compile(r"^[0-9a-f]{32}$")
DEFAULT_QUOTA = 100000


@bp.get("/redemption")
@admin_page
def index():
    keyword = query_text("keyword")
    p = page_number()
    if keyword:
        rows, has_next = redemptions.search_redemptions(keyword), False
    else:
        rows = redemptions.list_redemptions(p)
        has_next = len(rows) == PAGE_SIZE
    return render("redemptions/index.html", "table", rows=rows, keyword=keyword, p=p, has_next=has_next)


@bp.get("/redemption/add")
@admin_page
def add():
    return _form(None, {"name": "", "quota": str(DEFAULT_QUOTA), "count": "1"})


@bp.post("/redemption/add")
@admin_page
def create():
    form = FormInput()
    values = {"name": form.str("name"), "quota": form.str("quota"), "count": form.str("count")}
    try:
        name = form.str("name", max_len=1024)
        keys = redemptions.create_batch(g.user.id, name, form.int("quota", 0, minimum=0), form.int("count", 1))
    except OneAPIError as exc:
        return _form(None, values, errors=field_errors(exc), status=422)
    flash(_("Codes created: %(n)s", n=len(keys)), "success")
    return render("redemptions/created.html", "content", name=name, keys=keys)


@bp.post("/redemption/download")
@admin_page
def download():
    """The codes the result page posts back, as `<name>.txt` (lines that are not codes are dropped)."""
    form = FormInput()
    keys = [line.strip() for line in form.str("keys").splitlines() if CODE.match(line.strip())]
    body = io.BytesIO(("\n".join(keys) + "\n").encode() if keys else b"")
    name = form.str("name", max_len=64) or "redemptions"
    response = send_file(body, mimetype="text/plain", as_attachment=True, download_name=f"{name}.txt", etag=False)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/redemption/edit/<int:redemption_id>")
@admin_page
def edit(redemption_id: int):
    row = redemptions.get_redemption(redemption_id)
    return _form(row.id, {"name": row.name or "", "quota": str(row.quota)})


@bp.post("/redemption/edit/<int:redemption_id>")
@admin_page
def update(redemption_id: int):
    form = FormInput()
    values = {"name": form.str("name"), "quota": form.str("quota")}
    try:
        row = redemptions.update(redemption_id, name=form.str("name", max_len=1024),
                                 quota=form.int("quota", 0, required=True, minimum=0))
    except OneAPIError as exc:
        if not exc.values.get("field"):
            raise  # not a field of the form (e.g. the code is gone): the error page or flash says so
        return _form(redemption_id, values, errors=field_errors(exc), status=422)
    flash(_("Redemption code %(name)s saved", name=row.name), "success")
    return redirect_to(url_for("redemptions.index"))


@bp.post("/redemption/<int:redemption_id>/status")
@admin_page
def toggle(redemption_id: int):
    row = redemptions.update(redemption_id, status=FormInput().int("status", required=True))
    flash(_("Code enabled") if row.status == 1 else _("Code disabled"), "success")
    if not wants_fragment():
        return redirect_to(url_for("redemptions.index"))
    return render("redemptions/_row.html", "row", row=row)


@bp.post("/redemption/<int:redemption_id>/delete")
@admin_page
def delete(redemption_id: int):
    redemptions.delete(redemption_id)
    flash(_("Redemption code deleted"), "success")
    return removed_row() if wants_fragment() else redirect_to(url_for("redemptions.index"))


def _form(redemption_id: int | None, values: dict[str, str], errors: dict[str, str] | None = None,
          status: int = 200) -> Response:
    return render("redemptions/edit.html", "form", status=status, redemption_id=redemption_id, values=values,
                  errors=errors or {})
