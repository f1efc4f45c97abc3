#!/usr/bin/env bash
# Project-local PostgreSQL and Redis for this checkout.
#
#   scripts/devservices.sh up      start (or reuse) the services, write .env
#   scripts/devservices.sh down    stop what this script started under .data/
#   scripts/devservices.sh status  say what is running
#   scripts/devservices.sh env     print `export KEY=VALUE` lines for the services
#
# DATABASE_URL (+ DATABASE_OWNER_URL) and REDIS_URL taken from the process
# environment win: that service is then used as given and nothing is started
# for it. Otherwise servers are started under .data/ on free 127.0.0.1 ports
# chosen on first use and kept in .data/*.port, so several checkouts on one
# machine never collide.
#
# Layout:
#   .data/pg/            PostgreSQL (owned by user postgres when run as root)
#     data/              the cluster (PGDATA)
#     sock/              its unix socket (superuser access, peer auth)
#     postgres.log
#   .data/pg.port        TCP port (127.0.0.1 only, scram-sha-256)
#   .data/pg.owner.password, .data/pg.app.password
#   .data/redis/         redis dump, pid file, log
#   .data/redis.port
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.data"
ENV_FILE="$ROOT/.env"

DB_NAME=helpdesk
DB_OWNER=helpdesk
DB_APP=helpdesk_app

PG_HOME="$DATA/pg"
pg_paths() { # .data/pg may be a link to a place the postgres user can reach
    local home="$PG_HOME"
    [[ -L "$home" ]] && home="$(readlink -f "$home")"
    PG_DATA="$home/data"
    PG_SOCK="$home/sock"
    PG_LOG="$home/postgres.log"
}
pg_paths
PG_PORT_FILE="$DATA/pg.port"
PG_OWNER_PW_FILE="$DATA/pg.owner.password"
PG_APP_PW_FILE="$DATA/pg.app.password"

REDIS_DIR="$DATA/redis"
REDIS_PORT_FILE="$DATA/redis.port"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

say() { printf 'devservices: %s\n' "$*"; }
die() {
    printf 'devservices: ERROR: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- helpers

random_hex() { # $1 = bytes
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

port_in_use() { # $1 = port; true when something accepts on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() { # a random free loopback port, not one another checkout has claimed
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 30000))
        port_in_use "$p" && continue
        claimed_by_other "$p" && continue
        echo "$p"
        return 0
    done
    die "could not find a free port on 127.0.0.1"
}

# A tiny machine-wide registry of ports handed out by this script (best effort,
# so a stopped checkout does not lose its port to another one).
REGISTRY="${TMPDIR:-/tmp}/helpdesk-devservices-ports"
claimed_by_other() { # $1 = port
    [[ -f "$REGISTRY" ]] || return 1
    local port path
    while read -r port path; do
        # claims of deleted checkouts do not count
        [[ "$port" == "$1" && "$path" != "$ROOT" && -d "$path/.data" ]] && return 0
    done <"$REGISTRY"
    return 1
}
claim_port() { # $1 = port
    if [[ -f "$REGISTRY" ]] && grep -qxF "$1 $ROOT" "$REGISTRY" 2>/dev/null; then
        return 0
    fi
    { printf '%s %s\n' "$1" "$ROOT" >>"$REGISTRY"; } 2>/dev/null || true
    chmod 666 "$REGISTRY" 2>/dev/null || true
}

read_or_create() { # $1 = file, $2 = command producing the initial value
    local file="$1"
    if [[ ! -s "$file" ]]; then
        (umask 077 && eval "$2" >"$file.tmp" && mv "$file.tmp" "$file")
    fi
    tr -d '\n' <"$file"
}

have_apt() { command -v apt-get >/dev/null 2>&1; }

