#!/usr/bin/env bash
# Regenerates riskscore/v1 (protobuf + gRPC code and mypy stubs) from protos/.
# The generated package is committed so that installing needs no code generator;
# tests/service/test_generated_code.py fails when it is out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
out=${1:-.}
"$PY" -m grpc_tools.protoc -Iprotos \
  --python_out="$out" --grpc_python_out="$out" --mypy_out="$out" --mypy_grpc_out="$out" \
  protos/riskscore/v1/*.proto
touch "$out/riskscore/v1/__init__.py"
