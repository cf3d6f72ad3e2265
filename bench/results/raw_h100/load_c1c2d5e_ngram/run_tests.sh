set -u
tar -C .gpu -xJf .gpu/tests.tar.xz
export LD_LIBRARY_PATH=$PWD/.gpu/lib:/usr/local/cuda/lib64
ln -sfn $PWD /tmp/ci
R=$OUT/r; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > $R/gpu.txt
start=$(date +%s); timeout 200 .gpu/specd_gpu_tests "CUDA engine*,Overlapped*,CUDA runner refuses*,CUDA runner matches the CPU*" > $R/gpu_tests.txt 2>&1; echo "tests rc $? in $(( $(date +%s) - start )) s"; tail -2 $R/gpu_tests.txt
grep -B3 -A12 FAILED $R/gpu_tests.txt | head -30
cd $OUT && tar -czf r.tgz r && rm -rf r
