#!/usr/bin/env bash
# test_parity.sh -- runs the CPU/GPU parity test (test/test_parity.cu) when the
# GPU build exists. It prints SKIP lines, counted as skipped and never as
# passed, where nvcc was not found (no build/cuda/) or the machine has no GPU.
cd "$(dirname "$0")/.."
if [ ! -x build/cuda/test_parity ]; then
    echo "SKIP: CPU/GPU parity: build/cuda/test_parity not built (nvcc not found by make)"
    exit 0
fi
exec build/cuda/test_parity
