"""Settings for the sessions marketplace, read from the environment (django-environ).

Two modes, chosen by ``DJANGO_ENV``:

* ``development`` (the default): everything works on a developer machine with nothing set. PostgreSQL at
  127.0.0.1:5432 as ``postgres``, Redis at 127.0.0.1:6379, mail printed to the console, and the local Stripe
  emulator standing in for Stripe when no ``STRIPE_SECRET_KEY`` is given.
* ``production``: every secret must come from the environment. A missing one stops the process at start-up
  with its name, rather than failing later on the first request that needs it.

Every name read here is listed, with its meaning, in ``.env.example`` and the README's configuration table.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for development; real environment variables always win over it.
if env.bool("DJANGO_READ_DOT_ENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}.")
IS_PRODUCTION = DJANGO_ENV == "production"

# Secrets production cannot run without. Checked all at once so an operator sees the whole list in one go.
PRODUCTION_REQUIRED = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_CONNECT_WEBHOOK_SECRET",
    "RESEND_API_KEY",
    "DEFAULT_FROM_EMAIL",
)
if IS_PRODUCTION:
    missing = [name for name in PRODUCTION_REQUIRED if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(
            "Production settings are missing required environment variables: " + ", ".join(missing)
        )

# --- Core ---------------------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-development-only-key-never-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

# Present is not enough: production also refuses values that are there but unsafe, naming each problem.
SECRET_KEY_MIN_LENGTH = 50
if IS_PRODUCTION:
    unsafe = []
    if len(SECRET_KEY.strip()) < SECRET_KEY_MIN_LENGTH:
        unsafe.append(
            f"SECRET_KEY has {len(SECRET_KEY.strip())} characters besides whitespace; it needs at least "
            f"{SECRET_KEY_MIN_LENGTH} random ones"
        )
    elif len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        unsafe.append("SECRET_KEY is not random (too few distinct characters, or Django's insecure prefix)")
    if DEBUG:
        unsafe.append("DEBUG is on; production never shows debug pages (unset DEBUG or set it to false)")
    if any("*" in host for host in ALLOWED_HOSTS):
        unsafe.append("ALLOWED_HOSTS contains '*'; list the host names served (.example.com for subdomains)")
    if unsafe:
        raise ImproperlyConfigured("Production settings are unsafe: " + "; ".join(unsafe) + ".")
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
# What people see in page titles, the header, email subjects and the admin: never the host name.
SITE_NAME = env.str("SITE_NAME", default="Sessions Marketplace")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "marketplace",
    "providers",
    "bookings",
    "payments",
    "notifications",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "marketplace.middleware.AdminRefusesNulBytesMiddleware",
    "marketplace.timezones.ViewerTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

# Django's form renderer with <input> written in Python (marketplace/form_renderer.py).
FORM_RENDERER = "marketplace.form_renderer.FormRenderer"

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
                "marketplace.context_processors.site",
            ],
        },
    },
]

# --- Data stores --------------------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/marketplace"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Several test runs may share one PostgreSQL server (parallel checkouts, CI next to a developer): the
# throwaway database is named after DATABASE_URL's own (``marketplace_ci`` tests in ``test_marketplace_ci``),
# and a suffix can keep two runs on one database name apart.
DATABASES["default"]["TEST"] = {
    "NAME": f"test_{DATABASES['default']['NAME']}" + env.str("TEST_DB_SUFFIX", default="")
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        # Django's Redis cache, one client per connection pool instead of one a call (marketplace/cache.py).
        "BACKEND": "marketplace.cache.SharedClientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "marketplace",
        "TIMEOUT": 300,
        # A Redis that hangs must cost a request a second, not the whole request: every use of the cache
        # (cached reads, rate limits) degrades when Redis is away (docs/decisions.md), but only once it errs.
        "OPTIONS": {
            "socket_connect_timeout": env.float("REDIS_TIMEOUT_SECONDS", default=1.0),
            "socket_timeout": env.float("REDIS_TIMEOUT_SECONDS", default=1.0),
        },
    }
}
# Sessions live in the database so that any web process behind a load balancer can serve any request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Users and authentication -------------------------------------------------------------------------

AUTH_USER_MODEL = "marketplace.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Attempts allowed per window, counted in Redis so every web process sees the same counts. What each does when
# Redis is away is chosen in marketplace/ratelimit.py (FAILS_CLOSED); docs/decisions.md explains both.
RATE_LIMITS = {
    # Any login attempt from one address, whatever the account.
    "login_ip": (env.int("RATE_LIMIT_LOGIN_PER_IP", default=20), 15 * 60),
    # Failed attempts at one account from one address: past it, that address is refused for that account,
    # even with the right password; the owner logging in from anywhere else is not.
    "login_account_ip": (env.int("RATE_LIMIT_LOGIN_PER_ACCOUNT_AND_IP", default=8), 15 * 60),
    # Failed attempts at one account from every address together: past it, the owner is emailed (once per
    # window). Nobody is refused by this one: refusing would hand attackers a way to lock owners out.
    "login_account_alert": (env.int("LOGIN_ALERT_FAILURES_PER_ACCOUNT", default=20), 60 * 60),
    "signup_ip": (env.int("RATE_LIMIT_SIGNUP_PER_IP", default=10), 60 * 60),
    # Password-reset emails asked for from one address, and asked for one target address: nobody can turn
    # the reset form into a way to flood someone's inbox.
    "password_reset_ip": (env.int("RATE_LIMIT_PASSWORD_RESET_PER_IP", default=10), 60 * 60),
    "password_reset_email": (env.int("RATE_LIMIT_PASSWORD_RESET_PER_EMAIL", default=3), 60 * 60),
    # Each checkout creates a hold and a Stripe session: cap it per account and per address.
    "checkout_user": (env.int("RATE_LIMIT_CHECKOUT_PER_USER", default=10), 10 * 60),
    "checkout_ip": (env.int("RATE_LIMIT_CHECKOUT_PER_IP", default=30), 10 * 60),
}
# How many reverse proxies (load balancer, ingress) sit in front of the app and append to
# X-Forwarded-For. 0 trusts only the socket address, which is right when nothing is in front.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Internationalisation and time --------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # what is stored; each viewer sees their own zone (marketplace.timezones)

# --- Static and media files ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic writes and whitenoise serves from (the image builds it; tests use a throwaway folder).
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    # Uploaded files go through Django's storage API so object storage can replace the disk by configuration.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email --------------------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
RESEND_API_KEY = env.str("RESEND_API_KEY", default="")
RESEND_API_URL = env.str("RESEND_API_URL", default="https://api.resend.com")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "notifications.backends.ResendEmailBackend"
        if IS_PRODUCTION or RESEND_API_KEY
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
ADMIN_ALERT_EMAILS = env.list("ADMIN_ALERT_EMAILS", default=[])
ADMINS = [("Admin", address) for address in ADMIN_ALERT_EMAILS]

# --- Money --------------------------------------------------------------------------------------------

PLATFORM_CURRENCY = env.str("PLATFORM_CURRENCY", default="usd").lower()
# ISO 3166-1 alpha-2 country of the platform's Stripe account: decides where providers can be paid out
# (payments/connect.py: the same country, or cross-border within the US / UK / EEA / Canada / Switzerland).
PLATFORM_COUNTRY = env.str("PLATFORM_COUNTRY", default="US").upper()
PLATFORM_FEE_PERCENT = env.int("PLATFORM_FEE_PERCENT", default=10)
PAYOUT_HOLD_HOURS = env.int("PAYOUT_HOLD_HOURS", default=72)
# A confirmed session nobody marks complete is completed by the system this long after its end, so the
# provider's money never waits forever on a forgotten click.
AUTO_COMPLETE_HOURS = env.int("AUTO_COMPLETE_HOURS", default=48)
# Reminder emails go this many hours before a session (elapsed hours: a clock change in between moves
# nothing). Recipients can turn them off on their profile.
REMINDER_HOURS_BEFORE = env.int("REMINDER_HOURS_BEFORE", default=24)
# Transfer attempts (with backoff, 1 minute doubling to 2 hours) before a payout is failed and admins told.
PAYOUT_MAX_ATTEMPTS = env.int("PAYOUT_MAX_ATTEMPTS", default=8)
# Payouts per transfer task: the release hands due payouts out in chunks of this many, and a task decides
# and records its chunk in a constant number of SQL statements (still one Stripe call and key per payout).
PAYOUT_TASK_BATCH = env.int("PAYOUT_TASK_BATCH", default=25)
CANCELLATION_FULL_REFUND_HOURS = env.int("CANCELLATION_FULL_REFUND_HOURS", default=24)
LATE_CANCELLATION_REFUND_PERCENT = env.int("LATE_CANCELLATION_REFUND_PERCENT", default=0)
# Stripe lets a Checkout Session live 30 minutes at the least; one more absorbs clock skew.
CHECKOUT_SESSION_MINUTES = 31
# The slot hold outlives its Checkout Session, so a payment made in the session's last second still finds it.
CHECKOUT_HOLD_MARGIN_MINUTES = 5
BOOKING_HOLD_MINUTES = CHECKOUT_SESSION_MINUTES + CHECKOUT_HOLD_MARGIN_MINUTES
# However often the client retries checkout, a slot is held at most this long from the booking's creation,
# and a booking gets at most this many Checkout Sessions: a hold cannot be stretched to block a slot.
BOOKING_HOLD_MAX_MINUTES = env.int("BOOKING_HOLD_MAX_MINUTES", default=60)
CHECKOUT_MAX_ATTEMPTS = env.int("CHECKOUT_MAX_ATTEMPTS", default=5)
REFUND_MAX_ATTEMPTS = env.int("REFUND_MAX_ATTEMPTS", default=8)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)

# --- Stripe -------------------------------------------------------------------------------------------

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Without a real key, development talks to the local emulator (`manage.py stripe_emulator`).
USES_STRIPE_EMULATOR = not STRIPE_SECRET_KEY and not IS_PRODUCTION
STRIPE_EMULATOR_PORT = env.int("STRIPE_EMULATOR_PORT", default=12111)
if USES_STRIPE_EMULATOR:
    STRIPE_SECRET_KEY = "sk_test_emulator"
STRIPE_API_BASE = env.str(
    "STRIPE_API_BASE", default=f"http://127.0.0.1:{STRIPE_EMULATOR_PORT}" if USES_STRIPE_EMULATOR else ""
)
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_dev_platform")
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="whsec_dev_connect")
# Explicit: the SDK makes no retries unless told, and a hung connection must not hold a worker for long.
STRIPE_HTTP_TIMEOUT_SECONDS = env.int("STRIPE_HTTP_TIMEOUT_SECONDS", default=20)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# A person waiting on a page gets a much shorter budget than a background task: per try, and SDK retries.
# 4 s x 2 tries stays far inside gunicorn's worker timeout, so a hanging Stripe cannot tie up every worker.
STRIPE_WEB_TIMEOUT_SECONDS = env.int("STRIPE_WEB_TIMEOUT_SECONDS", default=4)
STRIPE_WEB_MAX_NETWORK_RETRIES = env.int("STRIPE_WEB_MAX_NETWORK_RETRIES", default=1)
# Prefix of every idempotency key, transfer_group and metadata tag this installation sends to Stripe. Empty:
# a random one kept in the database (payments.Installation), so a reset database never reuses old keys.
STRIPE_KEY_NAMESPACE = env.str("STRIPE_KEY_NAMESPACE", default="")

# --- Celery -------------------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again, not lost
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # with acks_late, don't let one worker sit on a queue of others' work
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True  # tasks report through database rows, never through results
# What a task prints (the development console email backend prints every email) is logged at INFO, not as a
# WARNING: an email sent is no warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message a worker has taken but not acknowledged (the worker was killed) goes back to the queue this long
# after it was taken. Redis's default is an hour of nothing happening; five minutes is still longer than any
# task may run (the hard time limit below), so a task that is merely slow is never delivered twice at once.
BROKER_VISIBILITY_TIMEOUT_SECONDS = env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
    # Without these a publish to a Redis that hangs (rather than refuses) waits forever, and so does the page
    # that enqueues after commit. Far above Redis's sub-millisecond answers; kombu's BRPOP polls every second.
    "socket_connect_timeout": env.float("REDIS_TIMEOUT_SECONDS", default=1.0),
    "socket_timeout": env.float("REDIS_TIMEOUT_SECONDS", default=1.0) + 1.0,
}
# One quick retry of a failed publish, not three: a page that enqueues after commit must not spend long on a
# broker that is away. The work is in the database already; a sweeper sends it (marketplace/enqueue.py).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Longest legitimate task: a webhook making a few Stripe calls, each up to three tries of 20 s. A task still
# running after this is stuck: its worker child is replaced, and a sweeper retries the row it worked on.
CELERY_TASK_TIME_LIMIT = BROKER_VISIBILITY_TIMEOUT_SECONDS - 30
CELERY_TIMEZONE = "UTC"
HEARTBEAT_INTERVAL_SECONDS = env.int("HEARTBEAT_INTERVAL_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "marketplace.tasks.heartbeat",
        "schedule": float(HEARTBEAT_INTERVAL_SECONDS),
        # A heartbeat nobody ran in time is worthless: expire it rather than queue up while workers are down.
        "options": {"expires": float(HEARTBEAT_INTERVAL_SECONDS)},
    },
    # Slots pass and new days enter each provider's booking horizon; keep search's "next available" true.
    "refresh-next-available": {
        "task": "providers.tasks.refresh_next_available",
        "schedule": 10 * 60.0,
        "options": {"expires": 10 * 60.0},
    },
    # Give back slots held by checkouts nobody finished.
    "expire-holds": {
        "task": "bookings.tasks.expire_holds_task",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Sessions nobody marked complete, AUTO_COMPLETE_HOURS after their end.
    "auto-complete-sessions": {
        "task": "payments.tasks.auto_complete_sessions_task",
        "schedule": 15 * 60.0,
        "options": {"expires": 15 * 60.0},
    },
    # Prove the money adds up and agrees with Stripe, once a day (also `manage.py check_ledger`).
    "check-ledger": {
        "task": "payments.tasks.check_ledger_task",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 6 * 3600.0},
    },
    # Transfer each provider's share once its hold has passed.
    "release-payouts": {
        "task": "payments.tasks.release_payouts_task",
        "schedule": 5 * 60.0,
        "options": {"expires": 5 * 60.0},
    },
    # Close checkout attempts that can no longer be paid for a held slot, and read sessions whose webhook
    # was lost.
    "close-checkouts": {
        "task": "payments.tasks.close_checkouts_task",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # The outbox sweepers: a lost Celery message or a Redis outage delays work, never loses it.
    "process-refunds": {
        "task": "payments.tasks.process_refunds_task",
        "schedule": 120.0,
        "options": {"expires": 120.0},
    },
    "process-webhooks": {
        "task": "payments.tasks.process_webhooks_task",
        "schedule": 120.0,
        "options": {"expires": 120.0},
    },
    # Reminders before sessions; each booking once, however the job runs (notifications/reminders.py).
    "send-reminders": {
        "task": "notifications.tasks.send_reminders_task",
        "schedule": 10 * 60.0,
        "options": {"expires": 10 * 60.0},
    },
    "resend-notifications": {
        "task": "notifications.tasks.notifications_resend_pending_task",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
# Every job also runs once as soon as beat starts, not one full interval later (marketplace/celery.py):
# after a deploy, a crash or an outage, stuck work moves within seconds. Every job is safe to run twice
# (DESIGN §6), so this is the default; one that must not (a daily report, say) is named here, with why.
BEAT_NOT_RUN_AT_START = frozenset(
    {
        # A daily report, not a sweeper: at every deploy it would alert admins again about what they know.
        "check-ledger",
    }
)
BEAT_RUN_AT_START = tuple(name for name in CELERY_BEAT_SCHEDULE if name not in BEAT_NOT_RUN_AT_START)

# --- Security -----------------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the small scripts we ship never read it; forms carry the token
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # /healthz/ is probed by load balancers over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Logging ------------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The Stripe SDK logs two INFO lines per request; our gateway logs what matters.
        "stripe": {"level": "WARNING"},
    },
}
