"""One API for Python: an OpenAI-format LLM API gateway, a drop-in for One API.

This module stays free of imports so that `python -m oneapi` and the `oneapi` script can patch
gevent before Flask, requests or ssl are loaded; the factory itself lives in `oneapi.app`.
"""

__version__ = "0.1.0"


def create_app(config=None):
    """Build the Flask application (see `oneapi.app.create_app`)."""
    from oneapi.app import create_app as build

    return build(config)
