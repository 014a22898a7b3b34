"""Example Flask application served by gohost (see app.py)."""
