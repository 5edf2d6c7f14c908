/*
 * libFuzzer target: lp_bitmap_deserialize and lp_bitmap_portable_deserialize
 * must reject any input or return a bitmap that passes lp_bitmap_check,
 * never crash, hang or leak; an accepted bitmap must serialise again (both
 * forms) to bytes that load to an equal bitmap, and its queries must agree.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/bitmap.h"
#include "fuzz_common.h"

static void require(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_bitmap: %s\n", what);
    abort();
  }
}

/* Both serialised forms of b load back to an equal bitmap. */
static void round_trip(const lp_bitmap *b, const lp_mem *m) {
  for (int own = 0; own < 2; own++) {
    size_t n = own ? lp_bitmap_serialized_size(b) : lp_bitmap_portable_size(b);
    uint8_t *p = lp_mem_alloc(m, n);
    if (p == NULL) return;
    if (own) lp_bitmap_serialize(b, p);
    else lp_bitmap_portable_serialize(b, p);
    lp_bitmap t;
    lp_bitmap_init(&t);
    size_t used = 0;
    int rc = own ? lp_bitmap_deserialize(&t, m, p, n, &used)
                 : lp_bitmap_portable_deserialize(&t, m, p, n, &used);
    if (rc != LP_ENOMEM) {
      require(rc == LP_OK && used == n, "re-serialised bytes rejected");
      require(lp_bitmap_equal(&t, b), "round trip changed the bitmap");
    }
    lp_bitmap_release(&t, m);
    lp_mem_free(m, p, n);
  }
}

static void exercise(const lp_bitmap *b, const lp_mem *m) {
  require(lp_bitmap_check(b) == LP_OK, "accepted bitmap fails the checker");
  round_trip(b, m);
  uint64_t card = lp_bitmap_cardinality(b);
  uint32_t v = 0;
  if (card) {
    require(lp_bitmap_select(b, card - 1, &v), "select of the last value");
    require(lp_bitmap_rank(b, v) == card, "rank of the last value");
    uint32_t mx = 0;
    require(lp_bitmap_maximum(b, &mx) && mx == v, "maximum");
  }
  lp_bitmap_iter it;
  lp_bitmap_iter_init(&it, b, 0);
  uint32_t buf[64];
  uint64_t seen = 0;
  size_t got;
  while ((got = lp_bitmap_iter_next(&it, buf, 64)) > 0) seen += got;
  require(seen == card, "iteration count");
  require(lp_bitmap_and_cardinality(b, b) == card, "and_cardinality with itself");
  lp_bitmap t;
  lp_bitmap_init(&t);
  if (lp_bitmap_copy(&t, m, b) == LP_OK && lp_bitmap_run_optimize(&t, m) == LP_OK) {
    require(lp_bitmap_check(&t) == LP_OK && lp_bitmap_equal(&t, b), "run_optimize");
    if (lp_bitmap_xor_inplace(&t, m, b) == LP_OK) require(lp_bitmap_is_empty(&t), "x ^ x");
  }
  lp_bitmap_release(&t, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  lp_mem m;
  if (lp_mem_init(&m, &alloc) != LP_OK) return 0;
  for (int own = 0; own < 2; own++) {
    lp_bitmap b;
    lp_bitmap_init(&b);
    size_t used = 0;
    int rc = own ? lp_bitmap_deserialize(&b, &m, data, size, &used)
                 : lp_bitmap_portable_deserialize(&b, &m, data, size, &used);
    if (rc == LP_OK) {
      require(used <= size, "used beyond the input");
      exercise(&b, &m);
    } else {
      require(rc == LP_ECORRUPT || rc == LP_ENOMEM, "unexpected error code");
      require(lp_bitmap_is_empty(&b), "failed load changed the output");
    }
    lp_bitmap_release(&b, &m);
  }
  lp_fuzz_check_leaks(&budget);
  return 0;
}

#if defined(LP_FUZZ_MAKE_SEEDS)
/* The seed corpus (fuzz/corpus/bitmap) was written by this generator:
 *   cc -DLP_FUZZ_MAKE_SEEDS -Iinclude -Isrc fuzz/fuzz_bitmap.c build/src/libprofile.a \
 *      -o /tmp/bm_seeds && /tmp/bm_seeds fuzz/corpus/bitmap
 * Bitmaps with every container kind in both forms. */
#include <string.h>

static int seed_write(const char *dir, const char *name, const lp_bitmap *b, int own) {
  lp_mem m;
  lp_mem_init(&m, NULL);
  size_t n = own ? lp_bitmap_serialized_size(b) : lp_bitmap_portable_size(b);
  uint8_t *p = malloc(n);
  if (p == NULL) return 1;
  if (own) lp_bitmap_serialize(b, p);
  else lp_bitmap_portable_serialize(b, p);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s-%s", dir, own ? "own" : "portable", name);
  FILE *f = fopen(path, "wb");
  int bad = f == NULL || fwrite(p, 1, n, f) != n;
  if (f != NULL) bad |= fclose(f) != 0;
  free(p);
  return bad;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  lp_mem m;
  lp_mem_init(&m, NULL);
  lp_bitmap b;
  lp_bitmap_init(&b);
  int bad = 0;
  bad |= seed_write(argv[1], "empty", &b, 1) | seed_write(argv[1], "empty", &b, 0);
  for (uint32_t i = 0; i < 40; i++) lp_bitmap_add(&b, &m, i * 37);
  bad |= seed_write(argv[1], "array", &b, 1) | seed_write(argv[1], "array", &b, 0);
  lp_bitmap_add_range(&b, &m, 70000, 72000);
  lp_bitmap_add_range(&b, &m, 73000, 73100);
  bad |= seed_write(argv[1], "runs", &b, 1) | seed_write(argv[1], "runs", &b, 0);
  for (uint32_t i = 0; i < 6000; i++) lp_bitmap_add(&b, &m, (3u << 16) | (i * 7 % 65536));
  lp_bitmap_add(&b, &m, UINT32_MAX);
  lp_bitmap_add(&b, &m, 0xffff0000u);
  bad |= seed_write(argv[1], "mixed", &b, 1) | seed_write(argv[1], "mixed", &b, 0);
  lp_bitmap_add_range(&b, &m, 9u << 16, 12u << 16);
  bad |= seed_write(argv[1], "full", &b, 1) | seed_write(argv[1], "full", &b, 0);
  lp_bitmap_release(&b, &m);
  return bad;
}
#endif
