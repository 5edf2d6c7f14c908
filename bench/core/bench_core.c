/*
 * Core benchmark: hash map and ordinal index insert/lookup/delete
 * throughput and bytes per entry, XXH3 throughput, snapshot write/read throughput.
 * Prints one JSON object per line. `--quick` runs a small size.
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "../bench_util.h"
#include "core/hash.h"
#include "core/map.h"
#include "core/oindex.h"
#include "core/rng.h"
#include "libprofile.h"

static void bench_map(unsigned kw, size_t n) {
  lp_mem m;
  if (lp_mem_init(&m, NULL) != LP_OK) exit(1);
  lp_hmap h;
  lp_hmap_init(&h, kw);
  lp_rng r;
  lp_rng_seed(&r, 1);
  uint64_t *keys = malloc(n * 2 * sizeof *keys);
  if (keys == NULL) exit(1);
  for (size_t i = 0; i < n * 2; i++) keys[i] = lp_rng_next(&r);
  double t0 = bench_now();
  for (size_t i = 0; i < n; i++) {
    uint64_t *slot;
    bool inserted;
    if (lp_hmap_upsert(&h, &m, &keys[i * kw], &slot, &inserted) != LP_OK) exit(1);
    *slot = i;
  }
  double t1 = bench_now();
  uint64_t found = 0, v;
  for (size_t i = 0; i < n; i++) found += lp_hmap_get(&h, &keys[((i * 7919) % n) * kw], &v);
  double t2 = bench_now();
  uint64_t miss = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t k[2] = {keys[i * kw] ^ 1, keys[i * kw + 1]};
    miss += !lp_hmap_get(&h, k, &v);
  }
  double t3 = bench_now();
  size_t bytes = lp_hmap_bytes(&h);
  for (size_t i = 0; i < n; i++) lp_hmap_del(&h, &keys[i * kw], NULL);
  double t4 = bench_now();
  printf("{\"bench\":\"map%u\",\"n\":%zu,\"insert_per_s\":%.0f,\"hit_per_s\":%.0f,"
         "\"miss_per_s\":%.0f,\"delete_per_s\":%.0f,\"bytes_per_entry\":%.1f,\"ok\":%s}\n",
         kw * 64, n, (double)n / (t1 - t0), (double)n / (t2 - t1), (double)n / (t3 - t2),
         (double)n / (t4 - t3), (double)bytes / (double)n,
         (found == n && miss == n && h.len == 0) ? "true" : "false");
  lp_hmap_free(&h, &m);
  free(keys);
}

/* The ordinal index over records that are the 64-bit keys themselves (a
 * record read is a random read of an 8-byte array): what lp_map64 does
 * with its keys in the table. Insert = look, then place (with growth). */
static uint64_t oix_key(const void *ctx, uint32_t ord) { return ((const uint64_t *)ctx)[ord]; }

static bool oix_get(const lp_oindex *t, const uint64_t *recs, uint64_t key, uint32_t *ord) {
  lp_oindex_probe p;
  uint32_t x;
  lp_oindex_probe_start(t, key, &p);
  while (lp_oindex_probe_next(t, &p, &x))
    if (recs[x] == key) {
      *ord = x;
      return true;
    }
  return false;
}

static void bench_oindex(unsigned width, size_t n) {
  lp_mem m;
  if (lp_mem_init(&m, NULL) != LP_OK) exit(1);
  lp_oindex t;
  lp_oindex_init(&t, width, 30); /* identity's: 2 tag bits in 4-byte slots */
  lp_rng r;
  lp_rng_seed(&r, 1);
  uint64_t *keys = malloc(n * sizeof *keys);
  if (keys == NULL) exit(1);
  for (size_t i = 0; i < n; i++) keys[i] = lp_rng_next(&r);
  double t0 = bench_now();
  for (size_t i = 0; i < n; i++) {
    uint32_t x;
    if (!lp_oindex_has_room(&t) && lp_oindex_reserve(&t, &m, t.len + 1, oix_key, keys) != LP_OK)
      exit(1);
    lp_oindex_probe p;
    lp_oindex_probe_start(&t, keys[i], &p);
    while (lp_oindex_probe_next(&t, &p, &x))
      if (keys[x] == keys[i]) exit(1);
    lp_oindex_probe_put(&t, &p, (uint32_t)i);
  }
  double t1 = bench_now();
  uint64_t found = 0, miss = 0;
  uint32_t x;
  for (size_t i = 0; i < n; i++) found += oix_get(&t, keys, keys[(i * 7919) % n], &x);
  double t2 = bench_now();
  for (size_t i = 0; i < n; i++) miss += !oix_get(&t, keys, keys[i] ^ 1, &x);
  double t3 = bench_now();
  size_t bytes = lp_oindex_bytes(&t);
  for (size_t i = 0; i < n; i++) lp_oindex_del(&t, keys[i], (uint32_t)i, oix_key, keys);
  double t4 = bench_now();
  lp_oindex_free(&t, &m);
  double t5 = bench_now();
  if (lp_oindex_build(&t, &m, n, oix_key, keys) != LP_OK) exit(1);
  double t6 = bench_now();
  printf("{\"bench\":\"oindex%u\",\"n\":%zu,\"insert_per_s\":%.0f,\"hit_per_s\":%.0f,"
         "\"miss_per_s\":%.0f,\"delete_per_s\":%.0f,\"build_per_s\":%.0f,"
         "\"bytes_per_entry\":%.1f,\"ok\":%s}\n",
         width * 8, n, (double)n / (t1 - t0), (double)n / (t2 - t1), (double)n / (t3 - t2),
         (double)n / (t4 - t3), (double)n / (t6 - t5), (double)bytes / (double)n,
         (found == n && miss == n && t.len == n) ? "true" : "false");
  lp_oindex_free(&t, &m);
  free(keys);
}

