"""Settings read from the environment only, with embedded defaults.

Fresh machine: SQLite, Huey on SQLite, files under MEDIA_ROOT. `DATABASE_URL`,
`REDIS_URL` and `STORAGE_BACKEND=s3` switch to the production parts. Every
variable read here is listed in `.env.example`.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from .cpus import usable_cpus
from .sso import form_action_origins, socialaccount_providers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment; else a random key kept in VAR_DIR.

    A persistent file (not a constant in the code) keeps sessions valid across
    restarts on a developer machine without ever committing a secret.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- TLS -----------------------------------------------------------------------
# Off by default (plain http on a developer machine); .env.example's
# production block turns them on behind a TLS-terminating proxy, and
# `manage.py check --deploy` is clean with it.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
# Only behind a proxy that sets X-Forwarded-Proto (and X-Forwarded-For) itself,
# overwriting what a client sent: then request.is_secure() and absolute URLs
# follow the client's scheme, and sign-in throttling counts the client's
# address, not the proxy's. TRUSTED_PROXY_COUNT: proxies in front of the site
# that each append to X-Forwarded-For.
TRUST_X_FORWARDED_PROTO = env_bool("TRUST_X_FORWARDED_PROTO", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT") or int(TRUST_X_FORWARDED_PROTO))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "drf_spectacular_sidecar",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "generations",
]

MIDDLEWARE = [
    # First: a request id for every log line; then the probes (/healthz,
    # /readyz, /metrics), answered before host checks, HTTPS redirects,
    # sessions and sign-in, as load balancers and scrapers need.
    "generations.runtime.logcontext.RequestIdMiddleware",
    "generations.runtime.probes.ProbesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "zimage_site.urls"
WSGI_APPLICATION = "zimage_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "generations.dashboard.context.balance",
                "generations.dashboard.context.credit_notices",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- metrics -----------------------------------------------------------------
# /metrics (generations/runtime/metrics.py, docs/operations.md): who may scrape
# it, a bearer token or client addresses (CIDRs); with neither it answers 404
# and nothing is collected. Every process writes its counters under
# PROMETHEUS_MULTIPROC_DIR, set here before prometheus_client is imported so
# that all of them (web workers, consumers, commands) agree on the place.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOW = env_list("METRICS_ALLOW")
METRICS_ENABLED = env_bool("METRICS_ENABLED", bool(METRICS_TOKEN or METRICS_ALLOW))
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)
    if DATABASE_URL
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].update(
        {
            # WAL + a busy timeout + immediate transactions let the web process and
            # the Huey consumer share one SQLite file without "database is locked".
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "CONN_MAX_AGE": 0,
            # A file (not :memory:) so a real consumer process can share it in tests.
            "TEST": {"NAME": str(VAR_DIR / "test_db.sqlite3")},
        }
    )
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# A per-process pool of PostgreSQL connections (psycopg_pool), shared by its
# threads: a Huey thread hands its connection back while it waits on a
# provider (generations/dbconn.py), so a consumer with 128 threads needs a
# handful of connections, not 128. 0 turns it off (one connection per thread,
# kept 60 s). Django refuses a pool with persistent connections.
DATABASE_POOL_MAX_SIZE = int(os.environ.get("DATABASE_POOL_MAX_SIZE") or 16) if IS_POSTGRES else 0
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        # One kept open when idle, as a sync gunicorn worker needs (every web
        # and worker process has a pool); the rest opened on demand and closed
        # after 10 idle minutes.
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        # A thread waits this long for a free connection before its task fails.
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT") or 30),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- task queue -------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_NAME = os.environ.get("HUEY_NAME", "zimage")
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
# Provider calls are I/O-bound: threads spend their time waiting, so many per
# process keep many calls in flight (docs/benchmarks.md, bench/inflight.py has
# the figures). Many are cheap only on
# Redis and the PostgreSQL pool, where a waiting thread holds no database
# connection; on the embedded SQLite queue and database every thread would
# poll and lock the same two files.
HUEY_WORKERS_DEFAULT = 128 if REDIS_URL and DATABASE_POOL_MAX_SIZE else 8
# What a thread does around a call (download, decode, thumbnail, upload,
# ledger) holds the interpreter lock, so one process of threads uses about one
# core (docs/benchmarks.md, 2): on Redis and the pool the workers are spread
# over one forked process per core (at most 8), each running its share as
# threads on its share of the pool (generations.runtime.consumer). 1 keeps them all
# in one process.
_CPUS = usable_cpus()  # the cores this process may use: affinity and a container's CPU quota
HUEY_WORKER_PROCESSES = int(
    os.environ.get("HUEY_WORKER_PROCESSES") or (min(_CPUS, 8) if REDIS_URL and DATABASE_POOL_MAX_SIZE else 1)
)
_huey_common = {
    "name": HUEY_NAME,
    "immediate": HUEY_IMMEDIATE,
    "utc": True,
    "consumer": {
        "workers": int(os.environ.get("HUEY_WORKERS") or HUEY_WORKERS_DEFAULT),
        "worker_type": os.environ.get("HUEY_WORKER_TYPE", "thread"),
        "periodic": True,
        "check_worker_health": True,
        # An idle consumer polls less and less often; Huey's default cap of
        # 10 s would leave a new image waiting that long after a quiet spell.
        "max_delay": float(os.environ.get("HUEY_MAX_DELAY", "1")),
    },
}
if REDIS_URL:
    HUEY = {**_huey_common, "huey_class": "generations.runtime.consumer.RedisHuey", "url": REDIS_URL}
else:
    HUEY = {
        **_huey_common,
        "huey_class": "generations.runtime.consumer.SqliteHuey",
        "filename": os.environ.get("HUEY_SQLITE_PATH", str(VAR_DIR / "huey.sqlite3")),
    }

# --- cache ---------------------------------------------------------------------
# API throttling counts requests in the cache: shared through Redis when there
# is one, so every web process sees the same counts.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "zimage_site.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": HUEY_NAME,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }

# --- storage ----------------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"  # never routed: local files go through permission-checked views
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local").lower()

if STORAGE_BACKEND == "s3":
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    _default_storage = {
        "BACKEND": "generations.images.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("STORAGE_BUCKET", "zimage"),
            "endpoint_url": os.environ.get("STORAGE_ENDPOINT_URL") or None,
            "access_key": os.environ.get("STORAGE_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("STORAGE_SECRET_ACCESS_KEY") or None,
            "region_name": os.environ.get("STORAGE_REGION") or None,
            # A store that hangs fails the upload within these bounds (then the
            # copy is retried with backoff) instead of botocore's 60 s defaults.
            "client_config": Config(
                s3={"addressing_style": os.environ.get("STORAGE_ADDRESSING_STYLE") or None},
                signature_version=os.environ.get("STORAGE_SIGNATURE_VERSION", "s3v4"),
                connect_timeout=float(os.environ.get("STORAGE_CONNECT_TIMEOUT") or 5),
                read_timeout=float(os.environ.get("STORAGE_READ_TIMEOUT") or 20),
                retries={
                    "mode": "standard",
                    "max_attempts": int(os.environ.get("STORAGE_MAX_ATTEMPTS") or 2),
                },
            ),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("STORAGE_URL_EXPIRY", "300")),
            # Names are generation ids: a retried store must replace its file,
            # and overwriting saves the existence checks (HEAD requests).
            "file_overwrite": True,
            # Uploads in the worker's own thread, 5 MB parts (S3's smallest):
            # boto3's default (8 MB parts x 10 threads, a thread pool per file)
            # holds up to 80 MB per upload and costs a pool start per image.
            "transfer_config": TransferConfig(
                multipart_threshold=8 * 1024 * 1024,
                multipart_chunksize=5 * 1024 * 1024,
                max_concurrency=1,
                use_threads=False,
            ),
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG) and (STATIC_ROOT / "staticfiles.json").exists()
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}


# Single sign-on's identity providers: OIDC_PROVIDERS and one OIDC_<ID>_* block
# each (zimage_site/sso.py, docs/admin.md).
SOCIALACCOUNT_PROVIDERS = socialaccount_providers()


# --- Content-Security-Policy (django-csp) -----------------------------------------
# Scripts only from the site or carrying the request's nonce ({{ CSP_NONCE }});
# no inline event handlers, no eval (htmx's allowEval is off, base.html).
# Styles may be inline: the templates size placeholders with style
# attributes, and the admin and DRF's browsable API write small <style> blocks.
# Images may also come from the S3 endpoint (presigned redirects) and from
# CSP_EXTRA_IMG_SRC.
def _storage_img_sources() -> list[str]:
    if STORAGE_BACKEND != "s3":
        return []
    endpoint = os.environ.get("STORAGE_ENDPOINT_URL", "").rstrip("/")
    if not endpoint:
        return ["https://*.amazonaws.com"]
    scheme, _, host = endpoint.partition("://")
    return [endpoint, f"{scheme}://*.{host}"]  # path and virtual-host addressing


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", *_storage_img_sources(), *env_list("CSP_EXTRA_IMG_SRC")],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # The identity providers': the SSO buttons' answers redirect there.
        "form-action": [
            SELF,
            *form_action_origins(SOCIALACCOUNT_PROVIDERS),
            *env_list("CSP_EXTRA_FORM_ACTION"),
        ],
        "frame-ancestors": [NONE],
    },
}

# --- product settings ---------------------------------------------------------
IMAGE_MAX_BYTES = int(os.environ.get("IMAGE_MAX_BYTES", str(50 * 1024 * 1024)))
IMAGE_FETCH_ALLOW_PRIVATE = env_bool("IMAGE_FETCH_ALLOW_PRIVATE", False)
THUMBNAIL_SIZE = int(os.environ.get("THUMBNAIL_SIZE", "384"))
PROVIDER_TIMEOUT = float(os.environ.get("PROVIDER_TIMEOUT", "120"))
# How long a process reuses provider configs and price rules it read (0: never).
CONFIG_CACHE_SECONDS = float(os.environ.get("CONFIG_CACHE_SECONDS", "2"))
PROVIDER_MAX_ATTEMPTS = int(os.environ.get("PROVIDER_MAX_ATTEMPTS", "5"))
PROVIDER_RETRY_BASE = float(os.environ.get("PROVIDER_RETRY_BASE", "2"))
# Retries stop after PROVIDER_MAX_ATTEMPTS or once this many seconds have
# passed since the generation was created, whichever comes first.
PROVIDER_RETRY_WINDOW = float(os.environ.get("PROVIDER_RETRY_WINDOW", "600"))
# Submit+poll providers: first poll after PROVIDER_POLL_INITIAL seconds, then
# half the time waited so far (at most PROVIDER_POLL_MAX_INTERVAL), giving up
# after PROVIDER_POLL_TIMEOUT seconds.
PROVIDER_POLL_INITIAL = float(os.environ.get("PROVIDER_POLL_INITIAL", "2"))
PROVIDER_POLL_MAX_INTERVAL = float(os.environ.get("PROVIDER_POLL_MAX_INTERVAL", "15"))
PROVIDER_POLL_TIMEOUT = float(os.environ.get("PROVIDER_POLL_TIMEOUT", "600"))
DEFAULT_PROVIDER = os.environ.get("DEFAULT_PROVIDER", "")
# Where the docs/ folder can be read on the web (e.g. the repository's docs
# on its forge): the setup checklist links each provider's section there.
DOCS_URL = os.environ.get("DOCS_URL", "").rstrip("/")
# Circuit breaker per provider (lifecycle/circuit.py): this many retryable
# failures in a row open it for CIRCUIT_COOLDOWN seconds, then one probe goes;
# a probe silent for CIRCUIT_PROBE_TIMEOUT seconds is given to another caller.
CIRCUIT_FAILURES = int(os.environ.get("CIRCUIT_FAILURES", "5"))
CIRCUIT_COOLDOWN = float(os.environ.get("CIRCUIT_COOLDOWN", "60"))
CIRCUIT_PROBE_TIMEOUT = float(os.environ.get("CIRCUIT_PROBE_TIMEOUT") or PROVIDER_TIMEOUT + 30)
# A provider whose share of failed calls over the last 15 minutes reaches this is "degraded".
HEALTH_DEGRADED_RATE = float(os.environ.get("HEALTH_DEGRADED_RATE", "0.2"))
REAPER_TIMEOUT = int(os.environ.get("REAPER_TIMEOUT", "900"))
# A queued generation whose queue message was lost is sent again after this
# many seconds without progress, and failed and refunded once it is older
# than QUEUED_EXPIRE (recovery.py).
QUEUED_RESCUE_AFTER = int(os.environ.get("QUEUED_RESCUE_AFTER", "60"))
QUEUED_EXPIRE = int(os.environ.get("QUEUED_EXPIRE", "3600"))
STORE_RETRY_BASE = float(os.environ.get("STORE_RETRY_BASE", "2"))
STORE_RETRY_MAX_DELAY = float(os.environ.get("STORE_RETRY_MAX_DELAY", "300"))
STORE_RETRY_WINDOW = int(os.environ.get("STORE_RETRY_WINDOW", str(24 * 3600)))
STORE_RESCUE_AFTER = int(os.environ.get("STORE_RESCUE_AFTER", "600"))
STARTING_CREDITS = int(os.environ.get("STARTING_CREDITS", "100"))
# E-mail a user once when their balance falls under this (0 = never); an
# account's own threshold wins.
LOW_BALANCE_THRESHOLD = int(os.environ.get("LOW_BALANCE_THRESHOLD", "0"))
# Seconds a generation waits before asking again for a provider call slot.
PROVIDER_SLOT_WAIT = float(os.environ.get("PROVIDER_SLOT_WAIT", "1"))
# A provider with call slots gives a free one to the user with the fewest calls
# in them (lifecycle/slots.py); 0: first come, first served (bench/fairness.py).
FAIR_SHARE = env_bool("FAIR_SHARE", True)
# The most images one batch may hold (docs/api.md says why 500).
BATCH_MAX_IMAGES = int(os.environ.get("BATCH_MAX_IMAGES", "500"))

# --- API ---------------------------------------------------------------------------
API_THROTTLE_RATE = os.environ.get("API_THROTTLE_RATE", "120/min")
OPENAI_WAIT_TIMEOUT = float(os.environ.get("OPENAI_WAIT_TIMEOUT", "120"))
# Requests one web process lets wait for an image at once; more answer 429 with
# Retry-After at once, so the rest of the process's threads (WEB_THREADS, see
# zimage_site/gunicorn_conf.py) keep serving everything else.
WEB_THREADS = int(os.environ.get("WEB_THREADS") or 16)
OPENAI_MAX_WAITING = int(
    os.environ.get("OPENAI_MAX_WAITING") or max(1, WEB_THREADS - max(2, WEB_THREADS // 4))
)
# The OpenAI endpoint runs the provider call in the web process (its caller
# waits anyway); 0: through the queue like every other create.
OPENAI_INLINE = env_bool("OPENAI_INLINE", True)
OPENAI_URL_MAX_AGE = int(os.environ.get("OPENAI_URL_MAX_AGE", "3600"))
IDEMPOTENCY_WINDOW = int(os.environ.get("IDEMPOTENCY_WINDOW", str(24 * 3600)))
# A keyless request its client marks as a retry (the OpenAI SDK's
# X-Stainless-Retry-Count) is answered with a generation of the same
# parameters made this recently, instead of a second one.
RETRY_MATCH_WINDOW = int(os.environ.get("RETRY_MATCH_WINDOW", "900"))
WEBHOOKS_ENABLED = env_bool("WEBHOOKS_ENABLED", True)
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_RETRY_BASE = float(os.environ.get("WEBHOOK_RETRY_BASE", "10"))
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))

REST_FRAMEWORK = {
    # JSON nested too deeply for the parser answers 400, not 500 (parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "generations.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its challenge makes unauthenticated answers 401, not 403.
        "generations.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["generations.api.throttling.UserThrottle"],
    "DEFAULT_PAGINATION_CLASS": "generations.api.pagination.NewestFirstCursor",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "generations.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Z-Image Studio API",
    "DESCRIPTION": "Generate images with Z-Image-Turbo, manage prompts, credits and tokens. "
    "Authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from the site (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge fetched from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}
TRASH_DAYS = int(os.environ.get("TRASH_DAYS", "30"))
GALLERY_PAGE_SIZE = int(os.environ.get("GALLERY_PAGE_SIZE", "40"))

# --- auth, i18n, logging --------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: it refuses a locked-out sign-in before any password is checked.
    "zimage_site.security.SignInThrottleBackend",
    # Passwords (refused when PASSWORD_LOGIN=0), sessions and permissions.
    "zimage_site.security.PasswordBackend",
]
# Sign-in throttling (django-axes): LOGIN_FAILURE_LIMIT failed sign-ins for one
# username (existing or not), or from one client address, lock that username
# or address for LOGIN_LOCKOUT_MINUTES. Counts live in the database, shared by
# every web process; a successful sign-in clears its own.
AXES_ENABLED = env_bool("LOGIN_THROTTLE_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES") or 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "zimage_site.security.client_ip"
AXES_LOCKOUT_CALLABLE = "zimage_site.security.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- single sign-on (OpenID Connect, django-allauth), invitations, password reset ---
# Providers: OIDC_PROVIDERS and one OIDC_<ID>_* block each (SOCIALACCOUNT_PROVIDERS,
# read with the Content-Security-Policy above). The sign-in page offers a button per provider.
# 0: no password sign-in anywhere (site, admin, password reset): SSO only.
PASSWORD_LOGIN = env_bool("PASSWORD_LOGIN", True)
# Comma-separated e-mail domains whose people get an account at their first
# SSO sign-in; anyone else needs an invitation (or an existing account).
OIDC_ALLOWED_DOMAINS = [d.lower().lstrip("@") for d in env_list("OIDC_ALLOWED_DOMAINS")]
# Group claim -> team and staff, re-applied at every SSO sign-in: JSON such as
# {"design": {"team": "Design"}, "design-leads": {"team": "Design", "team_admin": true},
#  "it-admins": {"staff": true}}. Mappings made in the admin are added to these.
OIDC_GROUP_MAP = os.environ.get("OIDC_GROUP_MAP", "")
INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS") or 7)
# Password reset e-mails: at most this many an hour from one client address
# (more are answered 429) and to one address (more are silently not sent, so
# the answer never tells whether the address has an account).
PASSWORD_RESET_PER_IP_HOUR = int(os.environ.get("PASSWORD_RESET_PER_IP_HOUR") or 10)
PASSWORD_RESET_PER_ADDRESS_HOUR = int(os.environ.get("PASSWORD_RESET_PER_ADDRESS_HOUR") or 3)
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT") or 3 * 3600)
ACCOUNT_ADAPTER = "generations.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "generations.accounts.adapters.SocialAccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"  # the identity provider vouches for the address
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*"]
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in buttons POST (with the CSRF token)
SOCIALACCOUNT_STORE_TOKENS = False
# A person an admin already made, with the same (provider-verified) address,
# signs in to that account rather than getting a second one.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT") or 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# A mail server that hangs fails the send after this long (the low-balance
# mail is sent after a create or capture commits, in that thread).
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT") or 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# LOG_FORMAT=json: one JSON object a line, with the request and generation
# ids (generations/runtime/logcontext.py); the consumer's "huey" logger then
# writes through the same handler instead of Huey's own plain one.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "generations.runtime.logcontext.JsonFormatter"},
    },
    "filters": {"context": {"()": "generations.runtime.logcontext.ContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Plain: the consumer installs its own handler; JSON: this one's.
        "huey": {"propagate": False}
        if LOG_FORMAT != "json"
        else {"propagate": False, "handlers": ["console"], "level": "INFO"},
        "axes": {"level": "WARNING"},  # failed sign-ins and lockouts, not every success
        "generations.accounts": {"level": "INFO"},
    },
}
