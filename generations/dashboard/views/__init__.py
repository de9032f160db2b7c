"""The dashboard, one module per page family; urls.py imports the modules."""
