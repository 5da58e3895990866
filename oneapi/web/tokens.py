"""The tokens pages: a user's own API keys (`/token`, `/token/add`, `/token/edit/<id>`).

Every service call passes `g.user.id`, so another user's key is "not found" (404) on every route, for
reading as for changing. The form's quick expiry buttons and the quota's dollar value re-render the form
without saving (a `expire` or `preview` field), so they work with JavaScript off and htmx only swaps them.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, flash, g, make_response, request, url_for

from oneapi.errors import OneAPIError
from oneapi.models import Token
from oneapi.services import options, tokens, users
from oneapi.services.paging import PAGE_SIZE
from oneapi.services.tokens import TokenFields
from oneapi.web import markup
from oneapi.web.access import user_page
from oneapi.web.forms import FormInput, field_errors, page_number, query_text
from oneapi.web.htmx import flashes, redirect_to, render, wants_fragment
from oneapi.web.i18n import _
from oneapi.web.templating import server_address

bp = Blueprint("tokens", __name__)

ORDERS = ("", "remain_quota", "used_quota")
NEW_TOKEN_QUOTA = 500000


@bp.get("/token")
@user_page
def index():
    keyword = query_text("keyword")
    order = request.args.get("order", "") if request.args.get("order", "") in ORDERS else ""
    p = page_number()
    if keyword:
        # One API's search returns every match at once, without pages.
        rows, has_next = tokens.search_tokens(g.user.id, keyword), False
    else:
        rows = tokens.list_tokens(g.user.id, p, order)
        has_next = len(rows) == PAGE_SIZE
    return render("tokens/index.html", "table", rows=rows, keyword=keyword, order=order, p=p,
                  has_next=has_next, **row_values())


@bp.get("/token/add")
@user_page
def add():
    return _form(None, {"name": "", "models": [], "subnet": "", "expired_time": "-1",
                        "remain_quota": str(NEW_TOKEN_QUOTA), "unlimited_quota": False})


@bp.post("/token/add")
@user_page
def create():
    return _save(None)


@bp.get("/token/edit/<int:token_id>")
@user_page
def edit(token_id: int):
    token = tokens.get_token(g.user.id, token_id)
    return _form(token.id, {"name": token.name or "", "models": [m for m in (token.models or "").split(",") if m],
                            "subnet": token.subnet or "", "expired_time": tokens.format_expiry(token.expired_time),
                            "remain_quota": str(token.remain_quota), "unlimited_quota": token.unlimited_quota})


@bp.post("/token/edit/<int:token_id>")
@user_page
def update(token_id: int):
    tokens.get_token(g.user.id, token_id)  # someone else's id is a 404 even for a quick button
    return _save(token_id)


@bp.post("/token/<int:token_id>/status")
@user_page
def toggle(token_id: int):
    token = tokens.set_status(g.user.id, token_id, FormInput().int("status", required=True))
    flash(_("Token enabled") if token.status == 1 else _("Token disabled"), "success")
    if not wants_fragment():
        return redirect_to(url_for("tokens.index"))
    return render("tokens/_row.html", "row", token=token, **row_values())


@bp.post("/token/<int:token_id>/delete")
@user_page
def delete(token_id: int):
    tokens.delete_token(g.user.id, token_id)
    flash(_("Token deleted"), "success")
    return removed_row() if wants_fragment() else redirect_to(url_for("tokens.index"))


def removed_row() -> Response:
    """The answer to an htmx delete: nothing in place of the row, the flash out of band."""
    response = make_response(flashes(oob=True))
    response.vary.add("HX-Request")
    return response


def row_values() -> dict[str, Any]:
    """What a token row needs: its chat-client links and its shown status."""
    server = server_address()
    chat_link = options.get("ChatLink")
    now = int(time.time())
    return {"chat_links": lambda key: tokens.chat_links(key, server, chat_link),
            "shown_status": lambda token: tokens.shown_status(token, now)}


def _save(token_id: int | None) -> Response:
    form = FormInput()
    values = _posted(form)
    if form.has("expire") or form.has("preview"):
        if form.str("expire"):
            values["expired_time"] = tokens.format_expiry(tokens.quick_expiry(form.str("expire")))
        return _form(token_id, values)
    try:
        saved = _store(token_id, _fields(form))
    except OneAPIError as exc:
        return _form(token_id, values, errors=field_errors(exc), status=422)
    flash(_("Token %(name)s saved", name=saved.name), "success")
    return redirect_to(url_for("tokens.index"))


def _store(token_id: int | None, fields: TokenFields) -> Token:
    if token_id is None:
        return tokens.create_token(g.user.id, fields)
    return tokens.update_token(g.user.id, token_id, fields)


def _fields(form: FormInput) -> TokenFields:
    unlimited = form.bool("unlimited_quota")
    return TokenFields(
        name=form.str("name", max_len=191), expired_time=tokens.parse_expiry(form.str("expired_time")),
        remain_quota=form.int("remain_quota", 0, minimum=-1 if unlimited else 0), unlimited_quota=unlimited,
        models=",".join(form.list("models")), subnet=form.str("subnet", max_len=191))


def _posted(form: FormInput) -> dict[str, Any]:
    """The form as sent, to show it again unchanged (after an error or a quick button)."""
    return {"name": form.str("name"), "models": form.list("models"), "subnet": form.str("subnet"),
            "expired_time": form.str("expired_time"), "remain_quota": form.str("remain_quota"),
            "unlimited_quota": form.bool("unlimited_quota")}


def _form(token_id: int | None, values: dict[str, Any], errors: dict[str, str] | None = None,
          status: int = 200) -> Response:
    available = users.available_models(g.user.group or "default")
    # Models the key already allows stay listed even if the group lost them, so a save keeps them.
    choices = available + [m for m in values["models"] if m not in available]
    return render("tokens/edit.html", "form", status=status, token_id=token_id, values=values,
                  errors=errors or {}, choices=choices, usd=usd(values["remain_quota"]))


def usd(quota: str) -> str:
    """The quota's value in dollars (QuotaPerUnit quota per $1), or "" when it is not a number."""
    try:
        amount = int(quota)
    except ValueError:
        return ""
    return markup.dollars(amount)
