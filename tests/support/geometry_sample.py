"""A small module the index and search tests index: two functions with docstrings."""

GEOMETRY = '''"""Geometry helpers."""

import math


def circle_area(radius):
    """Area of a circle."""
    return math.pi * radius * radius


def parse_config(path):
    """Read key=value lines into a dict."""
    result = {}
    for line in open(path):
        key, _, value = line.partition("=")
        result[key.strip()] = value.strip()
    return result
'''
