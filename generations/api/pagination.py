from datetime import UTC

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class NewestFirstCursor(CursorPagination):
    """Stable under inserts: a new generation never shifts the next page."""

    ordering = "-created_at"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        """DRF's cursor, whose position (a time) is checked: a crafted one that
        is not a time with a zone the database can hold is refused like any
        invalid cursor (404), never a 500."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            when = parse_datetime(cursor.position)
            if when is None or when.tzinfo is None or not 1 < when.astimezone(UTC).year < 9999:
                raise ValueError(cursor.position)
        except (ValueError, OverflowError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        return cursor
