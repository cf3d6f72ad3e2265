// Plain-sampling fast path (plain_sampling.h). A row is cut into spans of kSpanChunks of the draw's
// id chunks (sampling_state.cuh, ChunkSize: 512 ids up to vocab 524288), one block a span and one
// warp a chunk, so the chunk masses are LaunchSampling's (ChunkSums) and its draw code runs on them
// unchanged:
//
//   row r:     | span 0: chunks 0..7 | span 1: chunks 8..15 | ... | span s-1 (partial) |
//   stats:       block r*s + 0         r*s + 1                    -> RowPart [rows, s]: sanitized
//                                                                    max (lowest id), min, count
//   masses:      block r*s + 0         r*s + 1                    -> per chunk: exact mass, terms
//                (each reduces the row's RowParts first)             of the log-normalizer
//   cut:         block r*s + 0         r*s + 1                    (top-p and top-k rows; launched
//                                                                    with a top_p or top_k array)
//   draw:      block r (1024 threads): the chunk masses into LaunchSampling's shared state,
//              DrawFromChunks, then the rank of the token (one sweep) and the logprob
//
// A top-p row follows LaunchSampling's TopPFastPath, its passes spread over the spans: the masses
// pass sums an fp32 histogram of the mass over logit bins (into the row's workspace: atomics, so
// its low bits vary, which only moves the band below); the cut pass picks the bins [lo, hi] around
// p * (the histogram's total) and in one exact pass sums S and the mass A of the bins before the
// band (per chunk) and gathers the band's tokens; the draw block sorts those, finds the cut
// exactly (CutAmongCandidates) and draws. When the band holds more than kGatherCapacity tokens or
// misses the cut, the draw block runs LaunchSampling's Select and ChunkSums itself (one block,
// exact, slow). A top-k row counts its tokens over the same bins in the masses pass (exact
// integers); the cut pass finds the bin holding the k-th token, sums the bins before it and
// gathers that bin's tokens; the draw block sorts them, and the (k - tokens before)-th is the k-th
// largest: the floor (Select's count mode when the bin is too big). A row with both counts as a
// top-k row, but the cut pass gathers the tokens of the bins before the k-th token's too: sorted,
// they hold the floor, every token at or above it (top-p's candidates, whose mass is S) and so
// top-p's cut (Select's count and mass modes when they are too many). Greedy rows skip the weights
// and the draw: their token is the argmax.
#include "kernels/plain_sampling.h"

#include <type_traits>

#include "kernels/pdl.cuh"
#include "kernels/sampling_select.cuh"
#include "kernels/sampling_top_p.cuh"

