# One image for both roles: web (default command) and worker (`python manage.py run_huey`).
# It runs behind a TLS-terminating proxy that sets X-Forwarded-Proto and
# X-Forwarded-For: https only, HSTS, secure cookies (.env.example's production block).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media \
    SECURE_SSL_REDIRECT=1 \
    SECURE_HSTS_SECONDS=31536000 \
    SECURE_HSTS_INCLUDE_SUBDOMAINS=1 \
    SECURE_HSTS_PRELOAD=1 \
    SESSION_COOKIE_SECURE=1 \
    CSRF_COOKIE_SECURE=1 \
    TRUST_X_FORWARDED_PROTO=1

WORKDIR /app
RUN useradd --create-home --uid 10001 zimage

COPY pyproject.toml README.md requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY zimage_site ./zimage_site
COPY generations ./generations
RUN pip install --no-cache-dir --no-deps .

COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var /app/media \
    && chown -R zimage:zimage /app/var /app/media

USER 10001
EXPOSE 8000
# Threads, timeouts and the port: zimage_site/gunicorn_conf.py (WEB_* variables).
CMD ["gunicorn", "-c", "python:zimage_site.gunicorn_conf", "zimage_site.wsgi"]
