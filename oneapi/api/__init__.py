"""The management API under `/api`: One API's routes, auth levels and `{success, message, data}` envelope."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from oneapi.api import channels, logs, misc, options, public, redemptions, tokens, users  # noqa: E402,F401
from oneapi.api.csrf import require_same_origin  # noqa: E402
from oneapi.api.ratelimit import check_global_api  # noqa: E402

bp.before_request(check_global_api)
# Calls riding on the session cookie must come from this site's pages (see oneapi.api.csrf).
bp.before_request(require_same_origin)
