"""The apps as a server loads them: a fresh interpreter, cwd = --chdir, MODULE:CALLABLE resolved.

Also runs setup_demo.sh, the script the e2e tests and `make run-django` rely on, against a
temporary database and STATIC_ROOT.
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DJANGO_DIR, PYTHON_DIR

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# Import MODULE, evaluate CALLABLE (a name or a factory call) like gunicorn/gohost do, and check
# that the result is a WSGI callable by serving GET / with wsgiref's test defaults.
LOADER = r"""
import ast, importlib, json, sys, wsgiref.util
sys.path.insert(0, ".")
module, _, expr = sys.argv[1].partition(":")
mod = importlib.import_module(module)
node = ast.parse(expr, mode="eval").body
if isinstance(node, ast.Call):
    app = getattr(mod, node.func.id)()
else:
    app = getattr(mod, node.id)
env = {"REQUEST_METHOD": "GET", "PATH_INFO": sys.argv[2], "SCRIPT_NAME": "",
       "HTTP_HOST": "127.0.0.1:8000"}
wsgiref.util.setup_testing_defaults(env)
got = []
body = app(env, lambda status, headers, exc_info=None: got.append(status))
data = b"".join(body)
getattr(body, "close", lambda: None)()
print(json.dumps({"status": got[0], "len": len(data)}))
"""


def load(cwd, spec, path, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SETTINGS")}
    full_env.update(env or {})
    out = subprocess.run(
        [PYTHON, "-c", LOADER, spec, path],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("spec", ["flaskapp.app:application", "flaskapp.app:app", "flaskapp.app:create_app()"])
def test_flask_specs(spec):
    assert load(PYTHON_DIR, spec, "/") == {"status": "200 OK", "len": 19}


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["GOHOST_DJANGO_DB"] = str(tmp / "db.sqlite3")
    env["GOHOST_DJANGO_STATIC_ROOT"] = str(tmp / "static")
    for k in ("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD", "DJANGO_SUPERUSER_EMAIL"):
        env.pop(k, None)
    return env


def test_setup_demo_script(demo_env):
    script = DJANGO_DIR / "setup_demo.sh"
    for expected in ("created, 4 notes added", "exists, 0 notes added"):  # idempotent
        out = subprocess.run(
            ["bash", str(script)], env=demo_env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        assert expected in out.stdout
    db = sqlite3.connect(demo_env["GOHOST_DJANGO_DB"])
    try:
        users = db.execute("SELECT username, is_superuser FROM auth_user").fetchall()
        notes = db.execute("SELECT COUNT(*) FROM notes_note").fetchone()[0]
    finally:
        db.close()
    assert users == [("admin", 1)]
    assert notes == 4
    static = Path(demo_env["GOHOST_DJANGO_STATIC_ROOT"])
    assert (static / "admin" / "css" / "base.css").is_file()
    assert (static / "notes" / "style.css").is_file()


def test_django_spec(demo_env):
    # Needs the database test_setup_demo_script made (same module-scoped environment).
    if not Path(demo_env["GOHOST_DJANGO_DB"]).exists():
        subprocess.run(["bash", str(DJANGO_DIR / "setup_demo.sh"), "-v0"], env=demo_env,
                       check=True, timeout=120)
    got = load(DJANGO_DIR, "djangoproject.wsgi:application", "/api/notes/", demo_env)
    assert got["status"] == "200 OK" and got["len"] > 100