namespace specd::kernels {
namespace {

constexpr int kSpanChunks = 8;                         // draw chunks a stats / masses / cut block covers
constexpr int kSpanThreads = kSpanChunks * kWarpSize;  // a warp a chunk
constexpr int kSpanWarps = kSpanChunks;
constexpr int kBinsPerThread = kNumBins / kSpanThreads;

// A span's stats, or the whole row's.
struct RowPart {
  ArgMax best;       // sanitized max and its lowest id; value -inf: nothing finite
  float min_finite;  // inf: nothing finite
  int finite;        // tokens with a finite (sanitized) logit
};

// The workspace, each array [rows, n]: per chunk the draw's masses (the kept tokens' chunk sums),
// top-p's S and A shares and the log-normalizer terms; per row top-p's candidate keys, its mass
// histogram and candidate count; per span the RowParts. 8-byte members first.
struct Workspace {
  Mass* masses;
  Mass* totals;
  Mass* aheads;
  double* log_normalizer;
  u64* keys;              // [kGatherCapacity]
  float* bin_mass;        // [kNumBins]: top-p's histogram, or
  unsigned* bin_count;    // the same place: top-k's
  int* num_keys;          // [1]
  RowPart* parts;
};

__host__ __device__ int NumSpans(int vocab) { return (NumChunks(vocab) + kSpanChunks - 1) / kSpanChunks; }

// Bytes of the workspace, and (layout) where each array starts.
__host__ __device__ size_t Carve(int num_rows, int vocab, Workspace* layout, char* base) {
  const size_t rows = static_cast<size_t>(num_rows), chunks = NumChunks(vocab);
  size_t offset = 0;
  const auto take = [&](auto** array, size_t count) {
    if (layout != nullptr) *array = reinterpret_cast<std::remove_reference_t<decltype(**array)>*>(base + offset);
    offset += rows * count * sizeof(**array);
  };
  Workspace unused;
  Workspace& w = layout != nullptr ? *layout : unused;
  take(&w.masses, chunks);
  take(&w.totals, chunks);
  take(&w.aheads, chunks);
  take(&w.log_normalizer, chunks);
  take(&w.keys, kGatherCapacity);
  take(&w.bin_mass, kNumBins);
  if (layout != nullptr) w.bin_count = reinterpret_cast<unsigned*>(w.bin_mass);
  take(&w.num_keys, 1);
  take(&w.parts, NumSpans(vocab));
  return offset;
}

__device__ Workspace Layout(const SamplingKernelParams& p) {
  Workspace w;
  Carve(p.num_rows, p.vocab, &w, static_cast<char*>(p.workspace));
  return w;
}

__device__ RowPart Better(RowPart a, RowPart b) {
  return {BetterArgMax(a.best, b.best), fminf(a.min_finite, b.min_finite), a.finite + b.finite};
}

__device__ RowPart ShflXor(RowPart v, int o) {
  return {ShflXor(v.best, o), ShflXor(v.min_finite, o), ShflXor(v.finite, o)};
}

constexpr RowPart kNoPart{{-kInf, INT_MAX}, kInf, 0};

// The row's stats from its spans' parts (every lane of the warp gets them; the result does not
// depend on the order: max with lowest id, min, integer count).
__device__ RowPart ReduceRowParts(const Workspace& w, int row, int spans) {
  const RowPart* parts = w.parts + static_cast<size_t>(row) * spans;  // [spans]
  RowPart whole = kNoPart;
  for (int s = Lane(); s < spans; s += kWarpSize) whole = Better(whole, parts[s]);
  for (int o = kWarpSize / 2; o > 0; o /= 2) whole = Better(whole, ShflXor(whole, o));
  return whole;
}

// What a row's stats say, as RowStats leaves them for an unprocessed row: nothing finite makes
// every logit 0 (a uniform draw, token 0 when greedy).
struct RowFacts {
  bool zero_row;
  float l_max;
  float l_min_finite;
  int argmax;
  int finite;  // the tokens with a finite logit (all of them in a zero row)
};

__device__ RowFacts Facts(const RowPart& whole, int vocab) {
  if (whole.finite == 0) return {true, 0.0f, 0.0f, 0, vocab};
  return {false, whole.best.value, whole.min_finite, whole.best.index, whole.finite};
}

// A row's draw parameters (top_p 1 and top_k 0: a plain draw).
struct DrawParams {
  float temperature;
  float top_p;
  int top_k;
  double min_p;
};

__device__ DrawParams RowDrawParams(const SamplingKernelParams& p, int row) {
  return {p.temperature[row], p.top_p != nullptr ? p.top_p[row] : 1.0f, p.top_k != nullptr ? p.top_k[row] : 0,
          p.min_p != nullptr ? p.min_p[row] : 0.0};
}

// What a draw row cuts before drawing: top-k when 0 < k < vocab and k <= the row's finite tokens
// (SamplingKernel's condition), top-p when below 1, either or both. Greedy rows cut nothing.
enum class Cut { kNone, kTopP, kTopK, kTopKTopP };

__device__ Cut RowCut(const DrawParams& d, int finite, int vocab) {
  if (d.temperature == 0.0f) return Cut::kNone;
  const bool top_k = d.top_k > 0 && d.top_k < vocab && d.top_k <= finite;
  if (d.top_p < 1.0f) return top_k ? Cut::kTopKTopP : Cut::kTopP;
  return top_k ? Cut::kTopK : Cut::kNone;
}

// Whether the row's histogram counts tokens (top-k's k-th token) rather than summing mass.
__device__ bool CountsTokens(Cut cut) { return cut == Cut::kTopK || cut == Cut::kTopKTopP; }

// Before the row's stats are known: whether RowCut may cut.
__device__ bool MayCut(const DrawParams& d, int vocab) {
  return d.temperature != 0.0f && (d.top_p < 1.0f || (d.top_k > 0 && d.top_k < vocab));
}

__device__ Weigher RowWeigher(const DrawParams& d, float l_max, const double* table) {
  const double temperature = d.temperature;
  return Weigher{l_max, temperature, __drcp_rn(temperature), table,
                 __double2float_rd(l_max + kSkipExponent * temperature)};
}

// The lowest logit top-p's bins span (SamplingKernel's map_lo without top-k).
__device__ double MapLo(const RowFacts& facts, const Weigher& weigh) {
  return fmax(static_cast<double>(facts.l_min_finite), weigh.l_max - kMassRangeInTemperatures * weigh.temperature);
}

// Top-p's bins, as TopPFastPath maps them: linear in the logit over [map_lo, l_max].
__device__ FastBins TopPBins(const RowFacts& facts, const Weigher& weigh) {
  const float span = static_cast<float>(weigh.l_max - MapLo(facts, weigh));
  float scale = span > 0.0f ? static_cast<float>(kNumBins) / span : 0.0f;
  if (!(scale < INFINITY)) scale = 0.0f;  // everything in bin 0: too many candidates, Select
  return FastBins{static_cast<float>(weigh.l_max), scale};
}

__device__ void LoadExpTable(double* table /* [2 * kExpTableSize] */) {
  for (int i = threadIdx.x; i < kExpTableSize; i += blockDim.x) {
    table[i] = kExp2TableHi[i];
    table[kExpTableSize + i] = kExp2TableLo[i];
  }
}

__device__ size_t At(int row, int count, int i) { return static_cast<size_t>(row) * count + i; }

// Block b = row * spans + span: the span's RowPart. Span 0 also clears the row's cut histogram
// and candidate count.
__global__ void __launch_bounds__(kSpanThreads) PlainStatsKernel(SamplingKernelParams p, int spans) {
  __shared__ RowPart reduce[kSpanWarps];
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x) / spans;
  const int span = static_cast<int>(blockIdx.x) % spans;
  const int chunk = span * kSpanChunks + Warp();
  const RowView raw{p.logits + static_cast<size_t>(row) * p.vocab, false};  // [vocab]
  WaitForPrerequisites();
  const Workspace w = Layout(p);
  if (span == 0) {
    for (int b = threadIdx.x; b < kNumBins; b += kSpanThreads) w.bin_mass[At(row, kNumBins, b)] = 0.0f;
    if (threadIdx.x == 0) w.num_keys[row] = 0;
  }
  RowPart part = kNoPart;
  if (chunk < NumChunks(p.vocab)) {
    ForEachInChunk(raw, chunk, ChunkSize(p.vocab), p.vocab, [&](int t, float l) {
      if (l > part.best.value) part.best = {l, t};  // ids come in increasing order: the lowest wins
      if (l > -kInf) {
        ++part.finite;
        part.min_finite = fminf(part.min_finite, l);
      }
    });
  }
  part = BlockReduce<kSpanWarps>(part, [](RowPart a, RowPart b) { return Better(a, b); }, reduce);
  if (threadIdx.x == 0) w.parts[blockIdx.x] = part;
}

// The warp's sums over chunk `chunk` into `at` (lane 0).
__device__ void StoreChunkMass(Mass* at, u64 hi, u64 lo) {
  hi = WarpSum(hi);
  lo = WarpSum(lo);
  if (Lane() == 0) *at = {hi, lo};
}

// Block b = row * spans + span, warp = one chunk: the chunk's log-normalizer terms (x_max = l_max:
// the row is unprocessed) and, for draws, its exact mass with min-p (a plain draw: the draw's chunk
// sums), the fp32 mass histogram (top-p) or the token count histogram (top-k), over the same bins.
// kCuts: some row may cut (the launch has a top_p or top_k array); without it the kernel skips
// their work (H100, 132 rows at temperature 1: 152 us for the three kernels against 186 with it and
// the cut kernel).
template <bool kCuts>
__global__ void __launch_bounds__(kSpanThreads) PlainMassKernel(SamplingKernelParams p, int spans) {
  __shared__ double table[2 * kExpTableSize];
  __shared__ union {
    float mass[kNumBins];
    unsigned count[kNumBins];
  } bins;  // used with kCuts only
  LoadExpTable(table);
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x) / spans;
  const int chunk = static_cast<int>(blockIdx.x) % spans * kSpanChunks + Warp();
  const DrawParams d = RowDrawParams(p, row);  // the step's upload: no need to wait for it
  if (kCuts && MayCut(d, p.vocab)) {
    for (int b = threadIdx.x; b < kNumBins; b += kSpanThreads) bins.count[b] = 0;
  }
  __syncthreads();
  WaitForPrerequisites();
  const Workspace w = Layout(p);
  const RowFacts facts = Facts(ReduceRowParts(w, row, spans), p.vocab);
  const Cut cut = kCuts ? RowCut(d, facts.finite, p.vocab) : Cut::kNone;
  const RowView view{p.logits + static_cast<size_t>(row) * p.vocab, facts.zero_row};
  const double x_max = facts.l_max;
  const int chunks = NumChunks(p.vocab);
  const Weigher weigh = RowWeigher(d, facts.l_max, table);
  const FastBins bin_of = TopPBins(facts, weigh);
  const float l_max = facts.l_max, inv_temperature = static_cast<float>(weigh.inv_temperature);
  const FinalWeights plain{weigh, -kInf, false, 0.0f, 0, d.min_p};
  u64 hi = 0, lo = 0;
  double log_normalizer = 0.0;
  if (chunk < chunks) {
    ForEachInChunk(view, chunk, ChunkSize(p.vocab), p.vocab, [&](int t, float l) {
      log_normalizer += LogNormalizerTerm(l, x_max);
      if (d.temperature == 0.0f) return;
      if (cut == Cut::kNone) {
        const Mass m = plain(t, l);
        hi += m.hi;
        lo += m.lo;
        return;
      }
      if (!(l > -kInf)) return;
      if (CountsTokens(cut)) {
        atomicAdd(&bins.count[bin_of(l)], 1u);
        return;
      }
      const float approx = (l - l_max) * inv_temperature;  // TopPFastPath's first pass
      if (approx < kApproxNoMass) return;
      atomicAdd(&bins.mass[bin_of(l)], __expf(approx));
    });
    if (cut == Cut::kNone) StoreChunkMass(&w.masses[At(row, chunks, chunk)], hi, lo);
    log_normalizer = WarpSum(log_normalizer);
    if (Lane() == 0) w.log_normalizer[At(row, chunks, chunk)] = log_normalizer;
  }
  if (cut == Cut::kNone) return;  // block-uniform
  __syncthreads();
  for (int b = threadIdx.x; b < kNumBins; b += kSpanThreads) {
    if (bins.count[b] == 0) continue;  // no tokens, or no mass (0.0f)
    if (CountsTokens(cut)) {
      atomicAdd(&w.bin_count[At(row, kNumBins, b)], bins.count[b]);
    } else {
      atomicAdd(&w.bin_mass[At(row, kNumBins, b)], bins.mass[b]);
    }
  }
}

