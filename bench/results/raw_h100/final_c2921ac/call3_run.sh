set -u
[ -x .gpu/specd_bench_model_decode ] || tar -C .gpu -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
for part in throughput "decode" timeline; do
  start=$(date +%s); OUT=$R DECODE_SHAPES=llama-3.1-8b timeout 400 bash bench/run_gpu_benchmarks.sh $part > $R/$part.log 2>&1; echo "$part rc $? in $(( $(date +%s) - start )) s"
done
for f in $R/decode_specd_*.json; do python3 -c "
import json,sys,os
for r in json.load(open('$f')): print(os.path.basename('$f'), r['batch'], r['step_tokens'], '%.4f'%r['ms_per_step_mean'], 'gap %.2f us'%(1000*r['host_gap_ms_mean']), '%.3f'%r['fraction_of_limit'], r.get('overlapped'))"; done
head -12 $R/timeline_llama-3.2-1b.txt
rm -f $R/kernel_trace_*.csv
cd $OUT && tar -czf r.tgz r && rm -rf r
