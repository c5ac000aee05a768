"""Create the configured PostgreSQL database if it does not exist yet (first run on a fresh machine)."""

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database if it is missing. Safe to run every time."

    def handle(self, *args, **options) -> None:
        db = settings.DATABASES["default"]
        params = {
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
        }
        name = db["NAME"]
        try:
            # Connect to the server's maintenance database: the one we want may not exist yet.
            with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **params) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
                if exists:
                    self.stdout.write(f"Database {name!r} exists.")
                    return
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.OperationalError as error:
            raise CommandError(
                f"Cannot reach PostgreSQL at {params['host']}:{params['port']} as {params['user']}: {error}\n"
                "Start it (see README: `docker compose up -d db redis`) or set DATABASE_URL."
            ) from error
        self.stdout.write(self.style.SUCCESS(f"Created database {name!r}."))