// Top-p's band of candidate bins [lo, hi] around p * (the histogram's total), TopPFastPath's
// step 1 on the row's histogram; the thread takes bins kBinsPerThread * t, +1, ... (every thread).
struct Band {
  int lo, hi;
};

__device__ Band CandidateBand(const Workspace& w, int row, float top_p, double* scratch /* [kSpanWarps] */) {
  double mass[kBinsPerThread];
  double own = 0.0;
  for (int i = 0; i < kBinsPerThread; ++i) {
    mass[i] = w.bin_mass[At(row, kNumBins, kBinsPerThread * threadIdx.x + i)];
    own += mass[i];
  }
  double total;
  double through = BlockExclusiveScan<kSpanWarps>(own, &total, scratch);
  const double limit = static_cast<double>(top_p) * total, margin = kApproxMargin * total;
  int below_lo = 0, below_hi = 0;
  for (int i = 0; i < kBinsPerThread; ++i) {
    through += mass[i];
    below_lo += through < limit - margin ? 1 : 0;
    below_hi += through < limit + margin ? 1 : 0;
  }
  const auto add = [](int a, int b) { return a + b; };
  const int lo = BlockReduce<kSpanWarps>(below_lo, add, scratch);
  return {lo, min(kNumBins - 1, BlockReduce<kSpanWarps>(below_hi, add, scratch))};
}

