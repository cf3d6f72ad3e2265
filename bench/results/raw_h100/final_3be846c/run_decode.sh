set -u
tar -C .gpu -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r/ab; mkdir -p $R
ls -la /root/out 2>/dev/null | head -5 > $R/previous_out.txt
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
one() { tag=$1; b=$2; shift 2; $b "$@" --out $R/$tag.json > $R/$tag.log 2>&1 || echo "FAIL $tag"; }
for round in 1 2 3; do one 8b_base_r$round .gpu/bench_base --shape bench/shapes/llama-3.1-8b; one 8b_new_r$round .gpu/specd_bench_model_decode --shape bench/shapes/llama-3.1-8b; done
for round in 1 2; do one 1b_base_r$round .gpu/bench_base --shape bench/shapes/llama-3.2-1b; one 1b_new_r$round .gpu/specd_bench_model_decode --shape bench/shapes/llama-3.2-1b; done
python3 - <<'PY'
import json,glob,os,collections
R=os.environ['OUT']+'/r/ab'
d=collections.defaultdict(list)
for f in sorted(glob.glob(R+'/*.json')):
    key=os.path.basename(f)[:-5].rsplit('_r',1)[0]
    for r in json.load(open(f)): d['%s_b%d'%(key,r['batch'])].append('%.4f/gpu %.4f/gap %.1f'%(r['ms_per_step_mean'],r['step_gpu_ms_mean'],1e3*r['host_gap_ms_mean']))
for k in sorted(d): print(k, ' '.join(d[k]))
PY
mkdir -p $OUT/r/final
OUT=$OUT/r/final timeout 200 bash bench/run_gpu_benchmarks.sh decode > $OUT/r/final/decode.log 2>&1; echo "decode rc $?"
python3 -c "
import json,glob
for f in sorted(glob.glob('$OUT/r/final/decode_specd*.json')):
  r=json.load(open(f))[0]; print(f.split('/')[-1], '%.4f %.3f gap %.1f'%(r['ms_per_step_mean'], r['fraction_of_limit'], 1e3*r['host_gap_ms_mean']))
"
grep -h ms_per_token $OUT/r/final/decode_torch*.json | cut -c1-300
start=$(date +%s); timeout 330 .gpu/specd_gpu_tests -d yes > $R/gpu_tests.txt 2>&1; echo "tests rc $? in $(( $(date +%s) - start )) s"; tail -2 $R/gpu_tests.txt
cd $OUT && tar -czf r.tgz r && rm -rf r
