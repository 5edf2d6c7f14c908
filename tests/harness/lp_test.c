/*
 * Test harness implementation.
 * SPDX-License-Identifier: MIT
 */
#include "lp_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

size_t lp_test_cases(size_t full) {
  const char *q = getenv("LP_TEST_QUICK");
  if (q == NULL || *q == '\0' || strcmp(q, "0") == 0) return full;
  return full / 4 > 0 ? full / 4 : (full > 0 ? 1 : 0);
}

/* Header before every block: size and a canary to catch foreign pointers. */
typedef struct block_header {
  size_t size;
  uint64_t canary;
} block_header;
#define CANARY UINT64_C(0x6c7074657374626b)
#define HDR ((sizeof(block_header) + 15) & ~(size_t)15)

static bool should_fail(lp_test_alloc *ta) {
  ta->calls++;
  bool fail = ta->fail_at != 0 &&
              (ta->calls == ta->fail_at || (ta->fail_after && ta->calls > ta->fail_at));
  if (fail) ta->failures++;
  return fail;
}

static void account_add(lp_test_alloc *ta, size_t size) {
  ta->live_blocks++;
  ta->live_bytes += size;
  if (ta->live_bytes > ta->peak_bytes) ta->peak_bytes = ta->live_bytes;
}

static void *t_alloc(void *ud, size_t size) {
  lp_test_alloc *ta = ud;
  if (size == 0) {
    ta->bad_frees++; /* the library promises never to ask for 0 bytes */
    return NULL;
  }
  if (should_fail(ta)) return NULL;
  unsigned char *p = malloc(HDR + size);
  if (p == NULL) return NULL;
  block_header h = {size, CANARY};
  memcpy(p, &h, sizeof h);
  account_add(ta, size);
  /* Poison: code that reads uninitialised memory sees garbage, not zeros. */
  memset(p + HDR, 0xA5, size);
  return p + HDR;
}

static bool check_header(lp_test_alloc *ta, void *ptr, size_t size, unsigned char **base) {
  *base = (unsigned char *)ptr - HDR;
  block_header h;
  memcpy(&h, *base, sizeof h);
  if (h.canary != CANARY || h.size != size) {
    ta->bad_frees++;
    return false;
  }
  return true;
}

static void *t_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  lp_test_alloc *ta = ud;
  unsigned char *base;
  if (!check_header(ta, ptr, old_size, &base)) return NULL;
  if (new_size == 0) {
    ta->bad_frees++;
    return NULL;
  }
  if (should_fail(ta)) return NULL;
  /* Always move, so stale pointers into the old block are caught by ASan. */
  unsigned char *p = malloc(HDR + new_size);
  if (p == NULL) return NULL;
  memcpy(p + HDR, base + HDR, old_size < new_size ? old_size : new_size);
  if (new_size > old_size) memset(p + HDR + old_size, 0xA5, new_size - old_size);
  block_header h = {new_size, CANARY};
  memcpy(p, &h, sizeof h);
  free(base);
  ta->live_bytes -= old_size;
  ta->live_blocks--;
  account_add(ta, new_size);
  return p + HDR;
}

static void t_free(void *ud, void *ptr, size_t size) {
  lp_test_alloc *ta = ud;
  unsigned char *base;
  if (!check_header(ta, ptr, size, &base)) return;
  ta->live_bytes -= size;
  ta->live_blocks--;
  free(base);
}

void lp_test_alloc_init(lp_test_alloc *ta) {
  memset(ta, 0, sizeof *ta);
  ta->alloc.struct_size = (uint32_t)sizeof ta->alloc;
  ta->alloc.ud = ta;
  ta->alloc.alloc = t_alloc;
  ta->alloc.realloc = t_realloc;
  ta->alloc.free = t_free;
}

void lp_test_alloc_fail_at(lp_test_alloc *ta, size_t n, bool and_after) {
  ta->calls = 0;
  ta->failures = 0;
  ta->fail_at = n;
  ta->fail_after = and_after;
}

void lp_test_alloc_disarm(lp_test_alloc *ta) { ta->fail_at = 0; }

int lp_test_writer_cb(void *ud, const void *buf, size_t len) {
  lp_test_writer *w = ud;
  if (len > w->limit - w->written || w->written > w->limit) return w->fail_code;
  if (w->sink != NULL) {
    int rc = lp_membuf_write(w->sink, buf, len);
    if (rc != LP_OK) return rc;
  }
  w->written += len;
  return 0;
}

void lp_test_reader_init(lp_test_reader *r, const void *data, size_t size) {
  r->data = data;
  r->size = size;
  r->pos = 0;
  r->fail_at = SIZE_MAX;
  r->max_chunk = SIZE_MAX;
  r->fail_code = LP_EIO;
}

int lp_test_reader_cb(void *ud, void *buf, size_t cap, size_t *got) {
  lp_test_reader *r = ud;
  *got = 0;
  if (r->pos >= r->fail_at) return r->fail_code;
  size_t n = r->size - r->pos;
  if (n > cap) n = cap;
  if (n > r->max_chunk) n = r->max_chunk;
  if (r->fail_at != SIZE_MAX && n > r->fail_at - r->pos) n = r->fail_at - r->pos;
  memcpy(buf, r->data + r->pos, n);
  r->pos += n;
  *got = n;
  return 0;
}

size_t lp_test_oom_sweep(const char *name, lp_test_flow flow, void *ctx) {
  lp_test_alloc ta;
  size_t n;
  for (n = 1;; n++) {
    lp_test_alloc_init(&ta);
    lp_test_alloc_fail_at(&ta, n, false);
    int rc = flow(&ta.alloc, ctx);
    if (ta.live_blocks != 0 || ta.bad_frees != 0)
      fail_msg("%s: allocation %zu failing: %zu blocks (%zu bytes) leaked, %zu bad frees",
               name, n, ta.live_blocks, ta.live_bytes, ta.bad_frees);
    if (ta.failures == 0) {
      if (rc != LP_OK) fail_msg("%s: flow failed without injected failure: %d", name, rc);
      break;
    }
    /* LP_OK is fine too: the library may recover (e.g. retry a smaller
     * growth step) and must then give the complete result. */
    if (rc != LP_ENOMEM && rc != LP_OK)
      fail_msg("%s: allocation %zu failing: returned %d (%s), expected LP_ENOMEM", name, n, rc,
               lp_strerror(rc));
  }
  printf("oom sweep %s: %zu allocation failure points, each clean\n", name, n - 1);
  return n - 1;
}

void lp_test_dump(const char *label, const void *data, size_t len) {
  const unsigned char *p = data;
  fprintf(stderr, "%s (%zu bytes):", label, len);
  for (size_t i = 0; i < len; i++) fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", p[i]);
  fprintf(stderr, "\n");
}
