"""flaskjson: a Flask view returning a small JSON document through jsonify."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/")
def index():
    return jsonify(message="Hello, World!", id=42, tags=["wsgi", "bench"], ok=True)


application = app
