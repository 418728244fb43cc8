#!/usr/bin/env bash
# Installs what is missing and runs every test: unit tests, then integration
# tests against a real Kafka broker and PostgreSQL. With a Docker engine the
# integration tests use testcontainers; without one they start a local test
# stack (its own folder and ports, so a running system is left alone) and
# stop it at the end. Extra arguments go to pytest.
source "$(dirname "$0")/bootstrap.sh"

say "running the tests"
set +e
python -m pytest "$@"
status=$?
set -e
# pytest's 5 means "no test ran": that is a failure here, not a pass.
exit "$status"
