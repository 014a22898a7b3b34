"""Deliberately broken: loading this app must fail before listening."""


def application(environ, start_response)
    return []
