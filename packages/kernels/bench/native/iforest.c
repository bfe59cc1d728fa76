/* Native baseline for the benchmark: the same forest as the WASM kernel (complete trees of depth
 * ceil(log2 psi), early leaves padded with always-left nodes, leaf value = depth + c(size)), built
 * with a plain xorshift PRNG, scored branch-free over blocks of 64 rows, one thread.
 * Usage: iforest <raw f64 file> <rows> <cols>; prints {"fit_ms":..,"score_ms":..,"checksum":..}. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TREES 100
#define PSI 256
#define DEPTH 8
#define INTERNAL ((1 << DEPTH) - 1)
#define LEAVES (1 << DEPTH)
#define BLOCK 64

typedef struct { double threshold; int32_t offset; int32_t pad; } Node;

static uint64_t state = 88172645463325252ull;
static uint64_t next64(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }
static double uniform(void) { return (next64() >> 11) * (1.0 / 9007199254740992.0); }
static int below(int n) { int r = (int)(uniform() * n); return r >= n ? n - 1 : r; }

static double c_table[PSI + 1];
static Node nodes[TREES][INTERNAL];
static double leaves[TREES][LEAVES];
static double sample[PSI * 64];
static int idx[PSI];
static int cols;

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static void leaf(int t, int node, int depth, int size) {
  int at = node;
  for (int l = depth; l < DEPTH; l++) { nodes[t][at].threshold = INFINITY; nodes[t][at].offset = 0; at = 2 * at + 1; }
  leaves[t][at - INTERNAL] = depth + c_table[size];
}

static void build(int t, int node, int depth, int lo, int hi) {
  int size = hi - lo;
  if (depth >= DEPTH || size <= 1) { leaf(t, node, depth, size); return; }
  int cand[64], remaining = cols;
  for (int f = 0; f < cols; f++) cand[f] = f;
  while (remaining > 0) {
    int pick = below(remaining), f = cand[pick];
    double mn = sample[idx[lo] * cols + f], mx = mn;
    for (int i = lo + 1; i < hi; i++) { double v = sample[idx[i] * cols + f]; if (v < mn) mn = v; if (v > mx) mx = v; }
    if (mx > mn) {
      double th = mn + uniform() * (mx - mn);
      if (th >= mx) th = mn;
      int i = lo, j = hi - 1;
      while (i <= j) { if (sample[idx[i] * cols + f] <= th) i++; else { int s = idx[i]; idx[i] = idx[j]; idx[j] = s; j--; } }
      nodes[t][node].threshold = th; nodes[t][node].offset = f;
      build(t, 2 * node + 1, depth + 1, lo, i);
      build(t, 2 * node + 2, depth + 1, i, hi);
      return;
    }
    cand[pick] = cand[--remaining];
  }
  leaf(t, node, depth, size);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  long rows = atol(argv[2]);
  cols = atoi(argv[3]);
  if (cols > 64) return 3;
  double *x = malloc(sizeof(double) * rows * cols);
  FILE *file = fopen(argv[1], "rb");
  if (!file || fread(x, sizeof(double), rows * cols, file) != (size_t)(rows * cols)) return 4;
  fclose(file);
  double harmonic = 0;
  for (int n = 2; n <= PSI; n++) { harmonic += 1.0 / (n - 1); c_table[n] = 2 * harmonic - 2.0 * (n - 1) / n; }
  double t0 = now_ms();
  int *perm = malloc(sizeof(int) * rows);
  for (long i = 0; i < rows; i++) perm[i] = (int)i;
  for (int t = 0; t < TREES; t++) {
    memset(nodes[t], 0, sizeof(nodes[t]));
    memset(leaves[t], 0, sizeof(leaves[t]));
    for (int j = 0; j < PSI; j++) {
      long r = j + (long)(uniform() * (rows - j));
      int s = perm[j]; perm[j] = perm[r]; perm[r] = s;
      memcpy(sample + j * cols, x + (long)perm[j] * cols, sizeof(double) * cols);
      idx[j] = j;
    }
    build(t, 0, 0, 0, PSI);
  }
  double t1 = now_ms();
  double *out = calloc(rows, sizeof(double));
  for (long start = 0; start < rows; start += BLOCK) {
    int count = rows - start < BLOCK ? (int)(rows - start) : BLOCK;
    const double *block = x + start * cols;
    for (int t = 0; t < TREES; t++) {
      const Node *tree = nodes[t];
      uint32_t cursor[BLOCK] = {0};
      for (int level = 0; level < DEPTH; level++)
        for (int p = 0; p < count; p++) {
          const Node *n = &tree[cursor[p]];
          cursor[p] = 2 * cursor[p] + 1 + (block[p * cols + n->offset] > n->threshold);
        }
      for (int p = 0; p < count; p++) out[start + p] += leaves[t][cursor[p] - INTERNAL];
    }
  }
  double checksum = 0;
  double c = c_table[PSI];
  for (long i = 0; i < rows; i++) { out[i] = exp2(-out[i] / (TREES * c)); checksum += out[i]; }
  double t2 = now_ms();
  printf("{\"fit_ms\":%.3f,\"score_ms\":%.3f,\"checksum\":%.6f}\n", t1 - t0, t2 - t1, checksum);
  return 0;
}
