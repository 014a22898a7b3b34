"""Deliberately broken: the application object is not callable."""

application = 42
