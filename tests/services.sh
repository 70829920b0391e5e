#!/usr/bin/env bash
# What the scale-out tests (tests/e2e/cluster.test.mjs) need on this
# machine: PostgreSQL on 127.0.0.1:5432 (user postgres, no password),
# Redis on 127.0.0.1:6379, and nginx. Installs each from Debian's packages
# when missing and starts PostgreSQL and Redis when they do not answer;
# does nothing when all are there. Run by `make test`.
set -euo pipefail

missing=()
command -v psql >/dev/null || missing+=(postgresql-client)
ls -d /etc/postgresql/*/main >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  # Installed without starting them (no systemd here): started below.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# PostgreSQL on 127.0.0.1:5432, which the cluster tests reach as the
# `postgres` user without a password; started when it does not answer.
if ! pg_isready -q -h 127.0.0.1; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
fi
if ! psql -X -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
  # A fresh Debian install asks for a password over TCP: trust the
  # postgres user from this machine only (a throwaway CI machine).
  echo "letting postgres connect from 127.0.0.1 without a password"
  hba="$(ls -d /etc/postgresql/*/main | head -n1)/pg_hba.conf"
  sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main reload
fi
psql -X -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null

# Redis on 127.0.0.1:6379, keeping nothing on disk; started when it does not
# answer. (The Redis-outage test runs a private redis-server of its own.)
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null