// One more candidate for the row's keys (those past kGatherCapacity are counted, not kept).
__device__ void Gather(const Workspace& w, int row, u64 key) {
  const int slot = atomicAdd(&w.num_keys[row], 1);
  if (slot < kGatherCapacity) w.keys[At(row, kGatherCapacity, slot)] = key;
}

// The chunk's tokens of a top-p row: TopPFastPath's exact pass. S's share (every token), A's
// share (bins before the band), the draw's chunk sum of them (min-p survivors), the band's tokens
// gathered. Summing S in the masses pass instead computed most exact weights twice: H100, top-p
// 0.9, the sampling kernels took 67 / 199 / 355 us at 1 / 64 / 132 rows against 62 / 178 / 321.
__device__ void TopPExactPass(const Workspace& w, int row, int chunk, const RowView& view, const Weigher& weigh,
                              const FastBins& bin_of, Band band, double min_p, int vocab) {
  TopPExactSums sums;
  ForEachInChunk(view, chunk, ChunkSize(vocab), vocab, [&](int t, float l) {
    sums.Add(t, l, weigh, bin_of, band.lo, band.hi, min_p, [&](u64 key) { Gather(w, row, key); });
  });
  const size_t at = At(row, NumChunks(vocab), chunk);
  StoreChunkMass(&w.totals[at], sums.s_hi, sums.s_lo);
  StoreChunkMass(&w.aheads[at], sums.a_hi, sums.a_lo);
  StoreChunkMass(&w.masses[at], sums.c_hi, sums.c_lo);
}

