"""WSGI entry for `gunicorn -k gevent wsgi:app` and Baota's Python project manager.

gevent patches first, before Flask, requests or ssl load (skipped under `flask run`).
"""

import os

if not os.environ.get("FLASK_RUN_FROM_CLI"):
    from oneapi.green import patch

    patch()

from dotenv import load_dotenv  # noqa: E402

load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)

from oneapi.app import create_app  # noqa: E402
from oneapi.background import start_background_tasks  # noqa: E402
from oneapi.config import Config  # noqa: E402
from oneapi.requestlog import setup_logging  # noqa: E402
from oneapi.server import freeze_startup_objects  # noqa: E402

_config = Config.from_env(log_dir="./logs")
setup_logging(_config.log_dir, debug=_config.debug, single_file=_config.only_one_log_file)
app = create_app(_config)
if not os.environ.get("FLASK_RUN_FROM_CLI"):
    import atexit

    from oneapi.background import finish_pending

    start_background_tasks(app)
    # gunicorn's worker exits normally after a graceful stop (SIGTERM): the batched counters and
    # parked settlements are written then.
    atexit.register(finish_pending, app)
    freeze_startup_objects()
