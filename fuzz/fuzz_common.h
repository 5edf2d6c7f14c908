/*
 * Shared pieces of the fuzz targets: a budgeted allocator that also checks
 * for leaks, and a sink that keeps computed values alive.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_FUZZ_COMMON_H
#define LP_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "libprofile.h"

typedef struct lp_fuzz_budget {
  size_t limit;
  size_t live;
  size_t blocks;
} lp_fuzz_budget;

static void *lp_fuzz_alloc(void *ud, size_t n) {
  lp_fuzz_budget *b = ud;
  if (n > b->limit - b->live) return NULL; /* a hostile input cannot OOM the host */
  void *p = malloc(n);
  if (p != NULL) {
    b->live += n;
    b->blocks++;
  }
  return p;
}

static void *lp_fuzz_realloc(void *ud, void *p, size_t old_n, size_t new_n) {
  lp_fuzz_budget *b = ud;
  if (new_n > old_n && new_n - old_n > b->limit - b->live) return NULL;
  void *q = realloc(p, new_n);
  if (q != NULL) b->live = b->live - old_n + new_n;
  return q;
}

static void lp_fuzz_free(void *ud, void *p, size_t n) {
  lp_fuzz_budget *b = ud;
  b->live -= n;
  b->blocks--;
  free(p);
}

static inline void lp_fuzz_allocator(lp_fuzz_budget *b, lp_allocator *a, size_t limit) {
  b->limit = limit;
  b->live = 0;
  b->blocks = 0;
  lp_allocator init = LP_ALLOCATOR_INIT;
  *a = init;
  a->ud = b;
  a->alloc = lp_fuzz_alloc;
  a->realloc = lp_fuzz_realloc;
  a->free = lp_fuzz_free;
}

/* Sizes passed to free must balance those allocated: a mismatch is a bug
 * in the library's bookkeeping even when the C library would not notice. */
static inline void lp_fuzz_check_leaks(const lp_fuzz_budget *b) {
  if (b->live != 0 || b->blocks != 0) {
    fprintf(stderr, "fuzz: %zu bytes in %zu blocks not returned\n", b->live, b->blocks);
    abort();
  }
}

/* Keeps a computed value observable so the reads that produced it stay. */
static inline void lp_fuzz_sink(uint64_t v) {
#if defined(__GNUC__)
  __asm__ volatile("" : : "r"(v) : "memory");
#else
  (void)v;
#endif
}

/* Section-list inputs: after a leading 'S', repeated [selector u8][length
 * u16 LE][payload]; selector % ntypes picks the section type from `types`,
 * bit 7 makes it required. Wrapped into a snapshot of `kind` with valid
 * checksums in `out`, so mutations reach a module's decoder. */
static inline int lp_fuzz_wrap_sections(const uint8_t *p, size_t n, uint32_t kind,
                                        const uint32_t *types, size_t ntypes, lp_membuf *out) {
  lp_snapshot_writer *w;
  int rc = lp_snapshot_writer_create(NULL, lp_membuf_write, out, kind, &w);
  if (rc != LP_OK) return rc;
  while (rc == LP_OK && n >= 3) {
    uint8_t sel = p[0];
    size_t len = (size_t)p[1] | ((size_t)p[2] << 8);
    p += 3;
    n -= 3;
    if (len > n) len = n;
    rc = lp_snapshot_writer_begin_section(w, types[(sel & 0x7F) % ntypes],
                                          (sel & 0x80) ? LP_SECTION_REQUIRED : 0);
    if (rc == LP_OK && len > 0) rc = lp_snapshot_writer_write(w, p, len);
    if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
    p += len;
    n -= len;
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  lp_snapshot_writer_free(w);
  return rc;
}

/* The entry step of a section-list target: an input starting with 'S' is
 * wrapped (lp_fuzz_wrap_sections) and *data / *size then point into
 * *wrapped, which the caller frees with lp_membuf_free (NULL otherwise).
 * Returns false when the input should be skipped. */
static inline bool lp_fuzz_unwrap_input(const uint8_t **data, size_t *size, uint32_t kind,
                                        const uint32_t *types, size_t ntypes,
                                        lp_membuf **wrapped) {
  *wrapped = NULL;
  if (*size == 0 || (*data)[0] != 'S') return true;
  if (lp_membuf_create(NULL, wrapped) != LP_OK) return false;
  if (lp_fuzz_wrap_sections(*data + 1, *size - 1, kind, types, ntypes, *wrapped) != LP_OK) {
    lp_membuf_free(*wrapped);
    *wrapped = NULL;
    return false;
  }
  *data = lp_membuf_data(*wrapped);
  *size = lp_membuf_size(*wrapped);
  return true;
}

/* Seed files for a target: DIR/NAME.lps (the snapshot) and DIR/NAME.sec
 * (the same as a section list, types found in `types`; the last entry is
 * the "unknown" one). Returns non-zero on failure. */
static inline int lp_fuzz_write_seed_pair(const char *dir, const char *name, const lp_membuf *b,
                                          const uint32_t *types, size_t ntypes) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.lps", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return 1;
  int bad = fwrite(lp_membuf_data(b), 1, lp_membuf_size(b), f) != lp_membuf_size(b);
  bad |= fclose(f) != 0;
  snprintf(path, sizeof path, "%s/%s.sec", dir, name);
  f = fopen(path, "wb");
  if (f == NULL) return 1;
  fputc('S', f);
  lp_memreader mr;
  lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b));
  lp_snapshot_reader *r;
  if (lp_snapshot_reader_create(NULL, lp_memreader_read, &mr, &r) != LP_OK) {
    fclose(f);
    return 1;
  }
  lp_snapshot_reader_header(r, NULL, NULL);
  uint32_t type, flags;
  const uint8_t *p;
  size_t len;
  while (lp_snapshot_reader_next(r, &type, &flags, &p, &len) == LP_OK && type != LP_SECTION_END) {
    size_t sel = 0;
    while (sel + 1 < ntypes && types[sel] != type) sel++;
    if (len > 0xFFFF) bad = 1;
    fputc((int)(sel | 0x80), f);
    fputc((int)(len & 0xFF), f);
    fputc((int)((len >> 8) & 0xFF), f);
    if (len > 0) fwrite(p, 1, len, f);
  }
  lp_snapshot_reader_free(r);
  bad |= fclose(f) != 0;
  return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* LP_FUZZ_COMMON_H */
