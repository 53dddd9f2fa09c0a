# The front end the service serves itself (GOV.UK Frontend's CSS, JavaScript, fonts and
# images; Swagger UI for /docs): installed from package-lock.json, without the test-only
# packages (axe-core), and copied into the image below.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
# PDF briefings: WeasyPrint's libraries and a font with Arial's metrics to make them, and
# poppler-utils (pdftotext, pdfinfo) for the identification check, which reads each PDF's
# text and metadata before it is published (the same packages as .ci/system-deps).
# postgresql-client: pg_dump and pg_restore for audit-tools backup and restore (15, as
# the compose file's server).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2 poppler-utils \
        postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/case-audit
COPY . .
COPY --from=assets /build/node_modules ./node_modules
RUN pip install --no-cache-dir -e . && useradd --system --home /srv/case-audit audit \
    && mkdir -p var && chown audit var
USER audit
EXPOSE 8000
CMD ["sh", "-c", "audit-tools db upgrade && audit-tools serve"]
