"""A small Flask app for the interop tests, run with Debian's /usr/bin/python3 and its Flask.

    SECRET_KEY=... /usr/bin/python3 test/interop/flask_app.py

listens on a free port of 127.0.0.1 and prints that port on stdout. Values cross the wire in a
neutral JSON form that keeps Python's types apart: plain JSON for None, bools, numbers and
strings, and ["list"|"tuple", [...]], ["dict", {...}], ["bytes", "<hex>"], ["date", "<ISO UTC>"],
["uuid", "<str>"], ["markup", "<str>"] for the rest. make-flask-vectors.py uses the same form.
"""
import datetime
import logging
import os
import sys
import uuid
from unittest import mock

from flask import Flask, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.serving import make_server


def to_python(node):
    if not isinstance(node, list):
        return node
    kind, body = node
    if kind == "list":
        return [to_python(item) for item in body]
    if kind == "tuple":
        return tuple(to_python(item) for item in body)
    if kind == "dict":
        return {key: to_python(value) for key, value in body.items()}
    if kind == "bytes":
        return bytes.fromhex(body)
    if kind == "date":
        return datetime.datetime.fromisoformat(body.replace("Z", "+00:00"))
    if kind == "uuid":
        return uuid.UUID(body)
    if kind == "markup":
        return Markup(body)
    raise ValueError(f"unknown kind {kind!r}")


def describe(value):
    # Markup is a str subclass and bool an int subclass: test the narrower types first.
    if isinstance(value, Markup):
        return ["markup", str(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return ["tuple", [describe(item) for item in value]]
    if isinstance(value, list):
        return ["list", [describe(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", {key: describe(item) for key, item in value.items()}]
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    if isinstance(value, datetime.datetime):
        return ["date", value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")]
    if isinstance(value, uuid.UUID):
        return ["uuid", str(value)]
    raise TypeError(f"cannot describe {type(value).__name__}")


class ClockedSessionInterface(SecureCookieSessionInterface):
    """Flask's own interface, but signing at the time in X-Issue-At when a test sends one, so
    the tests can get expired and future cookies from the real Flask."""

    def save_session(self, app, session, response):
        issue_at = request.headers.get("X-Issue-At")
        if issue_at is None:
            return super().save_session(app, session, response)
        with mock.patch("time.time", return_value=float(issue_at)):
            return super().save_session(app, session, response)


def create_app(secret_key):
    app = Flask(__name__)
    app.secret_key = secret_key
    app.session_interface = ClockedSessionInterface()

    @app.post("/set")
    def set_session():
        body = request.get_json()
        session.clear()
        session.update(to_python(body["data"]))
        if "permanent" in body:
            session.permanent = body["permanent"]
        return "ok"

    @app.get("/dump")
    def dump():
        return jsonify(describe(dict(session)))

    @app.get("/touch")
    def touch():
        session.modified = True
        return jsonify(describe(dict(session)))

    return app


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, create_app(os.environ["SECRET_KEY"]))
    print(server.socket.getsockname()[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
