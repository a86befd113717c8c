FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY adapters ./adapters
COPY bus ./bus
RUN pip install --no-cache-dir . && useradd --system --no-create-home onestop

USER onestop
CMD ["onestop", "up"]
