set -u
tar -C .gpu -xJf .gpu/spec.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
start=$(date +%s); OUT=$R timeout 480 bash bench/run_gpu_benchmarks.sh spec > $R/spec.log 2>&1; echo "spec rc $? in $(( $(date +%s) - start )) s"
python3 - <<PY
import json
rows=json.load(open("$R/spec_decode_cuda.json"))["rows"]
for r in rows: print(r["method"], "b", r["batch"], "k", r["k"], "%.0f tok/s" % r["tokens_per_second"], "acc %.3f" % r["acceptance_rate"])
PY
cd $OUT && tar -czf r.tgz r && rm -rf r