// The bin holding the k-th token of a top-k row (by the count histogram; every thread of a block of
// kBlockWarps warps), and the tokens in the bins before it.
struct KthBin {
  int bin;
  int ahead;
};

template <int kBlockWarps>
__device__ KthBin FindKthBin(const Workspace& w, int row, int k, int* scratch /* [kBlockWarps] */) {
  constexpr int kPerThread = kNumBins / (kBlockWarps * kWarpSize);
  int count[kPerThread];  // at most kMaxSamplingVocab
  int own = 0;
  for (int i = 0; i < kPerThread; ++i) {
    count[i] = static_cast<int>(w.bin_count[At(row, kNumBins, kPerThread * threadIdx.x + i)]);
    own += count[i];
  }
  int total;
  int through = BlockExclusiveScan<kBlockWarps>(own, &total, scratch);
  int before = 0, ahead = 0;  // bins ending before the k-th token, and their tokens
  for (int i = 0; i < kPerThread; ++i) {
    through += count[i];
    if (through < k) {
      ++before;
      ahead += count[i];
    }
  }
  const auto add = [](int a, int b) { return a + b; };
  const int bin = BlockReduce<kBlockWarps>(before, add, scratch);
  return {bin, BlockReduce<kBlockWarps>(ahead, add, scratch)};
}

// The chunk's tokens of a top-k row: the draw's chunk sum of the bins before the k-th token's
// (all kept: min-p survivors), that bin's tokens gathered. With top-p (gather_ahead) the bins
// before it are gathered too and nothing is summed: top-p's cut, found among them, decides.
__device__ void TopKExactPass(const Workspace& w, int row, int chunk, const RowView& view, const Weigher& weigh,
                              const FastBins& bin_of, int kth_bin, bool gather_ahead, double min_p, int vocab) {
  const FinalWeights kept{weigh, -kInf, false, 0.0f, 0, min_p};
  u64 c_hi = 0, c_lo = 0;
  ForEachInChunk(view, chunk, ChunkSize(vocab), vocab, [&](int t, float l) {
    if (!(l > -kInf)) return;
    const int b = bin_of(l);
    if (b > kth_bin) return;
    if (b == kth_bin || gather_ahead) {
      Gather(w, row, CandidateKey(t, l));
      return;
    }
    const Mass m = kept(t, l);
    c_hi += m.hi;
    c_lo += m.lo;
  });
  StoreChunkMass(&w.masses[At(row, NumChunks(vocab), chunk)], c_hi, c_lo);
}

// Cutting rows, block b = row * spans + span, warp = one chunk: the exact pass of the row's cut.
__global__ void __launch_bounds__(kSpanThreads) PlainCutKernel(SamplingKernelParams p, int spans) {
  __shared__ double table[2 * kExpTableSize];
  __shared__ double scratch[kSpanWarps];
  LoadExpTable(table);
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x) / spans;
  const int chunk = static_cast<int>(blockIdx.x) % spans * kSpanChunks + Warp();
  const DrawParams d = RowDrawParams(p, row);
  __syncthreads();
  // Before any exit: the draw kernel's wait covers the masses pass only through this grid's.
  WaitForPrerequisites();
  if (!MayCut(d, p.vocab)) return;  // block-uniform, as the rest
  const Workspace w = Layout(p);
  const RowFacts facts = Facts(ReduceRowParts(w, row, spans), p.vocab);
  const Cut cut = RowCut(d, facts.finite, p.vocab);
  if (cut == Cut::kNone) return;
  const Weigher weigh = RowWeigher(d, facts.l_max, table);
  const FastBins bin_of = TopPBins(facts, weigh);
  const RowView view{p.logits + static_cast<size_t>(row) * p.vocab, facts.zero_row};
  if (cut == Cut::kTopP) {
    const Band band = CandidateBand(w, row, d.top_p, scratch);
    if (chunk < NumChunks(p.vocab)) TopPExactPass(w, row, chunk, view, weigh, bin_of, band, d.min_p, p.vocab);
  } else {
    const KthBin kth = FindKthBin<kSpanWarps>(w, row, d.top_k, reinterpret_cast<int*>(scratch));
    if (chunk < NumChunks(p.vocab)) {
      TopKExactPass(w, row, chunk, view, weigh, bin_of, kth.bin, cut == Cut::kTopKTopP, d.min_p, p.vocab);
    }
  }
}

