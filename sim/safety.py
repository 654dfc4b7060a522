"""Placeholder replaced below."""


def check_model_file(path):
    return None
