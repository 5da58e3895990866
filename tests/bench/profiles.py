"""Summaries of py-spy's raw (collapsed-stack) profiles of the gateway: where the time goes by layer
(database, upstream HTTP client, Flask, gevent's server, logging …), the top functions by own time,
and the share of every `oneapi` function including what it calls.

    python tests/bench/profiles.py tests/bench/profile-nonstream.txt
"""

from __future__ import annotations

import argparse
import collections
from dataclasses import dataclass, field
from pathlib import Path

# The outermost frame of one of these packages names the layer a sample belongs to.
LIBRARIES = (
    ("database (SQLAlchemy + sqlite3)", ("sqlalchemy/", "flask_sqlalchemy/", "sqlite3/")),
    ("upstream HTTP client (requests, urllib3, http.client)", ("requests/", "urllib3/", "http/client.py",
                                                              "email/")),
    ("logging (request log lines)", ("logging/",)),
    ("token counting (tiktoken)", ("tiktoken/",)),
    ("JSON (json module)", ("json/",)),
)
# Samples outside those libraries are named by their innermost frame.
LEAVES = (
    ("gevent hub / idle", ("gevent/hub.py", "gevent/_hub", "gevent/select.py")),
    ("gevent sockets", ("gevent/_socket", "gevent/socket")),
    ("gevent WSGI server (pywsgi)", ("gevent/pywsgi.py", "gevent/baseserver.py", "gevent/server.py")),
    ("Flask / Werkzeug", ("flask/", "werkzeug/", "flask_login/", "jinja2/")),
    ("oneapi code", ("oneapi/",)),
)


def _file(frame: str) -> str:
    return frame.rpartition("(")[2].rstrip(")")


def _function(frame: str) -> str:
    name, _, where = frame.rpartition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]}"


def layer(frames: list[str]) -> str:
    for frame in frames:
        path = _file(frame)
        for name, markers in LIBRARIES:
            if any(m in path for m in markers):
                return name
    leaf = _file(frames[-1]) if frames else ""
    for name, markers in LEAVES:
        if any(m in leaf for m in markers):
            return name
    return "other (interpreter, stdlib)"


@dataclass
class Profile:
    total: int = 0
    layers: collections.Counter = field(default_factory=collections.Counter)
    own: collections.Counter = field(default_factory=collections.Counter)
    inclusive: collections.Counter = field(default_factory=collections.Counter)

    @classmethod
    def load(cls, path: Path) -> Profile:
        profile = cls()
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            profile.total += n
            profile.layers[layer(frames)] += n
            profile.own[_function(frames[-1])] += n
            for name in {_function(f) for f in frames}:
                profile.inclusive[name] += n
        return profile

    def share(self, n: int) -> str:
        return f"{100 * n / self.total:.1f}%" if self.total else "–"

    def markdown(self, title: str, top: int = 15) -> str:
        lines = [f"### {title}", "", f"{self.total} samples.", "", "| layer | share |", "| --- | ---: |"]
        lines += [f"| {name} | {self.share(n)} |" for name, n in self.layers.most_common()]
        lines += ["", "| top functions by own time | share |", "| --- | ---: |"]
        lines += [f"| `{name}` | {self.share(n)} |" for name, n in self.own.most_common(top)]
        ours = [(name, n) for name, n in self.inclusive.most_common() if "oneapi/" in name]
        lines += ["", "| oneapi functions, including callees | share |", "| --- | ---: |"]
        lines += [f"| `{name}` | {self.share(n)} |" for name, n in ours[:top * 2]]
        return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    for path in args.profiles:
        print(Profile.load(path).markdown(path.name, args.top))


if __name__ == "__main__":
    main()