// The sum of a per-chunk array of the row (every thread; thread c < chunks holds chunk c).
__device__ U128 ChunkArrayTotal(Shared& sh, const Mass* row_chunks, int chunks) {
  const U128 mine = threadIdx.x < chunks ? ToU128(row_chunks[threadIdx.x]) : 0;
  return BlockReduce(mine, [](U128 a, U128 b) { return a + b; }, sh.reduce);
}

// The row's chunk masses into sh.bins.chunk (every thread; syncs).
__device__ void LoadChunkMasses(Shared& sh, const Workspace& w, int row, int chunks) {
  const size_t first_chunk = At(row, chunks, 0);
  if (threadIdx.x < chunks) sh.bins.chunk.hi[threadIdx.x] = w.masses[first_chunk + threadIdx.x].hi;
  if (threadIdx.x < chunks) sh.bins.chunk.lo[threadIdx.x] = w.masses[first_chunk + threadIdx.x].lo;
  __syncthreads();
}

// The row's gathered candidates into sh.keys, and the chunk masses; false (nothing loaded) when
// more than kGatherCapacity were gathered. Every thread; block-uniform.
__device__ bool LoadCandidates(Shared& sh, const Workspace& w, int row, int chunks, int* num_keys) {
  *num_keys = w.num_keys[row];
  if (*num_keys > kGatherCapacity) return false;
  for (int i = threadIdx.x; i < *num_keys; i += kThreads) sh.keys[i] = w.keys[At(row, kGatherCapacity, i)];
  LoadChunkMasses(sh, w, row, chunks);
  return true;
}

// Select's safe answer should its search fail (it cannot).
__device__ void PrepareSelect(Shared& sh, const RowFacts& facts) {
  if (threadIdx.x != 0) return;
  sh.row.l_max = facts.l_max;
  sh.row.l_argmax = facts.argmax;
}

// A top-p row's cut (sh.cut_l, sh.cut_id) and the draw's final chunk sums (sh.bins.chunk), from the
// gathered candidates; else by LaunchSampling's one-block Select and ChunkSums. Returns the total.
__device__ U128 TopPChunkSums(Shared& sh, const Workspace& w, int row, const RowFacts& facts, const RowView& view,
                              const Weigher& weigh, const DrawParams& d, int vocab) {
  const int chunks = NumChunks(vocab);
  const size_t first_chunk = At(row, chunks, 0);
  const U128 limit = CeilMul(d.top_p, ChunkArrayTotal(sh, w.totals + first_chunk, chunks));
  const U128 ahead = ChunkArrayTotal(sh, w.aheads + first_chunk, chunks);
  int num_keys;
  if (LoadCandidates(sh, w, row, chunks, &num_keys) &&
      CutAmongCandidates(sh, view, weigh, ahead, limit, num_keys, d.min_p, ChunkSize(vocab))) {
    return ChunkTotal(sh, vocab);
  }
  PrepareSelect(sh, facts);
  Select(sh, view, SelectInput{true, true, -kInf, d.top_p, 0, MapLo(facts, weigh), weigh}, vocab);
  return ChunkSums(sh, view, vocab, FinalWeights{weigh, -kInf, true, sh.cut_l, sh.cut_id, d.min_p});
}

