set -u
tar -C .gpu -xJf .gpu/decode.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,serial --format=csv > $R/gpu.txt
start=$(date +%s); OUT=$R DECODE_SHAPES=llama-3.2-1b timeout 200 bash bench/run_gpu_benchmarks.sh decode > $R/decode.log 2>&1; echo "decode rc $? in $(( $(date +%s) - start )) s"
for f in $R/decode_specd_*.json; do python3 -c "
import json,os
for r in json.load(open('$f')): print(os.path.basename('$f'), '%.4f'%r['ms_per_step_mean'], 'gap %.2f us'%(1000*r['host_gap_ms_mean']), '%.3f'%r['fraction_of_limit'], 'bw %.2f'%r['copy_bandwidth_tb_per_s'])"; done
cd $OUT && tar -czf r.tgz r && rm -rf r
