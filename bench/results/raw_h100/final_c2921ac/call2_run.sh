set -u
tar -C .gpu -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
start=$(date +%s); timeout 270 .gpu/specd_gpu_tests "~[timing]" > $R/gpu_tests.txt 2>&1; echo "tests rc $? in $(( $(date +%s) - start )) s"; tail -3 $R/gpu_tests.txt
grep -B3 -A12 "FAILED" $R/gpu_tests.txt | head -40
start=$(date +%s); OUT=$R DECODE_SHAPES=llama-3.2-1b timeout 300 bash bench/run_gpu_benchmarks.sh decode > $R/decode.log 2>&1; echo "decode rc $? in $(( $(date +%s) - start )) s"; tail -3 $R/decode.log
for f in $R/decode_specd_*.json; do python3 -c "
import json,sys,os
for r in json.load(open('$f')): print(os.path.basename('$f'), '%.4f'%r['ms_per_step_mean'], 'gap %.2f us'%(1000*r['host_gap_ms_mean']), r.get('overlapped'))"; done
cd $OUT && tar -czf r.tgz r && rm -rf r
