# Production-shaped image: web (gunicorn), worker and beat (celery), smtpd.
# Built by docker-compose.yml; see README "Docker compose".
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext: msgfmt for compilemessages. libpq5: psycopg's C fallback/libpq tools.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libpq5 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first (better layer cache), then the code.
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
RUN pip install --no-deps .

# Build-time only settings: collectstatic and compilemessages need no services.
RUN DJANGO_DEBUG=false \
    DJANGO_SECRET_KEY=build-only-not-a-secret \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    DATABASE_OWNER_URL=postgres://build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    sh -c 'python manage.py compilemessages --ignore=.venv -v 0 \
        && python manage.py collectstatic --noinput -v 0'

# Non-root runtime user; media/ and var/ are the writable places (volumes).
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home app \
    && mkdir -p /app/media /app/var \
    && chown app:app /app/media /app/var
USER app

ENV HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000 2525

CMD ["gunicorn", "helpdesk.wsgi:application", "-c", "gunicorn.conf.py"]
