"""Confirmation of destructive actions when JavaScript is off.

With JavaScript, htmx asks (`hx-confirm`) before it posts. Without it, the form's `<noscript>` field
`_confirm` (the question) comes along instead, and this hook answers with a page asking the same
question, whose "yes" posts the same fields again without it. Scripts only ever render a `<noscript>`
as text, so an htmx request never carries the field.
"""

from __future__ import annotations

from flask import request

from oneapi.web.access import local_path, safe_next
from oneapi.web.htmx import render

FIELD = "_confirm"


def ask_first():
    """A before-request hook of the console's blueprints: it runs after the app's CSRF check, so only a
    genuine form gets the question, and never on a relay request (whose upload it would parse early)."""
    if request.method != "POST" or FIELD not in request.form:
        return None
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in (FIELD, "csrf_token")]
    # Both ways out of the page come from the request: each goes through the console's one local-path check.
    back, action = local_path(request.referrer), safe_next(request.full_path.rstrip("?"))
    return render("components/confirm.html", question=request.form[FIELD][:300], action=action, fields=fields,
                  back=back)
