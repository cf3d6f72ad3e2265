set -u
mkdir -p .gpu/y && tar -C .gpu/y -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/y/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
printf '#!/bin/sh\nexec %s/.gpu/y/bench_new "$@" --no-overlap\n' "$PWD" > .gpu/y/bench_sync && chmod +x .gpu/y/bench_sync
start=$(date +%s); timeout 150 .gpu/y/specd_gpu_tests "Overlapped*,CUDA runner refuses a feed*" > $R/tests_overlap.txt 2>&1; echo "overlap tests rc $? in $(( $(date +%s) - start )) s"; tail -3 $R/tests_overlap.txt
OUT=$R CASES="1b 8b" ROUNDS=3 ROUNDS_8B=2 bash bench/ab_decode.sh old=.gpu/y/bench_old:SPECD_KV_EARLY=1 sync=.gpu/y/bench_sync new=.gpu/y/bench_new 2>&1 | tail -30
start=$(date +%s); timeout 250 .gpu/y/specd_gpu_tests "~[timing]" > $R/gpu_tests.txt 2>&1; echo "tests rc $? in $(( $(date +%s) - start )) s"; tail -3 $R/gpu_tests.txt
grep -B3 -A12 "FAILED" $R/gpu_tests.txt | head -60
cd $OUT && tar -czf r.tgz r && rm -rf r
