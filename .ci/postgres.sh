#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster on 127.0.0.1 for the tests.
#   .ci/postgres.sh start DIR PORT   -> prints the admin URL
#   .ci/postgres.sh stop DIR
# Installs Debian's postgresql if no server binaries are present. initdb refuses to run as
# root, so the cluster belongs to the postgres user.
set -euo pipefail
action=${1:?start|stop}
dir=${2:?data directory}
port=${3:-54329}

pgbin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
    echo "installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$found"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/bash -c "$1"
  else
    bash -c "$1"
  fi
}

case "$action" in
  start)
    bin=$(pgbin)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_postgres "'$bin/initdb' -D '$dir' -A trust -U postgres -E UTF8 --locale=C.UTF-8" >&2
    fi
    as_postgres "'$bin/pg_ctl' -D '$dir' -l '$dir/server.log' -w -t 60 start \
      -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off -c max_connections=200'" >&2
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    as_postgres "'$bin/pg_ctl' -D '$dir' -m fast -w stop" >&2 || true
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
