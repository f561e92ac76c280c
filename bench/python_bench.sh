#!/bin/sh
# bench/python_bench.sh BUILD SHARED — the Python package against the CLI (python_bench.py);
# expects the package built into BUILD/python (make test-python does it).
set -eu
build=$1; shared=$2
PYTHONPATH=$build/python ${PYTHON:-/usr/bin/python3} bench/python_bench.py "$build/tongyuan" "$shared"