apt_install() { # packages...
    if [[ $IS_ROOT != 1 ]]; then
        die "missing system packages: $*. Install them (e.g. sudo apt-get install -y $*) and re-run."
    fi
    have_apt || die "missing system packages: $* (no apt-get on this machine)."
    say "installing $* with apt-get (one time)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ------------------------------------------------------------- .env file

# env_set KEY VALUE force|default
#   force:   always write (service URLs this script manages)
#   default: write only when KEY is not in .env yet (never overwrite the user's)
env_set() {
    local key="$1" value="$2" mode="$3"
    touch "$ENV_FILE"
    if grep -qE "^[[:space:]]*(export[[:space:]]+)?${key}=" "$ENV_FILE"; then
        [[ "$mode" == force ]] || return 0
        local current
        current="$(env_get "$key")"
        [[ "$current" == "$value" ]] && return 0
        K="$key" V="$value" awk '
            BEGIN { k = ENVIRON["K"]; v = ENVIRON["V"]; re = "^[[:space:]]*(export[[:space:]]+)?" k "=" }
            $0 ~ re { print k "=" v; next }
            { print }
        ' "$ENV_FILE" >"$ENV_FILE.tmp"
        cat "$ENV_FILE.tmp" >"$ENV_FILE"
        rm -f "$ENV_FILE.tmp"
    else
        # make sure the file ends with a newline before appending
        if [[ -s "$ENV_FILE" && -n "$(tail -c1 "$ENV_FILE")" ]]; then
            echo >>"$ENV_FILE"
        fi
        printf '%s=%s\n' "$key" "$value" >>"$ENV_FILE"
    fi
    ENV_CHANGED+=("$key")
}

env_get() { # value of KEY in .env (last one wins), quotes stripped
    [[ -f "$ENV_FILE" ]] || return 0
    sed -nE "s/^[[:space:]]*(export[[:space:]]+)?$1=(.*)$/\2/p" "$ENV_FILE" | tail -n1 |
        sed -E "s/^[\"'](.*)[\"']$/\1/"
}

# ---------------------------------------------------------------- postgres

PG_BIN=""
find_pg_bin() {
    local d
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    if [[ -z "$PG_BIN" || ! -x "$PG_BIN/postgres" ]]; then
        apt_install postgresql postgresql-contrib
        PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
        [[ -n "$PG_BIN" && -x "$PG_BIN/postgres" ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"
    fi
    for d in initdb pg_ctl postgres; do
        [[ -x "$PG_BIN/$d" ]] || die "$PG_BIN/$d is missing"
    done
}

# Run a PostgreSQL server-side binary as the cluster's OS user.
pg_as() {
    if [[ $IS_ROOT == 1 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_superuser() {
    if [[ $IS_ROOT == 1 ]]; then echo postgres; else id -un; fi
}

pg_running() {
    [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_psql() { # psql as superuser over the private socket; extra args passed on
    local port
    port="$(cat "$PG_PORT_FILE")"
    PGOPTIONS="-c client_min_messages=warning" pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$port" -U "$(pg_superuser)" "$@"
}

# When run as root, the postgres user must be able to reach .data/pg. If the
# checkout sits somewhere it cannot traverse (e.g. under /root), keep the
# cluster in postgres's home and link it from .data/pg.
pg_prepare_home() {
    mkdir -p "$DATA"
    if [[ $IS_ROOT != 1 ]]; then
        mkdir -p "$PG_HOME" "$PG_SOCK"
        chmod 700 "$PG_HOME" "$PG_SOCK"
        return
    fi
    getent passwd postgres >/dev/null || die "no 'postgres' OS user (is the postgresql package installed?)"
    if [[ ! -e "$PG_HOME" ]]; then
        mkdir -p "$PG_HOME"
        chown postgres: "$PG_HOME"
        chmod 700 "$PG_HOME"
        if ! runuser -u postgres -- test -w "$PG_HOME"; then
            rmdir "$PG_HOME"
            local home
            home="$(getent passwd postgres | cut -d: -f6)/helpdesk-dev/$(printf '%s' "$ROOT" | md5sum | cut -c1-12)"
            mkdir -p "$home"
            chown postgres: "$home" "$(dirname "$home")"
            chmod 700 "$home"
            ln -s "$home" "$PG_HOME"
            say "postgres cannot reach $DATA; cluster kept in $home (linked from .data/pg)"
        fi
    fi
    pg_paths
    mkdir -p "$PG_SOCK"
    chown postgres: "$PG_HOME/" "$PG_SOCK"
    chmod 700 "$PG_SOCK"
}

pg_init() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    say "creating a PostgreSQL cluster in .data/pg/data ($("$PG_BIN/postgres" --version))"
    local pwfile
    pwfile="$(mktemp)"
    random_hex 24 >"$pwfile" # superuser password, never used (socket = peer auth)
    [[ $IS_ROOT == 1 ]] && chown postgres: "$pwfile"
    pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U "$(pg_superuser)" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 \
        >"$DATA/initdb.log" 2>&1 || {
        rm -f "$pwfile"
        cat "$DATA/initdb.log" >&2
        die "initdb failed"
    }
    rm -f "$pwfile"
    # Loopback TCP with passwords only; nothing else.
    cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# Written by scripts/devservices.sh
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  peer
host    all       all   127.0.0.1/32   scram-sha-256
EOF
    cat >>"$PG_DATA/postgresql.conf" <<'EOF'

# --- scripts/devservices.sh (port and socket are passed on the command line)
listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'
fsync = off                      # a throwaway dev/test cluster
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
log_min_error_statement = error
EOF
    [[ $IS_ROOT == 1 ]] && chown postgres: "$PG_DATA/pg_hba.conf" "$PG_DATA/postgresql.conf"
    return 0
}

pg_start() {
    local port
    if [[ -s "$PG_PORT_FILE" ]]; then
        port="$(cat "$PG_PORT_FILE")"
        if port_in_use "$port"; then
            local old="$port"
            port="$(free_port)"
            say "port $old is taken by something else; PostgreSQL moves to $port"
        fi
    else
        port="$(free_port)"
    fi
    echo "$port" >"$PG_PORT_FILE"
    claim_port "$port"
    [[ $IS_ROOT == 1 ]] && { touch "$PG_LOG" && chown postgres: "$PG_LOG"; }
    local as=()
    [[ $IS_ROOT == 1 ]] && as=(runuser -u postgres --)
    # setsid: the server must not die with the terminal's Ctrl-C (make run).
    if ! setsid -w "${as[@]+"${as[@]}"}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
        -o "-p $port -k $PG_SOCK -c listen_addresses=127.0.0.1" start \
        </dev/null >"$DATA/pg_ctl.log" 2>&1; then
        cat "$DATA/pg_ctl.log" >&2
        tail -n 20 "$PG_LOG" >&2 || true
        die "PostgreSQL did not start (see $PG_LOG)"
    fi
    STARTED+=("PostgreSQL on 127.0.0.1:$port")
}

pg_provision() {
    local owner_pw app_pw
    owner_pw="$(read_or_create "$PG_OWNER_PW_FILE" 'random_hex 16')"
    app_pw="$(read_or_create "$PG_APP_PW_FILE" 'random_hex 16')"
    # Roles: the owner migrates and creates test databases; the runtime role
    # owns nothing and cannot bypass row-level security.
    pg_psql -d postgres -v owner="$DB_OWNER" -v app="$DB_APP" -v db="$DB_NAME" \
        -v owner_pw="$owner_pw" -v app_pw="$app_pw" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I LOGIN', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"owner" WITH LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOREPLICATION PASSWORD :'owner_pw';
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'app_pw';
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template1', :'db', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"owner";
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
SQL
    # Extensions and default grants, in the database and in template1 so that
    # test databases (CREATE DATABASE test_helpdesk by the owner) get them too.
    local d
    for d in "$DB_NAME" template1; do
        pg_psql -d "$d" -v owner="$DB_OWNER" -v app="$DB_APP" <<'SQL' >/dev/null
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";
SQL
    done
}

pg_urls() { # sets PG_URL_APP / PG_URL_OWNER from the persisted state
    local port owner_pw app_pw
    port="$(cat "$PG_PORT_FILE" 2>/dev/null || true)"
    owner_pw="$(cat "$PG_OWNER_PW_FILE" 2>/dev/null || true)"
    app_pw="$(cat "$PG_APP_PW_FILE" 2>/dev/null || true)"
    PG_URL_APP="postgres://$DB_APP:$app_pw@127.0.0.1:$port/$DB_NAME"
    PG_URL_OWNER="postgres://$DB_OWNER:$owner_pw@127.0.0.1:$port/$DB_NAME"
}

pg_up() {
    find_pg_bin
    pg_prepare_home
    pg_init
    if pg_running; then
        REUSED+=("PostgreSQL on 127.0.0.1:$(cat "$PG_PORT_FILE")")
    else
        pg_start
    fi
    pg_provision
    pg_urls
}

pg_down() {
    [[ -f "$PG_DATA/PG_VERSION" ]] || return 0
    find_pg_bin
    if pg_running; then
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -m fast stop >/dev/null
        say "stopped PostgreSQL (127.0.0.1:$(cat "$PG_PORT_FILE" 2>/dev/null))"
    else
        say "PostgreSQL was not running"
    fi
}

# ------------------------------------------------------------------ redis

REDIS_SERVER=""
find_redis() {
    REDIS_SERVER="$(command -v redis-server || true)"
    [[ -z "$REDIS_SERVER" && -x /usr/bin/redis-server ]] && REDIS_SERVER=/usr/bin/redis-server
    if [[ -z "$REDIS_SERVER" ]]; then
        apt_install redis-server
        REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
        [[ -x "$REDIS_SERVER" ]] || die "redis-server not found after installing it"
    fi
}

redis_ping() { # $1 = port
    local reply
    if command -v redis-cli >/dev/null 2>&1; then
        reply="$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null || true)"
    else
        reply="$(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "PING\r\n" >&3; head -c 7 <&3' _ "$1" 2>/dev/null || true)"
    fi
    [[ "$reply" == *PONG* ]]
}

redis_running() {
    [[ -s "$REDIS_PID" && -s "$REDIS_PORT_FILE" ]] || return 1
    kill -0 "$(cat "$REDIS_PID")" 2>/dev/null || return 1
    redis_ping "$(cat "$REDIS_PORT_FILE")"
}

redis_up() {
    mkdir -p "$REDIS_DIR"
    chmod 700 "$REDIS_DIR"
    if redis_running; then
        REUSED+=("Redis on 127.0.0.1:$(cat "$REDIS_PORT_FILE")")
    else
        find_redis
        local port
        if [[ -s "$REDIS_PORT_FILE" ]]; then
            port="$(cat "$REDIS_PORT_FILE")"
            if port_in_use "$port"; then
                local old="$port"
                port="$(free_port)"
                say "port $old is taken by something else; Redis moves to $port"
            fi
        else
            port="$(free_port)"
        fi
        echo "$port" >"$REDIS_PORT_FILE"
        claim_port "$port"
        rm -f "$REDIS_PID"
        # --daemonize forks and detaches (setsid); data kept in .data/redis.
        "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --protected-mode yes \
            --dir "$REDIS_DIR" --dbfilename dump.rdb --save "60 1" --appendonly no \
            --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" \
            </dev/null >/dev/null 2>&1 || die "redis-server failed to start (see $REDIS_LOG)"
        local i
        for ((i = 0; i < 100; i++)); do
            redis_ping "$port" && break
            sleep 0.1
        done
        redis_ping "$port" || {
            tail -n 20 "$REDIS_LOG" >&2 || true
            die "Redis did not answer on 127.0.0.1:$port (see $REDIS_LOG)"
        }
        STARTED+=("Redis on 127.0.0.1:$port")
    fi
    REDIS_URL_LOCAL="redis://127.0.0.1:$(cat "$REDIS_PORT_FILE")/0"
}

redis_down() {
    if redis_running; then
        local pid port i
        pid="$(cat "$REDIS_PID")"
        port="$(cat "$REDIS_PORT_FILE")"
        kill -TERM "$pid" # redis saves the dataset on SIGTERM (save is configured)
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        say "stopped Redis (127.0.0.1:$port)"
    elif [[ -d "$REDIS_DIR" ]]; then
        say "Redis was not running"
    fi
}

# -------------------------------------------------------------- commands

# A URL in the environment that is this checkout's own local service (e.g. the
# user sourced .env into the shell) does not make that service external.
external_db() {
    [[ -n "${DATABASE_URL:-}" || -n "${DATABASE_OWNER_URL:-}" ]] || return 1
    if [[ -s "$PG_PORT_FILE" ]]; then
        pg_urls
        [[ "${DATABASE_URL:-$PG_URL_APP}" == "$PG_URL_APP" && "${DATABASE_OWNER_URL:-$PG_URL_OWNER}" == "$PG_URL_OWNER" ]] && return 1
    fi
    return 0
}
external_redis() {
    [[ -n "${REDIS_URL:-}" ]] || return 1
    [[ -s "$REDIS_PORT_FILE" && "$REDIS_URL" == "redis://127.0.0.1:$(cat "$REDIS_PORT_FILE")/0" ]] && return 1
    return 0
}

cmd_up() {
    STARTED=()
    REUSED=()
    ENV_CHANGED=()
    mkdir -p "$DATA"
    local db_url owner_url redis_url

    if external_db; then
        db_url="${DATABASE_URL:-$DATABASE_OWNER_URL}"
        owner_url="${DATABASE_OWNER_URL:-$DATABASE_URL}"
        [[ -n "${DATABASE_URL:-}" && -n "${DATABASE_OWNER_URL:-}" ]] ||
            say "WARNING: only one of DATABASE_URL / DATABASE_OWNER_URL is set; using it for both (RLS is not enforced for a table owner)"
        REUSED+=("PostgreSQL from DATABASE_URL in the environment")
    else
        pg_up
        db_url="$PG_URL_APP"
        owner_url="$PG_URL_OWNER"
    fi

    if external_redis; then
        redis_url="$REDIS_URL"
        REUSED+=("Redis from REDIS_URL in the environment")
    else
        redis_up
        redis_url="$REDIS_URL_LOCAL"
    fi

    local had_env=0
    [[ -f "$ENV_FILE" ]] && had_env=1
    (umask 077 && touch "$ENV_FILE")
    if [[ $had_env == 0 ]]; then
        printf '# Written by scripts/devservices.sh (make run / make services).\n# Service URLs below are managed by the script; other values are yours to edit.\n' >"$ENV_FILE"
    fi
    env_set DATABASE_URL "$db_url" force
    env_set DATABASE_OWNER_URL "$owner_url" force
    env_set REDIS_URL "$redis_url" force
    env_set DJANGO_DEBUG true default
    env_set DJANGO_SECRET_KEY "dev-$(random_hex 32)" default
    env_set HELPDESK_BASE_DOMAIN localhost default
    env_set EMAIL_URL consolemail:// default

    local s
    for s in "${STARTED[@]+"${STARTED[@]}"}"; do say "started $s"; done
    for s in "${REUSED[@]+"${REUSED[@]}"}"; do say "using $s"; done
    if ((${#ENV_CHANGED[@]})); then
        say ".env: set ${ENV_CHANGED[*]}"
    else
        say ".env: up to date"
    fi
}

cmd_down() {
    redis_down
    pg_down
}

cmd_status() {
    local rc=0
    if external_db; then
        say "PostgreSQL: external (DATABASE_URL from the environment)"
    elif [[ -f "$PG_DATA/PG_VERSION" ]]; then
        find_pg_bin
        if pg_running; then
            say "PostgreSQL: running on 127.0.0.1:$(cat "$PG_PORT_FILE") (data: .data/pg/data)"
        else
            say "PostgreSQL: stopped (port $(cat "$PG_PORT_FILE" 2>/dev/null || echo '?'))"
            rc=3
        fi
    else
        say "PostgreSQL: not created yet (make services)"
        rc=3
    fi
    if external_redis; then
        say "Redis: external (REDIS_URL from the environment)"
    elif redis_running; then
        say "Redis: running on 127.0.0.1:$(cat "$REDIS_PORT_FILE") (data: .data/redis)"
    else
        say "Redis: stopped"
        rc=3
    fi
    return $rc
}

cmd_env() {
    local db_url owner_url redis_url
    if external_db; then
        db_url="${DATABASE_URL:-$DATABASE_OWNER_URL}"
        owner_url="${DATABASE_OWNER_URL:-$DATABASE_URL}"
    else
        [[ -s "$PG_PORT_FILE" ]] || die "no local PostgreSQL yet: run '$0 up' first"
        pg_urls
        db_url="$PG_URL_APP"
        owner_url="$PG_URL_OWNER"
    fi
    if external_redis; then
        redis_url="$REDIS_URL"
    else
        [[ -s "$REDIS_PORT_FILE" ]] || die "no local Redis yet: run '$0 up' first"
        redis_url="redis://127.0.0.1:$(cat "$REDIS_PORT_FILE")/0"
    fi
    printf 'export DATABASE_URL=%q\n' "$db_url"
    printf 'export DATABASE_OWNER_URL=%q\n' "$owner_url"
    printf 'export REDIS_URL=%q\n' "$redis_url"
}

case "${1:-}" in
up) cmd_up ;;
down | stop) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
*)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
