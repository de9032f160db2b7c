"""The JSON parser of every API body (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

DRF's own turns only ValueError into a 400: JSON nested deeper than the
interpreter's recursion limit raised RecursionError, a 500. Nesting is also
capped well below that, so nothing that walks a parsed body recursively
(validation, error messages) can hit the limit either.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32  # no request body of these APIs nests more than a few levels


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep()) from None
        if depth_over(data, MAX_DEPTH):
            raise ParseError(too_deep())
        return data


def too_deep() -> str:
    return f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep."


def depth_over(data, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` deep (without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in value)
    return False
