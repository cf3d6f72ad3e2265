set -u
mkdir -p .gpu/y && tar -C .gpu/y -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/y/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
one() { tag=$1; b=$2; shift 2; .gpu/y/bench_$b "$@" --out $R/$tag.json > $R/$tag.log 2>&1 || echo "FAIL $tag"; }
for round in 1 2 3 4; do for b in old new; do one 1b_${b}_r$round $b --shape bench/shapes/llama-3.2-1b; done; done
SPECD_PHASES=$R/phases_1b.txt .gpu/y/bench_new --shape bench/shapes/llama-3.2-1b --out $R/phases_1b.json > $R/phases_1b.log 2>&1
for round in 1 2 3; do for b in old new; do one 8b_${b}_r$round $b --shape bench/shapes/llama-3.1-8b; done; done
for round in 1 2; do for b in old new; do one 8bver_${b}_r$round $b --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,5 --fixed-context; done; done
for round in 1 2; do for b in old new; do one 1b8_${b}_r$round $b --shape bench/shapes/llama-3.2-1b --batches 2,4,8; done; done
for shape in llama-3.2-1b llama-3.1-8b; do
  CUDA_INJECTION64_PATH=$PWD/.gpu/y/lib/libspecd_kernel_trace.so SPECD_KERNEL_TRACE=$R/trace_$shape.csv \
    .gpu/y/bench_new --shape bench/shapes/$shape --new-tokens 64 --out $R/traced_$shape.json > $R/traced_$shape.log 2>&1
  python3 bench/kernel_timeline.py $R/trace_$shape.csv > $R/timeline_$shape.txt 2>&1; rm -f $R/trace_$shape.csv
done
python3 - <<'PY'
import json,glob,os,collections
R=os.environ['OUT']+'/r'
d=collections.defaultdict(list)
for f in sorted(glob.glob(R+'/*.json')):
    tag=os.path.basename(f)[:-5]
    if tag.startswith('traced') or tag.startswith('phases'): continue
    key=tag.rsplit('_r',1)[0]
    for r in json.load(open(f)): d['%s_b%d_t%d'%(key,r['batch'],r['step_tokens'])].append('%.4f/%.1f'%(r['ms_per_step_mean'],1e3*r['host_gap_ms_mean']))
for k in sorted(d): print(k, ' '.join(d[k]))
rows=[list(map(float,l.split())) for l in open(R+'/phases_1b.txt')][10:]
import statistics
names=['gpu:start>uploaded','gpu:uploaded>graphed','gpu:graphed>ended','h:markstart','h:pack','h:upload','h:graphlaunch','h:sample+sync','h:record','h:markend']
print('phases (median us):', ' '.join('%s=%.2f'%(n,statistics.median(c)) for n,c in zip(names,zip(*rows))))
PY
for s in llama-3.2-1b llama-3.1-8b; do sed -n 1,12p $R/timeline_$s.txt; done
timeout 250 .gpu/y/specd_gpu_tests > $R/gpu_tests.txt 2>&1; echo "tests rc $?"; tail -3 $R/gpu_tests.txt
cd $OUT && tar -czf r.tgz r && rm -rf r
