#!/usr/bin/env bash
# The whole test suite, on a fresh machine: sets up what the tests need
# (PostgreSQL on 127.0.0.1:5432, Node.js and bench/peer's npm packages,
# Chromium and axe-core, the Python tools),
# then runs the workspace's tests (the test kit, the bench's smoke run, the
# server). Arguments go to cargo test, e.g. `./test.sh b2b::`.
# Where the services are already there, plain `cargo test` tests the server
# crate alone.
set -euo pipefail
cd "$(dirname "$0")"

# Installing and starting services needs root; sudo when not root.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive

# PostgreSQL: the suite runs every server test on sled and on PostgreSQL.
# This machine kind runs it on 127.0.0.1:5432 (trust auth, database test);
# start it if it is down, install and configure it if it is missing.
export B2B_IDP_TEST_PG="${B2B_IDP_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "== installing PostgreSQL"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq postgresql postgresql-client
fi
if ! pg_up; then
  echo "== starting PostgreSQL"
  for cluster in /etc/postgresql/*/main; do
    version=$(basename "$(dirname "$cluster")")
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
if ! psql "$B2B_IDP_TEST_PG" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  # A stock install wants a password over TCP: give the test role one.
  echo "== configuring a test role and database"
  as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" 
  as_root su postgres -c "createdb test" 2>/dev/null || true
  export B2B_IDP_TEST_PG="postgres://postgres:postgres@127.0.0.1:5432/test"
  psql "$B2B_IDP_TEST_PG" -qtAc 'SELECT 1' >/dev/null
fi
echo "== PostgreSQL ready: $(psql "$B2B_IDP_TEST_PG" -qtAc 'SHOW server_version')"

# Node.js: the external home IdP in the B2B tests is panva's oidc-provider
# from the npm registry (bench/peer, locked by package-lock.json).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "== installing Node.js"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq nodejs npm
fi
echo "== Node.js $(node --version): npm ci in bench/peer"
npm ci --prefix bench/peer --no-audit --no-fund --loglevel=error

# The pages are tested in a real browser (tests/it/browser.rs): Debian's
# Chromium driven over WebDriver by chromedriver, each page checked with
# axe-core from the npm registry (tests/browser, locked by package-lock.json).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "== installing Chromium and ChromeDriver (Debian)"
  as_root apt-get update -qq
  as_root apt-get install -y -qq chromium chromium-driver
fi
echo "== $(chromium --version 2>/dev/null | head -1); npm ci in tests/browser"
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

# OIDC client libraries from the npm registry that sign in as real apps do
# (panva's openid-client for PAR: tests/it/par.rs; locked by package-lock.json).
echo "== npm ci in tests/node"
npm ci --prefix tests/node --no-audit --no-fund --loglevel=error

# The README's walk-through runs as written (tests/it/readme.rs): curl, jq, openssl.
if ! command -v curl >/dev/null || ! command -v jq >/dev/null || ! command -v openssl >/dev/null; then
  echo "== installing curl, jq and openssl"
  as_root apt-get update -qq
  as_root apt-get install -y -qq curl jq openssl
fi

# Tools and client libraries from PyPI, pinned in tests/python/requirements.txt,
# in a virtualenv under target/: openapi-spec-validator validates the admin
# API's OpenAPI document, schemathesis fuzzes the API from it,
# openapi-python-client generates a client that docs/examples/admin_client.py
# uses (tests/it/openapi.rs); MSAL and authlib sign in as real clients do
# (tests/it/clients.rs). Reinstalled when the requirements change.
export B2B_IDP_TEST_PYTHON_BIN="${B2B_IDP_TEST_PYTHON_BIN:-$PWD/target/pyenv/bin}"
pyenv="$(dirname "$B2B_IDP_TEST_PYTHON_BIN")"
if ! cmp -s tests/python/requirements.txt "$pyenv/installed-requirements.txt"; then
  echo "== installing the Python tools and clients (PyPI, tests/python/requirements.txt)"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3-venv
  fi
  python3 -m venv "$pyenv"
  "$B2B_IDP_TEST_PYTHON_BIN/pip" install -q --disable-pip-version-check -r tests/python/requirements.txt
  cp tests/python/requirements.txt "$pyenv/installed-requirements.txt"
fi

# Everything is built first: the bench's smoke run starts the server binary.
# The server's own suite runs last, so its summary closes the output.
cargo test --workspace --locked --no-run
cargo test --locked -p b2b-idp-testkit -p b2b-idp-bench "$@"
cargo test --locked -p b2b-idp "$@"
