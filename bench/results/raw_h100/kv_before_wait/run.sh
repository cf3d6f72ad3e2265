set -u
mkdir -p .gpu/y && tar -C .gpu/y -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/y/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
one() { tag=$1; b=$2; k=$3; shift 3; SPECD_KV_EARLY=$k .gpu/y/bench_$b "$@" --out $R/$tag.json > $R/$tag.log 2>&1 || echo "FAIL $tag"; }
for round in 1 2 3; do one 1b_base_r$round base 0 --shape bench/shapes/llama-3.2-1b; for k in 0 1 2; do one 1b_kv${k}_r$round new $k --shape bench/shapes/llama-3.2-1b; done; done
for round in 1 2; do one 8b_base_r$round base 0 --shape bench/shapes/llama-3.1-8b; one 8b_kv1_r$round new 1 --shape bench/shapes/llama-3.1-8b; done
one 8bver_base_r1 base 0 --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,5 --fixed-context
one 8bver_kv1_r1 new 1 --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,5 --fixed-context
one 1b8_base_r1 base 0 --shape bench/shapes/llama-3.2-1b --batches 2,4,8
one 1b8_kv1_r1 new 1 --shape bench/shapes/llama-3.2-1b --batches 2,4,8
python3 - <<'PY'
import json,glob,os,collections
R=os.environ['OUT']+'/r'
d=collections.defaultdict(list)
for f in sorted(glob.glob(R+'/*.json')):
    tag=os.path.basename(f)[:-5]
    if tag.startswith('traced'): continue
    key=tag.rsplit('_r',1)[0]
    for r in json.load(open(f)): d['%s_b%d_t%d'%(key,r['batch'],r['step_tokens'])].append('%.4f'%r['ms_per_step_mean'])
for k in sorted(d): print(k, ' '.join(d[k]))
PY
SPECD_KV_EARLY=1 CUDA_INJECTION64_PATH=$PWD/.gpu/y/lib/libspecd_kernel_trace.so SPECD_KERNEL_TRACE=$R/trace.csv .gpu/y/bench_new --shape bench/shapes/llama-3.2-1b --new-tokens 64 --out $R/traced_kv1.json > $R/traced_kv1.log 2>&1
python3 bench/kernel_timeline.py $R/trace.csv > $R/timeline_kv1.txt 2>&1; rm -f $R/trace.csv; sed -n 1,9p $R/timeline_kv1.txt
start=$(date +%s); SPECD_KV_EARLY=1 timeout 200 .gpu/y/specd_gpu_tests "~[sampling]" > $R/gpu_tests_kv1.txt 2>&1; echo "tests rc $? in $(( $(date +%s) - start )) s"; tail -2 $R/gpu_tests_kv1.txt
cd $OUT && tar -czf r.tgz r && rm -rf r
