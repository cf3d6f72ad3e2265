set -u
tar -C .gpu -xJf .gpu/load.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
start=$(date +%s); OUT=$R timeout 540 bash bench/run_gpu_load.sh > $R/load.log 2>&1; echo "load rc $? in $(( $(date +%s) - start )) s"
tail -16 $R/load.log
grep -h "error\|ERROR\|critical" $R/*.log | grep -v "0 of" | head -5
cd $OUT && tar -czf r.tgz r && rm -rf r
