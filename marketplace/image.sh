#!/bin/sh
# The production image's own commands, shared by the Dockerfile, docker-compose.yml and the production smoke
# test (tests/marketplace/test_production_image.py), so what the suite checks is what the image runs.
#
#   marketplace/image.sh collectstatic   build time: static files the way production serves them
#   marketplace/image.sh web             run time: gunicorn, sized and timed deliberately (docs/operations.md)
#
# PYTHON picks the interpreter (default: python on PATH).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

case "${1:-}" in
collectstatic)
    # Production's storage: hashed names, the manifest every {% static %} looks up, compressed copies.
    # Production settings refuse to load without their secrets; the build has none and collectstatic uses
    # none, so each one not given gets a throwaway value for this one command (never baked into the image).
    throwaway="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(64))')"
    DJANGO_ENV=production \
    DJANGO_READ_DOT_ENV=0 \
    SECRET_KEY="${SECRET_KEY:-$throwaway}" \
    DATABASE_URL="${DATABASE_URL:-postgres://unused@127.0.0.1:9/unused}" \
    REDIS_URL="${REDIS_URL:-redis://127.0.0.1:9/0}" \
    ALLOWED_HOSTS="${ALLOWED_HOSTS:-build.invalid}" \
    SITE_URL="${SITE_URL:-https://build.invalid}" \
    STRIPE_SECRET_KEY="${STRIPE_SECRET_KEY:-sk_build_unused}" \
    STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_build_unused}" \
    STRIPE_CONNECT_WEBHOOK_SECRET="${STRIPE_CONNECT_WEBHOOK_SECRET:-whsec_build_unused}" \
    RESEND_API_KEY="${RESEND_API_KEY:-re_build_unused}" \
    DEFAULT_FROM_EMAIL="${DEFAULT_FROM_EMAIL:-build@build.invalid}" \
        exec "$PYTHON" manage.py collectstatic --noinput
    ;;
web)
    # Sync workers: a request that hangs is killed at the timeout, and one slow request holds one worker,
    # never the others. The timeout sits well above the longest budget a web request may spend waiting on
    # Stripe, so gunicorn only ever kills a request that is truly stuck.
    worker_tmp=""
    [ -d /dev/shm ] && worker_tmp="--worker-tmp-dir /dev/shm"  # heartbeat files off the container's disk
    # shellcheck disable=SC2086
    exec "$PYTHON" -m gunicorn marketplace.wsgi:application \
        --bind "${GUNICORN_BIND:-0.0.0.0:8000}" \
        --workers "${GUNICORN_WORKERS:-4}" \
        --timeout "${GUNICORN_TIMEOUT_SECONDS:-30}" \
        --graceful-timeout "${GUNICORN_TIMEOUT_SECONDS:-30}" \
        --access-logfile - \
        $worker_tmp
    ;;
*)
    echo "usage: $0 collectstatic|web" >&2
    exit 2
    ;;
esac
