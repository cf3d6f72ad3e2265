// libspecd_kernel_trace.so: a CUPTI injection library that records when every kernel ran, kernels
// inside CUDA graphs included, so that a replayed decode step can be read as a timeline (where its
// time goes between kernels, which leave-one-out timings only estimate). Any of our programs:
//
//   CUDA_INJECTION64_PATH=$PWD/libspecd_kernel_trace.so SPECD_KERNEL_TRACE=trace.csv
//   specd_bench_model_decode ...     (both variables in the program's environment)
//
// The CUDA driver loads the library at cuInit and calls InitializeInjection; at exit it writes
// one CSV row per kernel: start_ns,end_ns,correlation,graph,node,grid,block,name (start and end
// on the GPU's clock; a graph's kernels share the correlation id of the graph launch).
// bench/kernel_timeline.py reads the file.
#include <cupti.h>
#include <cxxabi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr size_t kBufferBytes = size_t{8} << 20;
constexpr size_t kBufferAlignment = 8;  // CUPTI's activity records need it

struct KernelRecord {
  uint64_t start_ns;
  uint64_t end_ns;
  uint32_t correlation;
  uint32_t graph;
  uint64_t node;
  int32_t grid;   // CTAs (x * y * z)
  int32_t block;  // threads a CTA
  std::string name;
};

std::mutex records_mutex;
std::vector<KernelRecord>& Records() {
  static auto* records = new std::vector<KernelRecord>;  // never destroyed: the exit handler reads it
  return *records;
}

// "specd::kernels::(anonymous namespace)::SkinnyGemmKernel<1, 2, 1>(...)" -> "SkinnyGemmKernel<1, 2, 1>":
// the function and its template arguments, without namespaces or parameters.
std::string ShortName(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                        &std::free);
  std::string name = status == 0 ? demangled.get() : mangled;
  int depth = 0;  // template / parameter nesting
  size_t begin = 0, end = name.size();
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '<' || c == '(') {
      if (c == '(' && depth == 0 && name.compare(i, 12, "(anonymous n") != 0) {
        end = i;
        break;
      }
      ++depth;
    } else if (c == '>' || c == ')') {
      --depth;
    } else if (c == ':' && depth == 0 && i + 1 < name.size() && name[i + 1] == ':') {
      begin = i + 2;
    }
  }
  return name.substr(begin, end - begin);
}

void CUPTIAPI RequestBuffer(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(kBufferAlignment, kBufferBytes));
  *size = *buffer != nullptr ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI CompleteBuffer(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  std::lock_guard<std::mutex> lock(records_mutex);
  CUpti_Activity* record = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid_bytes, &record) == CUPTI_SUCCESS) {
    if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) continue;
    const auto* kernel = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
    Records().push_back({kernel->start, kernel->end, kernel->correlationId, kernel->graphId, kernel->graphNodeId,
                         kernel->gridX * kernel->gridY * kernel->gridZ, kernel->blockX * kernel->blockY * kernel->blockZ,
                         ShortName(kernel->name)});
  }
  std::free(buffer);
}

void WriteTrace() {
  cuptiActivityFlushAll(1);
  const char* path = std::getenv("SPECD_KERNEL_TRACE");
  FILE* file = std::fopen(path, "w");
  if (file == nullptr) {
    std::fprintf(stderr, "kernel trace: cannot write SPECD_KERNEL_TRACE=%s\n", path);
    return;
  }
  std::lock_guard<std::mutex> lock(records_mutex);
  std::fprintf(file, "start_ns,end_ns,correlation,graph,node,grid,block,name\n");
  for (const KernelRecord& r : Records()) {
    std::fprintf(file, "%llu,%llu,%u,%u,%llu,%d,%d,\"%s\"\n", static_cast<unsigned long long>(r.start_ns),
                 static_cast<unsigned long long>(r.end_ns), r.correlation, r.graph,
                 static_cast<unsigned long long>(r.node), r.grid, r.block, r.name.c_str());
  }
  std::fclose(file);
  std::fprintf(stderr, "kernel trace: %zu kernels written to %s\n", Records().size(), path);
}

bool Check(CUptiResult result, const char* what) {
  if (result == CUPTI_SUCCESS) return true;
  const char* message = nullptr;
  cuptiGetResultString(result, &message);
  std::fprintf(stderr, "kernel trace: %s failed: %s\n", what, message != nullptr ? message : "unknown error");
  return false;
}

}  // namespace

// Called by the CUDA driver (CUDA_INJECTION64_PATH). Returns nonzero on success.
extern "C" int InitializeInjection() {
  if (std::getenv("SPECD_KERNEL_TRACE") == nullptr) {
    std::fprintf(stderr, "kernel trace: set SPECD_KERNEL_TRACE to the CSV file to write\n");
    return 0;
  }
  if (!Check(cuptiActivityRegisterCallbacks(RequestBuffer, CompleteBuffer), "cuptiActivityRegisterCallbacks") ||
      !Check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "cuptiActivityEnable")) {
    return 0;
  }
  std::atexit(WriteTrace);
  return 1;
}
