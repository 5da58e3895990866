"""Answering the console's requests: full pages, named fragments for htmx, redirects after a POST.

A plain or boosted request gets the whole page; an htmx request that is not boosted gets only the
named block of the same template, plus pending flash messages swapped out of band. Every page
response varies on `HX-Request`, so no cache hands a fragment to a full-page load.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, get_flashed_messages, make_response, redirect, render_template, request


def wants_fragment() -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_block(template: str, block: str, **context: Any) -> str:
    app = current_app._get_current_object()
    app.update_template_context(context)
    tmpl = app.jinja_env.get_or_select_template(template)
    return "".join(tmpl.blocks[block](tmpl.new_context(context)))


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    """The page, or its `block` for a fragment request, with out-of-band flashes appended."""
    if block and wants_fragment():
        body = render_block(template, block, **context) + flashes(oob=True)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def flashes(oob: bool = False) -> str:
    messages = get_flashed_messages(with_categories=True)
    if oob and not messages:
        return ""
    return render_template("components/_flash.html", messages=messages, oob=oob)


def redirect_to(url: str) -> Response:
    """After a mutation: 303 for plain and boosted requests (the browser follows and shows the page);
    a fragment request is told to load the page in full, keeping its flashes for it."""
    if wants_fragment():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def trigger(response: Response, event: str) -> Response:
    """Fire a client event after the swap (e.g. `channels-changed`), for other parts to refresh."""
    response.headers["HX-Trigger"] = event
    return response