static void bench_hash(size_t total) {
  size_t len = 1 << 16;
  uint8_t *buf = malloc(len);
  if (buf == NULL) exit(1);
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)i;
  uint64_t acc = 0;
  double t0 = bench_now();
  for (size_t done = 0; done < total; done += len) acc ^= lp_hash64(buf, len, acc);
  double t1 = bench_now();
  /* Short keys, as identifiers are. */
  size_t keys = total / 64;
  double t2 = bench_now();
  for (size_t i = 0; i < keys; i++) acc ^= lp_hash128_seeded(buf + (i & 1023), 24, i).lo;
  double t3 = bench_now();
  printf("{\"bench\":\"xxh3\",\"bytes\":%zu,\"mb_per_s\":%.0f,\"short_keys_per_s\":%.0f,"
         "\"check\":%llu}\n",
         total, (double)total / (t1 - t0) / 1e6, (double)keys / (t3 - t2),
         (unsigned long long)(acc & 1));
  free(buf);
}

static void bench_snapshot(size_t total) {
  lp_membuf *b;
  if (lp_membuf_create(NULL, &b) != LP_OK) exit(1);
  size_t chunk = 1 << 20;
  uint8_t *data = malloc(chunk);
  if (data == NULL) exit(1);
  memset(data, 0x5a, chunk);
  double t0 = bench_now();
  lp_snapshot_writer *w;
  int rc = lp_snapshot_writer_create(NULL, lp_membuf_write, b, LP_FOURCC('B', 'N', 'C', 'H'), &w);
  for (size_t done = 0; rc == LP_OK && done < total; done += chunk * 16) {
    rc = lp_snapshot_writer_begin_section(w, 1, 0);
    for (int i = 0; rc == LP_OK && i < 16; i++) rc = lp_snapshot_writer_write(w, data, chunk);
    if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  lp_snapshot_writer_free(w);
  double t1 = bench_now();
  lp_memreader mr;
  lp_snapshot_reader *r;
  if (rc == LP_OK) rc = lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b));
  if (rc == LP_OK) rc = lp_snapshot_reader_create(NULL, lp_memreader_read, &mr, &r);
  uint32_t type = 1;
  const uint8_t *p;
  size_t len, sections = 0;
  while (rc == LP_OK && type != LP_SECTION_END) {
    rc = lp_snapshot_reader_next(r, &type, NULL, &p, &len);
    sections++;
  }
  double t2 = bench_now();
  if (rc == LP_OK) lp_snapshot_reader_free(r);
  printf("{\"bench\":\"snapshot\",\"bytes\":%zu,\"write_mb_per_s\":%.0f,\"read_mb_per_s\":%.0f,"
         "\"sections\":%zu,\"ok\":%s}\n",
         lp_membuf_size(b), (double)lp_membuf_size(b) / (t1 - t0) / 1e6,
         (double)lp_membuf_size(b) / (t2 - t1) / 1e6, sections - 1, rc == LP_OK ? "true" : "false");
  free(data);
  lp_membuf_free(b);
}

int main(int argc, char **argv) {
  int quick = bench_quick(argc, argv);
  size_t n = quick ? 100000 : 10000000;
  bench_map(1, n);
  bench_map(2, n);
  bench_oindex(4, n);
  bench_oindex(8, n);
  bench_hash(quick ? (size_t)64 << 20 : (size_t)2 << 30);
  bench_snapshot(quick ? (size_t)32 << 20 : (size_t)512 << 20);
  printf("{\"bench\":\"core\",\"peak_rss_bytes\":%lld}\n", bench_peak_rss());
  return 0;
}
