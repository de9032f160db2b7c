"""The REST API (`/api/v1/`) and the OpenAI-compatible endpoint (`/v1/`)."""
