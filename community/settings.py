"""OneDesk settings, read from the environment (see .env.example)."""

import datetime as dt
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from community.lib.database import postgresql_options
from community.lib.env import env_bool, env_int, env_list, env_str
from community.lib.routers import replica_database

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", True)
_DEV_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_KEY)
if not DEBUG and SECRET_KEY == _DEV_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY when DEBUG is false.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "axes",
    "simple_history",
    "residents",
    "stations",
]

MIDDLEWARE = [
    # First, so every log line of the request (even from other middleware) carries its id.
    "community.lib.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "community.lib.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records who made each change in the history of residents, households, requests and bookings.
    "simple_history.middleware.HistoryRequestMiddleware",
    "community.lib.middleware.NoStoreForUsersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "community.lib.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last (django-axes requires it): turns a locked-out login into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "community.urls"
WSGI_APPLICATION = "community.wsgi.application"

TEMPLATES = [
    {
        # Django's engine; {% translate "…" %} and {% static "…" %} kept once rendered (community.lib.template_libraries).
        "BACKEND": "community.lib.template_libraries.DjangoTemplates",
        "NAME": "django",  # the alias Django's own backend would have
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"quick_fields": "community.lib.quick_fields", "nav": "community.lib.nav"},
        },
    },
]

# SQLite under var/ is the zero-setup default; PostgreSQL (psycopg 3) in CI and production.
# Prepared statements on PostgreSQL (see community.lib.database.postgresql_options); turn them off only
# behind a transaction-pooling PgBouncer older than 1.21, which cannot carry them.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
_default_db = f"sqlite:///{VAR_DIR / 'onedesk.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "") or _default_db,
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once; IMMEDIATE avoids upgrade deadlocks between writers.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # Tests on a file, not in memory: Django shares one in-memory connection between the live server's
    # threads, so two browser requests at once (a double tap) would run inside each other's transaction,
    # which never happens in production. On a file each thread has its own connection, as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-onedesk.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    postgresql_options(DATABASES["default"], prepared_statements=DATABASE_PREPARED_STATEMENTS)
# A read replica (optional): the dashboards, the subdistrict view and the reports read from it inside
# community.lib.routers.use_replica(); every other read and every write goes to the primary. In tests it
# mirrors the primary (no second test database).
_replica_url = env_str("DATABASE_REPLICA_URL", "")
if _replica_url:
    DATABASES["replica"] = replica_database(
        dj_database_url.parse(_replica_url, conn_max_age=env_int("CONN_MAX_AGE", 0), conn_health_checks=True)
    )
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        postgresql_options(DATABASES["replica"], prepared_statements=DATABASE_PREPARED_STATEMENTS)
    DATABASE_ROUTERS = ["community.lib.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background jobs (django.tasks, see stations/tasks.py). By default a task runs at once in the process
# that enqueues it, so development and tests need no worker. TASKS_BACKEND=database queues them in a
# table on the primary (django-tasks-db) for `manage.py db_worker` (docs/deploy.md).
_tasks_backend = env_str("TASKS_BACKEND", "immediate")
if _tasks_backend == "database":
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
elif _tasks_backend == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    raise ImproperlyConfigured("TASKS_BACKEND must be 'immediate' or 'database'.")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks the lockout before any other backend sees the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "community.lib.auth.ModelBackend",  # Django's, with permissions in one query
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic target in production; unset in development so WhiteNoise serves from the finders.
STATIC_ROOT = None if DEBUG else Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploaded files are private: never under a public URL, served by views that check access.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
# Selects, inputs and textareas rendered in Python: the same markup as Django's widget templates, faster.
FORM_RENDERER = "community.lib.forms_renderer.FastWidgetRenderer"

# Strict CSP: only our own files; inline scripts need the per-request nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SECURE = env_bool("SECURE", False)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
# The header only allows preloading; the domain joins browsers' lists only when someone submits it.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
# Sessions end 8 hours after the last request (idle) and 12 hours after the login (absolute), so a
# shared station phone does not stay logged in: community.lib.middleware.SessionTimeoutMiddleware.
# The idle timer is renewed by saving the session at most every SESSION_REFRESH_INTERVAL seconds,
# instead of SESSION_SAVE_EVERY_REQUEST's database write on every request.
SESSION_ENGINE = "community.lib.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_REFRESH_INTERVAL = env_int("SESSION_REFRESH_INTERVAL", 5 * 60)
SESSION_ABSOLUTE_AGE = env_int("SESSION_ABSOLUTE_AGE", 12 * 3600)

# Login throttling (django-axes): 5 wrong passwords for one username from one address lock that
# pair for 15 minutes; the answer is the translated 429 page. A right password resets the count.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "community.lib.errors.lockout_response"
# The same address the rest of the app uses (the track page's throttle, the access log).
AXES_CLIENT_IP_CALLABLE = "community.lib.http.client_ip"

# Residents' lists are paginated at this size everywhere.
PAGE_SIZE = 25

# Every line carries the request id (X-Request-ID) that error pages show, so a code quoted by a
# user finds the matching traceback; "-" outside a request.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "community.lib.request_id.RequestIdFilter"}},
    "formatters": {
        "default": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "default"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    # django.tasks logs the start and end of every task at INFO, which the root handler would print
    # whatever LOG_LEVEL says; a failed task is still logged (ERROR, with its traceback).
    "loggers": {"django.tasks": {"level": "WARNING"}},
}