// A top-k row's floor (the k-th largest logit, ties counted: *floor_l) and the draw's final chunk
// sums, from the gathered tokens of the k-th token's bin: sorted, the (k - ahead)-th is the k-th;
// its bin's tokens at or above it join the chunk sums. Else by Select (count mode) and ChunkSums.
// Returns the total.
__device__ U128 TopKChunkSums(Shared& sh, const Workspace& w, int row, const RowFacts& facts, const RowView& view,
                              const Weigher& weigh, const DrawParams& d, int vocab, float* floor_l) {
  const int chunks = NumChunks(vocab);
  const KthBin kth = FindKthBin<kWarps>(w, row, d.top_k, reinterpret_cast<int*>(sh.reduce));
  const int index = d.top_k - kth.ahead - 1;  // the k-th token among its bin's, sorted
  int num_keys;
  if (LoadCandidates(sh, w, row, chunks, &num_keys) && index >= 0 && index < num_keys) {
    BitonicSort(sh.keys, num_keys);  // syncs
    *floor_l = view.Logit(static_cast<int>(sh.keys[index] & 0xffffffffu));
    const FinalWeights weights{weigh, *floor_l, false, 0.0f, 0, d.min_p};
    for (int i = threadIdx.x; i < num_keys; i += kThreads) {
      const int t = static_cast<int>(sh.keys[i] & 0xffffffffu);
      const Mass m = weights(t, view.Logit(t));
      if (IsZero(m)) continue;
      atomicAdd(&sh.bins.chunk.hi[t / ChunkSize(vocab)], m.hi);
      atomicAdd(&sh.bins.chunk.lo[t / ChunkSize(vocab)], m.lo);
    }
    __syncthreads();
    return ChunkTotal(sh, vocab);
  }
  PrepareSelect(sh, facts);
  Select(sh, view, SelectInput{false, false, -kInf, 1.0f, d.top_k, facts.l_min_finite, weigh}, vocab);
  *floor_l = sh.cut_l;
  return ChunkSums(sh, view, vocab, FinalWeights{weigh, *floor_l, false, 0.0f, 0, d.min_p});
}

// A row with top-k and top-p: LaunchSampling's top-k floor (*floor_l), then top-p's cut among the
// tokens at or above it (sh.cut_l, sh.cut_id), and the draw's final chunk sums. The gathered tokens
// are every token of the k-th token's bin and the bins before it, so sorted, the k-th is the floor
// and those at or above it, a prefix, are top-p's candidates: S is their mass. Else by Select
// (count mode, then mass mode above the floor) and ChunkSums. Returns the total.
__device__ U128 TopKTopPChunkSums(Shared& sh, const Workspace& w, int row, const RowFacts& facts, const RowView& view,
                                  const Weigher& weigh, const DrawParams& d, int vocab, float* floor_l) {
  const int chunks = NumChunks(vocab);
  int num_keys;
  if (LoadCandidates(sh, w, row, chunks, &num_keys) && d.top_k <= num_keys) {
    BitonicSort(sh.keys, num_keys);  // syncs
    *floor_l = view.Logit(static_cast<int>(sh.keys[d.top_k - 1] & 0xffffffffu));
    int candidates = 0;
    U128 mass = 0;
    for (int i = threadIdx.x; i < num_keys; i += kThreads) {
      const float l = view.Logit(static_cast<int>(sh.keys[i] & 0xffffffffu));
      if (l < *floor_l) continue;
      ++candidates;
      mass += ToU128(ToMass(weigh(l)));
    }
    candidates = BlockReduce(candidates, [](int a, int b) { return a + b; }, sh.reduce);
    mass = BlockReduce(mass, [](U128 a, U128 b) { return a + b; }, sh.reduce);
    // The chunk sums LoadCandidates loaded are 0 (the cut pass summed nothing for this row).
    if (CutAmongCandidates(sh, view, weigh, 0, CeilMul(d.top_p, mass), candidates, d.min_p, ChunkSize(vocab))) {
      return ChunkTotal(sh, vocab);
    }
  }
  PrepareSelect(sh, facts);
  Select(sh, view, SelectInput{false, false, -kInf, 1.0f, d.top_k, facts.l_min_finite, weigh}, vocab);
  *floor_l = sh.cut_l;
  PrepareSelect(sh, facts);
  const double map_lo = fmax(MapLo(facts, weigh), static_cast<double>(*floor_l));
  Select(sh, view, SelectInput{true, true, *floor_l, d.top_p, 0, map_lo, weigh}, vocab);
  return ChunkSums(sh, view, vocab, FinalWeights{weigh, *floor_l, true, sh.cut_l, sh.cut_id, d.min_p});
}

