#!/usr/bin/env bash
# test/cuda_resources.sh -- what ptxas reports for every kernel of the GPU
# build, compiled for Hopper (sm_90): registers per thread, shared memory,
# stack frame and spills. It costs no GPU time (`make cuda-resources`). A
# kernel that spills, or needs more registers than 65536 / its block size,
# is slow or does not launch at all.
set -eu
cd "$(dirname "$0")/.."
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
"$NVCC" -O3 -std=c++17 -I. -gencode arch=compute_90,code=sm_90 -Xptxas -v -c -x cu 04_train_ar.cu -o /dev/null 2>&1 |
awk '/Compiling entry function/ { name = $0; sub(/.*function .?_Z[0-9]+/, "", name); sub(/[^a-z_].*/, "", name) }
     /bytes stack frame/ { frame = $1; spills = $5 + $9 }
     /Used [0-9]+ registers/ { regs = $0; sub(/.*Used /, "", regs); sub(/ registers.*/, "", regs)
                               smem = "0"; if (match($0, /[0-9]+ bytes smem/)) { smem = substr($0, RSTART, RLENGTH); sub(/ bytes smem/, "", smem) }
                               printf "%-34s %4s registers  %5s bytes shared  %3s bytes stack  %3s bytes spilled\n", name, regs, smem, frame, spills }'
