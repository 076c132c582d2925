#!/usr/bin/env bash
# ctest fixture for the e2e label: `fixture.sh up DIR` starts the real
# cluster (stopping a leftover one in DIR first) and gives remedyd the
# README's RBAC; `fixture.sh down DIR` stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../../scripts/cluster
case "$1" in
up)
	if [ -f "$2/pids" ]; then "$cluster" down "$2"; fi
	rm -rf "$2"
	"$cluster" up "$2"
	REMEDY_E2E_DIR=$2 python3 "$here/setup_rbac.py"
	;;
down)
	"$cluster" down "$2"
	;;
*)	echo "usage: fixture.sh up|down DIR" >&2; exit 2 ;;
esac
