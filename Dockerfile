# One image for web, worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files exactly as production serves them (hashed names, manifest, compressed copies). The same script
# starts the web process below and is what the suite's production smoke test runs.
RUN sh marketplace/image.sh collectstatic

RUN useradd --create-home --uid 10001 app && mkdir -p /app/media && chown app /app/media
USER app

# gunicorn: 4 sync workers, 30 s worker timeout (well above the ~8 s a web request may wait on Stripe).
# Override with GUNICORN_WORKERS / GUNICORN_TIMEOUT_SECONDS; docs/operations.md explains the numbers.
ENV GUNICORN_WORKERS=4 \
    GUNICORN_TIMEOUT_SECONDS=30
EXPOSE 8000
CMD ["sh", "marketplace/image.sh", "web"]
