"""`python -m oneapi` and the `oneapi` command: patch gevent first, then start the server."""

from oneapi.green import patch

patch()

from oneapi.server import main  # noqa: E402

if __name__ == "__main__":
    main()
