#!/bin/sh
# Run once by the postgres image, as the database's owner, when its volume is first
# made (docker-compose.yml mounts this folder at /docker-entrypoint-initdb.d): the
# login role the service connects as. The keying migration (5d2f0b8c3e21) grants it
# what the service needs, and on the audit log only SELECT and INSERT; it owns nothing.
# An older volume skips this: create the role by hand once (README).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$AUDIT_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE case_audit_app LOGIN PASSWORD :'password';
SQL
