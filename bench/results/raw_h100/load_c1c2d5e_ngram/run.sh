set -u
tar -C .gpu -xJf .gpu/load.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
cp .gpu/rates_preset.json .gpu/rates.txt $R/   # the rates of load_c2921ac (its saturation C without speculation)
start=$(date +%s); OUT=$R MODES=on timeout 330 bash bench/run_gpu_load.sh > $R/load.log 2>&1; echo "load rc $? in $(( $(date +%s) - start )) s"
tail -8 $R/load.log
for f in $R/load_on_rates.json $R/load_on_saturation.json; do python3 -c "
import json
d=json.load(open('$f'))
def strip(x):
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if k != 'per_request'}
    if isinstance(x, list): return [strip(v) for v in x]
    return x
json.dump(strip(d), open('$f', 'w'), indent=1)"; done
for m in on; do (head -3 $R/server_$m.log; echo '...'; tail -5 $R/server_$m.log) > $R/server_${m}_head_tail.log; rm -f $R/server_$m.log; done
cd $OUT && tar -czf r.tgz r && rm -rf r
