"""The management API under `/api`: One API's routes, auth levels and `{success, message, data}` envelope."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from oneapi.api import channels, logs, misc, options, public, redemptions, tokens, users  # noqa: E402,F401
from oneapi.api.ratelimit import check_global_api  # noqa: E402

bp.before_request(check_global_api)
