/*
 * libFuzzer target: lp_rfm_load must reject or accept any input without
 * crashing, hanging or leaking; a state it accepts must pass the invariant
 * checker (rfm_check), score, report stages, save and load back to the
 * same bytes; and the handle passes the checker after every input,
 * accepted or not.
 *
 * Inputs starting with 'S' are section lists rather than snapshots: the
 * target wraps them in a container with valid checksums before loading, so
 * mutations reach the rfm decoder instead of stopping at the checksum.
 * Layout after the 'S': repeated [selector u8][length u16 LE][payload],
 * selector % 5 choosing OPTS, PROF, ORDS, PERS or an unknown section, and
 * bit 7 of the selector making it required.
 *
 * Seeds: compiled with -DLP_RFM_MAKE_SEEDS this file is instead a program
 * that writes fuzz/corpus/rfm/ (see the end of the file):
 *   cc -DLP_RFM_MAKE_SEEDS -Iinclude -Isrc fuzz/fuzz_rfm.c build/src/libprofile.a \
 *      -o /tmp/rfm_seeds && /tmp/rfm_seeds fuzz/corpus/rfm
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "libprofile.h"
#include "rfm/rfm_check.h"

/* The latest as_of the library accepts (timestamps are within +-(2^62-1)). */
#define LATEST (((int64_t)1 << 62) - 1)

static void exercise(lp_rfm *h, const lp_allocator *alloc) {
  size_t n = lp_rfm_count(h);
  lp_rfm_row *rows = n > 0 && n < 100000 ? malloc(n * sizeof *rows) : NULL;
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = LATEST;
  size_t got = 0;
  if (rows != NULL && lp_rfm_score(h, &o, NULL, rows, n, &got) == LP_OK) {
    lp_rfm_segmap *map;
    if (lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, &map) == LP_OK) {
      lp_rfm_segment_summary sum[11];
      size_t needed;
      (void)lp_rfm_summarize(map, rows, got, sum, 11, &needed);
      lp_rfm_segmap_free(map);
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < got; i++) sum += rows[i].r + rows[i].f + rows[i].m + rows[i].stage;
    lp_fuzz_sink(sum);
  }
  free(rows);
  size_t changed = 0;
  (void)lp_rfm_update_stages(h, LATEST, NULL, NULL, &changed);
  lp_fuzz_sink(changed);
  if (rfm_check(h) != LP_OK) abort();
  lp_membuf *a, *b;
  if (lp_membuf_create(NULL, &a) != LP_OK) return;
  if (lp_membuf_create(NULL, &b) != LP_OK) {
    lp_membuf_free(a);
    return;
  }
  lp_rfm *copy;
  if (lp_rfm_save(h, lp_membuf_write, a) == LP_OK && lp_rfm_create(alloc, &copy) == LP_OK) {
    lp_memreader mr;
    lp_memreader_init(&mr, lp_membuf_data(a), lp_membuf_size(a));
    if (lp_rfm_load(copy, lp_memreader_read, &mr) == LP_OK &&
        lp_rfm_save(copy, lp_membuf_write, b) == LP_OK &&
        (lp_membuf_size(a) != lp_membuf_size(b) ||
         memcmp(lp_membuf_data(a), lp_membuf_data(b), lp_membuf_size(a)) != 0))
      abort(); /* an accepted state must round-trip exactly */
    lp_rfm_free(copy);
  }
  lp_membuf_free(a);
  lp_membuf_free(b);
}

static const uint32_t section_types[5] = {
    LP_FOURCC('O', 'P', 'T', 'S'), LP_FOURCC('P', 'R', 'O', 'F'), LP_FOURCC('O', 'R', 'D', 'S'),
    LP_FOURCC('P', 'E', 'R', 'S'), LP_FOURCC('Z', 'Z', 'Z', 'Z')};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  lp_membuf *wrapped;
  if (!lp_fuzz_unwrap_input(&data, &size, LP_RFM_SNAPSHOT_KIND, section_types, 5, &wrapped))
    return 0;
  lp_rfm *h;
  if (lp_rfm_create(&alloc, &h) == LP_OK) {
    lp_memreader mr;
    if (lp_memreader_init(&mr, data, size) == LP_OK &&
        lp_rfm_load(h, lp_memreader_read, &mr) == LP_OK) {
      if (rfm_check(h) != LP_OK) abort(); /* the loader accepted a broken state */
      exercise(h, &alloc);
    }
    if (rfm_check(h) != LP_OK) abort();
    lp_rfm_free(h);
  }
  lp_membuf_free(wrapped);
  lp_fuzz_check_leaks(&budget);
  return 0;
}

#ifdef LP_RFM_MAKE_SEEDS
/* The snapshot of h, and the same as a section list ("S" form). */
static int write_seed(const char *dir, const char *name, lp_rfm *h) {
  lp_membuf *b;
  if (lp_membuf_create(NULL, &b) != LP_OK) return 1;
  int bad = lp_rfm_save(h, lp_membuf_write, b) != LP_OK ||
            lp_fuzz_write_seed_pair(dir, name, b, section_types, 5) != 0;
  lp_membuf_free(b);
  return bad;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  lp_rfm *h;
  if (lp_rfm_create(NULL, &h) != LP_OK) return 1;
  int bad = write_seed(argv[1], "empty", h);
  lp_rfm_add_profile(h, 5);
  bad |= write_seed(argv[1], "prospect", h);
  /* A repeat buyer with orders, a loose line and a refund; a one-timer. */
  const int64_t t0 = 1704067200;
  lp_rfm_txn t[6];
  for (int i = 0; i < 6; i++) {
    lp_rfm_txn x = LP_RFM_TXN_INIT;
    x.profile_id = i < 4 ? 7 : 9;
    x.ts = t0 + i * 86400 * 3;
    x.amount = i == 3 ? -300 : 1000 + i;
    if (i != 2) {
      x.flags = LP_RFM_TXN_HAS_ORDER;
      x.order_id = (uint64_t)(i / 2);
    }
    t[i] = x;
  }
  lp_rfm_add(h, t, 6);
  bad |= write_seed(argv[1], "mixed", h);
  lp_rfm_update_stages(h, t0 + 400 * 86400, NULL, NULL, NULL);
  lp_rfm_set_int(h, LP_RFM_ONE_TIME_ACTIVE_SECONDS, 30 * 86400);
  bad |= write_seed(argv[1], "stages", h);
  lp_rfm_free(h);
  return bad;
}
#endif
