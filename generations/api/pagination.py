from rest_framework.pagination import CursorPagination


class NewestFirstCursor(CursorPagination):
    """Stable under inserts: a new generation never shifts the next page."""

    ordering = "-created_at"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