// Block r, kThreads threads (DrawFromChunks' one thread a chunk): row r's token, rank and logprob.
__global__ void __launch_bounds__(kThreads, 1) PlainDrawKernel(SamplingKernelParams p, int spans) {
  __shared__ Shared sh;
  LoadExpTable(sh.exp_table);
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x);
  const int chunks = NumChunks(p.vocab);
  const DrawParams d = RowDrawParams(p, row);
  const uint64_t seed = p.seed[row];
  const int n = p.output_offsets != nullptr ? p.output_offsets[row + 1] - p.output_offsets[row] : 0;
  __syncthreads();
  WaitForPrerequisites();
  const Workspace w = Layout(p);
  const RowFacts facts = Facts(ReduceRowParts(w, row, spans), p.vocab);
  const float* raw = p.logits + static_cast<size_t>(row) * p.vocab;  // [vocab]
  const RowView view{raw, facts.zero_row};
  const size_t first_chunk = At(row, chunks, 0);
  int token = facts.argmax;
  if (d.temperature != 0.0f) {
    const Weigher weigh = RowWeigher(d, facts.l_max, sh.exp_table);
    U128 sum;
    FinalWeights weights{weigh, -kInf, false, 0.0f, 0, d.min_p};
    const Cut cut = RowCut(d, facts.finite, p.vocab);
    if (cut == Cut::kTopP) {
      sum = TopPChunkSums(sh, w, row, facts, view, weigh, d, p.vocab);
      weights = FinalWeights{weigh, -kInf, true, sh.cut_l, sh.cut_id, d.min_p};
    } else if (cut == Cut::kTopK) {
      float floor_l;
      sum = TopKChunkSums(sh, w, row, facts, view, weigh, d, p.vocab, &floor_l);
      weights = FinalWeights{weigh, floor_l, false, 0.0f, 0, d.min_p};
    } else if (cut == Cut::kTopKTopP) {
      float floor_l;
      sum = TopKTopPChunkSums(sh, w, row, facts, view, weigh, d, p.vocab, &floor_l);
      weights = FinalWeights{weigh, floor_l, true, sh.cut_l, sh.cut_id, d.min_p};
    } else {
      LoadChunkMasses(sh, w, row, chunks);
      sum = ChunkTotal(sh, p.vocab);
    }
    const U128 target = ScaleByUniform(sum, UniformBits(seed, static_cast<uint64_t>(n), kSampleStream));
    token = DrawFromChunks(sh, view, p.vocab, weights, target, facts.argmax);
  }
  // Rank and logprob under the raw row, as LaunchSampling's last pass.
  const float x_token = view.Logit(token);
  int greater = 0;
  ForEachToken(raw, facts.zero_row, p.vocab, [&](int, float x) { greater += x > x_token ? 1 : 0; });
  greater = BlockReduce(greater, [](int a, int b) { return a + b; }, sh.reduce);
  double sum = threadIdx.x < chunks ? w.log_normalizer[first_chunk + threadIdx.x] : 0.0;
  sum = BlockReduce(sum, [](double a, double b) { return a + b; }, sh.reduce);
  if (threadIdx.x != 0) return;
  p.sampled_token_ids[row] = token;
  if (p.sampled_logprobs != nullptr) {
    const double x_max = facts.l_max;
    p.sampled_logprobs[row] = static_cast<float>(static_cast<double>(x_token) - (x_max + log(sum)));
  }
  if (p.sampled_ranks != nullptr) p.sampled_ranks[row] = 1 + greater;
  if (p.draft_accepted != nullptr) p.draft_accepted[row] = 0;
}

}  // namespace

size_t PlainSamplingWorkspaceBytes(int num_rows, int vocab) {
  if (num_rows <= 0 || vocab <= 0) return 0;
  return Carve(num_rows, vocab, nullptr, nullptr);
}

cudaError_t LaunchPlainSampling(const SamplingKernelParams& p, cudaStream_t stream) {
  if (p.num_rows < 0 || p.vocab < 1 || p.vocab > kMaxSamplingVocab) return cudaErrorInvalidValue;
  if (p.num_rows == 0) return cudaSuccess;
  if (p.logits == nullptr || p.temperature == nullptr || p.seed == nullptr || p.workspace == nullptr ||
      p.sampled_token_ids == nullptr) {
    return cudaErrorInvalidValue;
  }
  const int spans = NumSpans(p.vocab);
  const dim3 span_blocks(static_cast<unsigned>(p.num_rows) * static_cast<unsigned>(spans));
  const auto span_pass = [&](auto kernel) {
    return LaunchWithPdl(kernel, span_blocks, kSpanThreads, 0, stream, p, spans);
  };
  cudaError_t error = span_pass(PlainStatsKernel);
  const bool cuts = p.top_p != nullptr || p.top_k != nullptr;
  if (error == cudaSuccess) error = span_pass(cuts ? PlainMassKernel<true> : PlainMassKernel<false>);
  if (error == cudaSuccess && cuts) error = span_pass(PlainCutKernel);
  if (error == cudaSuccess) error = LaunchWithPdl(PlainDrawKernel, p.num_rows, kThreads, 0, stream, p, spans);
  return error;
}

}  // namespace specd::kernels
