set -u
tar -C .gpu -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
mkdir -p $OUT/r
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $OUT/r/gpu.txt
start=$(date +%s)
OUT=$OUT/r timeout 500 bash bench/run_gpu_benchmarks.sh throughput > $OUT/r/throughput.log 2>&1; echo "throughput rc $? in $(( $(date +%s) - start )) s"
python3 - <<'PY'
import json,glob,os
R=os.environ['OUT']+'/r'
for f in sorted(glob.glob(R+'/decode_specd*.json')):
    rows=json.load(open(f))
    print(os.path.basename(f), ' '.join('b%d/t%d:%.4f/%.3f'%(r['batch'],r['step_tokens'],r['ms_per_step_mean'],r['fraction_of_limit']) for r in rows))
PY
cd $OUT && tar -czf r.tgz r && rm -rf r
