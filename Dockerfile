FROM python:3.11-slim
WORKDIR /srv/case-audit
COPY . .
RUN pip install --no-cache-dir -e . && useradd --system --home /srv/case-audit audit \
    && mkdir -p var && chown audit var
USER audit
EXPOSE 8000
CMD ["sh", "-c", "audit-tools db upgrade && audit-tools serve"]
