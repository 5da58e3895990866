"""Console error answers: an error page for a page load, a flash message for an htmx request."""

from __future__ import annotations

from flask import make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from oneapi.web.htmx import wants_fragment
from oneapi.web.i18n import _

_TEXTS = {
    400: lambda: _("The request was not understood."),
    403: lambda: _("You do not have permission to open this page."),
    404: lambda: _("This page does not exist."),
    405: lambda: _("This address does not accept that request."),
    429: lambda: _("Too many attempts; wait a while and try again."),
    500: lambda: _("Something went wrong on the server; the log has the details."),
}


def console_error(message: str | None, status: int, exc: HTTPException | None = None):
    if isinstance(exc, CSRFError):
        message = _("The form has expired or did not come from this site; reload the page and try again.")
    if message is None:
        message = _TEXTS.get(status, _TEXTS[500])()
    if wants_fragment():
        body = render_template("components/_flash.html", messages=[("error", message)], oob=False)
        response = make_response(body, status)
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "outerHTML"
    else:
        response = make_response(render_template("errors/error.html", status=status, message=message), status)
    response.vary.add("HX-Request")
    return response
