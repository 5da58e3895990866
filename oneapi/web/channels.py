"""The channels pages (admin): the list with its inline actions and background jobs, and the add/edit form.

Inline actions (test, balance, priority and weight, enable/disable, delete) answer htmx with the changed
row and a plain form post with a redirect to the list; the long jobs (test all, update all balances) run
in the background and the page polls their progress.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, request, url_for

from oneapi.errors import OneAPIError
from oneapi.extensions import db
from oneapi.i18n import language
from oneapi.models import Channel, ChannelStatus
from oneapi.relay import health
from oneapi.services import balances, channelforms, channels, channeltests
from oneapi.services.batchjobs import Progress
from oneapi.services.channelforms import ChannelValues
from oneapi.services.paging import PAGE_SIZE
from oneapi.web.access import admin_page
from oneapi.web.forms import FormInput, field_errors, page_number, query_text
from oneapi.web.htmx import redirect_to, render, trigger, wants_fragment
from oneapi.web.i18n import _

bp = Blueprint("channels", __name__)

JOBS = {"test": channeltests.batch_progress, "balance": balances.progress}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    english = language() != "zh"
    return {"type_label": lambda t: channelforms.type_label(t, english), "balance_text": balances.display,
            "balance_refreshable": balances.readable, "disable_reason": health.last_disable_reason,
            "speed_class": speed_class}


def speed_class(milliseconds: int) -> str:
    """One API's colours for a response time: ≤1 s, ≤3 s, ≤5 s, slower."""
    for limit, name in ((1000, "ok"), (3000, "info"), (5000, "warn")):
        if milliseconds <= limit:
            return name
    return "danger"


# -- the list ----------------------------------------------------------------------------------------

@bp.get("/channel")
@admin_page
def index():
    page, sort, keyword = page_number(), query_text("sort", 32), query_text("keyword")
    rows = channels.search_channels(keyword, page, sort) if keyword else channels.list_channels(page, sort)
    page_args = {k: v for k, v in (("sort", sort), ("keyword", keyword)) if v}
    return render("channels/index.html", "table", rows=rows, p=page, has_next=len(rows) == PAGE_SIZE, sort=sort,
                  keyword=keyword, page_args=page_args, jobs={job: progress() for job, progress in JOBS.items()})


def _row(channel_id: int, notice: str | None = None, **extra: Any):
    """The changed row for htmx; a plain post goes back to the list, with `notice` as a flash."""
    if not wants_fragment():
        if notice:
            flash(notice, "info")
        return redirect_to(url_for("channels.index"))
    return render("channels/_row.html", "row", channel=channels.get_channel(channel_id), **extra)


@bp.post("/channel/<int:channel_id>/test")
@admin_page
def test(channel_id: int):
    model = FormInput().str("model", max_len=191)
    result = channeltests.test_channel(channel_id, model)
    verdict = _("Answered in %(seconds)s s", seconds=f"{result.seconds:.2f}") if result.success else _("Test failed")
    return _row(channel_id, f"#{channel_id} {verdict}: {result.message[:300]}", result=result, tested=model)


@bp.post("/channel/<int:channel_id>/balance")
@admin_page
def balance(channel_id: int):
    balances.update_balance(channel_id)
    return _row(channel_id, _("Balance updated"))


@bp.post("/channel/<int:channel_id>/order")
@admin_page
def order(channel_id: int):
    form = FormInput()
    fields = {"priority": form.int("priority", 0, minimum=-(1 << 62), maximum=1 << 62),
              "weight": form.int("weight", 0, minimum=0)}
    channels.update_channel(channel_id, fields)
    return _row(channel_id, _("Priority and weight saved"))


@bp.post("/channel/<int:channel_id>/status")
@admin_page
def status(channel_id: int):
    enable = FormInput().int("status", required=True, minimum=1, maximum=2) == ChannelStatus.ENABLED
    channels.set_status(channel_id, ChannelStatus.ENABLED if enable else ChannelStatus.MANUALLY_DISABLED)
    return _row(channel_id, _("Channel enabled") if enable else _("Channel disabled"))


