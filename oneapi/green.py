"""gevent patching, done before anything else is imported by the server entry points."""


def patch() -> None:
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    # psycopg2 talks to PostgreSQL in C; this makes it wait through gevent's hub instead.
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
