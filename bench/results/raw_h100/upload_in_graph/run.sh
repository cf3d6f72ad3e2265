set -u
mkdir -p .gpu/y && tar -C .gpu/y -xJf .gpu/all.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/y/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
one() { tag=$1; b=$2; u=$3; shift 3; SPECD_UPLOAD_IN_GRAPH=$u .gpu/y/bench_$b "$@" --out $R/$tag.json > $R/$tag.log 2>&1 || echo "FAIL $tag"; }
for round in 1 2 3 4; do one 1b_base_r$round base 0 --shape bench/shapes/llama-3.2-1b; one 1b_u1_r$round new 1 --shape bench/shapes/llama-3.2-1b; done
for round in 1 2; do one 1b_u0_r$round new 0 --shape bench/shapes/llama-3.2-1b; done
for u in 0 1; do SPECD_UPLOAD_IN_GRAPH=$u SPECD_PHASES=$R/phases_u$u.txt .gpu/y/bench_new --shape bench/shapes/llama-3.2-1b --out $R/phases_u$u.json > $R/phases_u$u.log 2>&1; done
for round in 1 2; do one 8b_base_r$round base 0 --shape bench/shapes/llama-3.1-8b; one 8b_u1_r$round new 1 --shape bench/shapes/llama-3.1-8b; done
one 8bver_base_r1 base 0 --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,5 --fixed-context
one 8bver_u1_r1 new 1 --shape bench/shapes/llama-3.1-8b --new-tokens 64 --step-tokens 1,5 --fixed-context
one 1b8_base_r1 base 0 --shape bench/shapes/llama-3.2-1b --batches 2,4,8
one 1b8_u1_r1 new 1 --shape bench/shapes/llama-3.2-1b --batches 2,4,8
python3 - <<'PY'
import json,glob,os,collections,statistics
R=os.environ['OUT']+'/r'
d=collections.defaultdict(list)
for f in sorted(glob.glob(R+'/*.json')):
    tag=os.path.basename(f)[:-5]
    if tag.startswith('phases'): continue
    key=tag.rsplit('_r',1)[0]
    for r in json.load(open(f)): d['%s_b%d_t%d'%(key,r['batch'],r['step_tokens'])].append('%.4f/%.1f'%(r['ms_per_step_mean'],1e3*r['host_gap_ms_mean']))
for k in sorted(d): print(k, ' '.join(d[k]))
names=['g:begun>pregraph','g:pregraph>graph_first','g:graph_first>last','g:graph_last>graphed','g:graphed>ended','h:markstart','h:pack','h:upload','h:graphlaunch','h:sample+sync','h:record','h:markend']
for u in (0,1):
    rows=[list(map(float,l.split())) for l in open(R+'/phases_u%d.txt'%u)][10:]
    print('phases u%d (median us):'%u, ' '.join('%s=%.2f'%(n,statistics.median(c)) for n,c in zip(names,zip(*rows))))
PY
SPECD_UPLOAD_IN_GRAPH=1 timeout 250 .gpu/y/specd_gpu_tests > $R/gpu_tests_u1.txt 2>&1; echo "tests rc $?"; tail -3 $R/gpu_tests_u1.txt
cd $OUT && tar -czf r.tgz r && rm -rf r
