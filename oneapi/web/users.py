"""The users pages: the admin's list (search, sort, promote, demote, ban, delete), adding and editing a
user, and every user's own profile (`/user/edit`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, g, make_response, render_template, request, url_for

from oneapi.errors import Conflict, Forbidden, Invalid, NotFound, OneAPIError
from oneapi.models import User, UserStatus
from oneapi.services import options, paging, users
from oneapi.sessions import keep_signed_in
from oneapi.web.access import admin_page, local_path, user_page
from oneapi.web.forms import FormInput, field_errors, page_number, query_text
from oneapi.web.htmx import flashes, redirect_to, render, wants_fragment
from oneapi.web.i18n import _

bp = Blueprint("users", __name__)

ORDERS = ("", "quota", "used_quota", "request_count")


@bp.get("/user")
@admin_page
def index():
    keyword = query_text("keyword")
    order = request.args.get("order", "")
    order = order if order in ORDERS else ""
    p = page_number()
    # A search shows every match on one page, as One API's does; the list pages through the users.
    rows = users.search_users(keyword) if keyword else users.list_users(p, order)
    has_next = not keyword and len(rows) == paging.PAGE_SIZE
    return render("users/index.html", "table", rows=rows, keyword=keyword, order=order, p=p, has_next=has_next)


@bp.post("/user/manage")
@admin_page
def manage():
    """Promote, demote, enable, disable or delete one user; the row is swapped in place for htmx."""
    form = FormInput()
    try:
        user = users.manage(g.user, form.str("username", max_len=191), form.str("action", max_len=32))
    except OneAPIError as exc:
        flash(exc.text(), "error")
        return _row_answer(users.find_by_username(form.str("username", max_len=191)), _status_of(exc))
    flash(_ACTION_DONE[form.str("action")](), "success")
    return _row_answer(user if user.status != UserStatus.DELETED else None)


_ACTION_DONE = {
    "promote": lambda: _("The user is now an admin."),
    "demote": lambda: _("The user is now a normal user."),
    "enable": lambda: _("The user is enabled."),
    "disable": lambda: _("The user is banned."),
    "delete": lambda: _("The user is deleted."),
}


def _status_of(exc: OneAPIError) -> int:
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    return 422 if isinstance(exc, Invalid | Conflict) else 400


def _row_answer(user: User | None, status: int = 200) -> Response:
    """The updated row (nothing for a deleted user) with the flash, or back to the list without htmx."""
    if not wants_fragment():
        back = local_path(request.referrer)
        return redirect_to(back if urlsplit(back).path == url_for("users.index") else url_for("users.index"))
    row = render_template("users/_row.html", u=user) if user is not None else ""
    response = make_response(row + flashes(oob=True), status)
    response.vary.add("HX-Request")
    return response


@bp.get("/user/add")
@admin_page
def add():
    return render("users/add.html", "content", values={}, errors={})


@bp.post("/user/add")
@admin_page
def add_submit():
    form = FormInput()
    values = {"username": form.str("username"), "display_name": form.str("display_name")}
    try:
        user = users.admin_create(g.user, form.str("username", required=True, max_len=12),
                                  form.str("password", required=True, max_len=20, strip=False),
                                  form.str("display_name", max_len=20), 1)
    except (Invalid, Conflict) as exc:
        return render("users/add.html", "content", status=422, values=values, errors=field_errors(exc))
    flash(_("User %(name)s created.", name=user.username), "success")
    return redirect_to(url_for("users.index"))


@bp.get("/user/edit/<int:user_id>")
@admin_page
def edit(user_id: int):
    target = users.get_for_admin(g.user, user_id)
    return render("users/edit.html", "content", target=target, values=_values(target), errors={},
                  groups=_groups(target.group))


@bp.post("/user/edit/<int:user_id>")
@admin_page
def edit_submit(user_id: int):
    target = users.get_for_admin(g.user, user_id)
    form = FormInput()
    try:
        changes = {"username": form.str("username", required=True, max_len=12),
                   "display_name": form.str("display_name", max_len=20),
                   "password": form.str("password", max_len=20, strip=False),
                   "group": form.str("group", required=True, max_len=32),
                   "quota": form.int("quota", None, required=True, minimum=0),
                   # The balance the page showed: only the admin's change is applied to the current one.
                   "quota_shown": form.int("quota_shown", None, minimum=None)}
        keep_signed_in(users.admin_update(g.user, user_id, changes))
    except (Invalid, Conflict) as exc:
        return render("users/edit.html", "content", status=422, target=target, values=_posted(form),
                      errors=field_errors(exc), groups=_groups(target.group))
    flash(_("User %(name)s saved.", name=changes["username"]), "success")
    return redirect_to(url_for("users.index"))


@bp.get("/user/edit")
@user_page
def profile():
    return render("users/profile.html", "content", values=_values(g.user), errors={})


@bp.post("/user/edit")
@user_page
def profile_submit():
    form = FormInput()
    try:
        users.update_self(g.user, {"username": form.str("username", required=True, max_len=12),
                                   "display_name": form.str("display_name", max_len=20),
                                   "password": form.str("password", max_len=20, strip=False)})
        keep_signed_in(g.user)
    except (Invalid, Conflict) as exc:
        return render("users/profile.html", "content", status=422, values=_posted(form), errors=field_errors(exc))
    flash(_("Your profile is saved."), "success")
    return redirect_to(url_for("users.profile"))


def _values(user: User) -> dict[str, object]:
    return {"username": user.username, "display_name": user.display_name or "", "group": user.group,
            "quota": user.quota or 0, "quota_shown": user.quota or 0}


def _posted(form: FormInput) -> dict[str, object]:
    """What was typed, to show again beside the errors (never the password), with the balance the
    page first showed, which the typed quota is still relative to."""
    return {k: (form.data.get(k) or "")[:200] for k in ("username", "display_name", "group", "quota", "quota_shown")}


def _groups(current: str) -> list[str]:
    """The groups of the GroupRatio option, with the user's own group kept even if it left the option."""
    groups = sorted(options.get_json("GroupRatio"))
    return groups if current in groups or not current else [current, *groups]