@bp.post("/channel/<int:channel_id>/delete")
@admin_page
def delete(channel_id: int):
    channels.delete_channel(channel_id)
    flash(_("Channel deleted"), "success")
    if not wants_fragment():
        return redirect_to(url_for("channels.index"))
    return render("channels/_row.html", "gone")


@bp.post("/channel/delete-disabled")
@admin_page
def delete_disabled():
    count = channels.delete_disabled()
    flash(_("%(n)s disabled channels deleted", n=count), "success")
    return redirect_to(url_for("channels.index"))


# -- background jobs ---------------------------------------------------------------------------------

@bp.post("/channel/test-all")
@admin_page
def test_all():
    total = channeltests.test_all(FormInput().str("scope", max_len=16) or "all")
    return _job_started("test", _("Testing %(n)s channels in the background", n=total))


@bp.post("/channel/update-balances")
@admin_page
def update_balances():
    total = balances.start_update_all()
    return _job_started("balance", _("Updating the balances of %(n)s channels in the background", n=total))


def _job_started(job: str, notice: str):
    if not wants_fragment():
        flash(notice, "info")
        return redirect_to(url_for("channels.index"))
    return _progress_answer(job)


@bp.get("/channel/progress")
@admin_page
def progress():
    job = request.args.get("job", "test")
    if job not in JOBS:
        abort(404)
    return _progress_answer(job)


def _progress_answer(job: str):
    """The job's progress; once it has finished, the list is told to refresh itself."""
    snapshot: Progress = JOBS[job]()
    response = render("channels/progress.html", "progress", job=job, progress=snapshot, shown=True)
    return response if snapshot.running else trigger(response, "channels-changed")


# -- the add/edit form -------------------------------------------------------------------------------

@bp.get("/channel/add")
@admin_page
def add():
    return _form(ChannelValues(), None)


@bp.post("/channel/add")
@admin_page
def add_submit():
    return _submit(None)


@bp.get("/channel/edit/<int:channel_id>")
@admin_page
def edit(channel_id: int):
    channel = channels.get_channel(channel_id)
    return _form(channelforms.values_of(channel), channel)


@bp.post("/channel/edit/<int:channel_id>")
@admin_page
def edit_submit(channel_id: int):
    return _submit(channels.get_channel(channel_id))


def _submit(channel: Channel | None):
    """Save, or (the type changed, a models button was pressed) show the form again with the values."""
    values = _posted_values()
    fill = FormInput().str("fill", max_len=16)
    if fill:
        channelforms.fill_models(values, fill)
        return _form(values, channel, block="models")
    if FormInput().str("action", max_len=16) == "retype":
        return _form(values, channel)
    try:
        saved = channelforms.save(values, channel.id if channel else None)
    except OneAPIError as exc:
        db.session.rollback()
        return _form(values, channel, errors=field_errors(exc), status=422)
    flash(_("Channel saved") if channel else _("%(n)s channels created", n=len(saved)), "success")
    return redirect_to(url_for("channels.index"))


def _posted_values() -> ChannelValues:
    form = FormInput()
    return ChannelValues(
        type=channels.check_type(form.int("type", 1)), name=form.str("name", max_len=191),
        groups=_unique(form.list("groups") + form.list("custom_groups")),
        models=_unique(form.list("models") + form.list("custom_models")),
        model_mapping=form.str("model_mapping", max_len=65535), system_prompt=form.str("system_prompt", max_len=65535),
        key=form.str("key", max_len=1 << 20), batch=form.bool("batch"), base_url=form.str("base_url", max_len=191),
        other=form.str("other", max_len=65535),
        config={key: form.str(f"config_{key}", max_len=65535) for key in channelforms.config_keys()})


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _form(values: ChannelValues, channel: Channel | None, *, block: str = "form", errors: dict | None = None,
          status: int = 200):
    return render(
        "channels/edit.html", block, status=status, values=values, channel=channel, errors=errors or {},
        type_form=channelforms.form_of(values.type), types=channelforms.type_choices(language() != "zh"),
        model_choices=channelforms.model_choices(values), all_models=channelforms.all_models(),
        group_choices=channelforms.group_choices(values.groups), kept_secrets=channelforms.saved_secrets(channel),
        action=request.path, lang=language())
