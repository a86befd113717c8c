FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY adapters ./adapters
COPY bus ./bus
RUN pip install --no-cache-dir . && useradd --system --no-create-home onestop \
    && mkdir -p /var/lib/onestop /etc/onestop-nats \
    && chown onestop /var/lib/onestop /etc/onestop-nats

# The views (SQLite) live here unless VIEWS_DSN names a PostgreSQL database.
ENV ONESTOP_DATA_DIR=/var/lib/onestop
VOLUME /var/lib/onestop
USER onestop
CMD ["onestop", "up"]
