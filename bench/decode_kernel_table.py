"""The last decode step of an ncu CSV (bench/profile_decode_kernels.sh): its kernels in launch
order with their GPU times, then the sums per kernel name. A step runs from the kernel after the
second-to-last sampling kernel to the last one (SamplingKernel, or GreedyFinishKernel: the
greedy fast path's last kernel, kernels/greedy_sampling.cu).

usage: python3 bench/decode_kernel_table.py NCU.csv
"""
import collections
import csv
import io
import re
import sys

STEP_END_KERNELS = ("SamplingKernel", "GreedyFinishKernel")
UNIT_TO_US = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}


def kernel_rows(path):
    lines = open(path).read().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith('"ID"'))
    for row in csv.DictReader(io.StringIO("\n".join(lines[header:]))):
        name = re.sub(r"\(.*", "", row["Kernel Name"]).replace("void ", "").replace("specd::<unnamed>::", "")
        yield name, float(row["Metric Value"].replace(",", "")) * UNIT_TO_US[row["Metric Unit"]]


def last_step(rows):
    sampling = [i for i, (name, _) in enumerate(rows) if name.startswith(STEP_END_KERNELS)]
    if len(sampling) < 2:
        sys.exit("decode_kernel_table.py: fewer than two sampling kernels: no whole decode step")
    return rows[sampling[-2] + 1:sampling[-1] + 1]


def main():
    step = last_step(list(kernel_rows(sys.argv[1])))
    print(f"{sys.argv[1]}: the last decode step, {len(step)} kernels, {sum(t for _, t in step):.1f} us (serialized)")
    for name, us in step:
        print(f"  {us:8.2f} us  {name}")
    totals, counts = collections.defaultdict(float), collections.Counter()
    for name, us in step:
        totals[name] += us
        counts[name] += 1
    print("per kernel:")
    for name, us in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {us:8.1f} us  x{counts[name]:<3d} {us / counts[name]:7.2f} us each  {name}")


if __name__ == "__main__":
    main()
