/*
 * libFuzzer target: lp_idgraph_load must return an error, never crash,
 * hang or leak, on any input; what it accepts must save to bytes that load
 * again. The same bytes are also read as a stream of events (any bytes:
 * bad UTF-8, NUL, oversized values) fed to lp_idgraph_observe, and the
 * graph must equal the merge of two graphs fed the two halves (the second
 * through lp_idgraph_prepare and lp_idgraph_observe_prepared). The
 * invariant checker runs after every input.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "identity/check.h"
#include "libprofile.h"

/* The graph the seeds were saved from (tests/identity/idtest.h). */
static lp_idgraph *make_graph(const lp_allocator *a, int raw) {
  static const struct {
    const char *name;
    int32_t priority;
    uint32_t limit, unique, norm, cc;
  } types[] = {
      {"user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0},
      {"email", 50, 3, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0},
      {"phone", 40, 3, 0, LP_IDGRAPH_NORM_PHONE, 44},
      {"device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0},
  };
  lp_idgraph *g;
  if (lp_idgraph_create(a, &g) != LP_OK) return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
    uint32_t id;
    d.name = types[i].name;
    d.priority = types[i].priority;
    d.limit = types[i].limit;
    d.unique = types[i].unique;
    d.normalizer = types[i].norm;
    d.country_code = types[i].cc;
    if (lp_idgraph_add_type(g, &d, &id) != LP_OK) {
      lp_idgraph_free(g);
      return NULL;
    }
  }
  if (lp_idgraph_set_key(g, "test key 0123456", 16) != LP_OK ||
      lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, raw) != LP_OK) {
    lp_idgraph_free(g);
    return NULL;
  }
  return g;
}

static void exercise(lp_idgraph *g, const lp_allocator *a) {
  lp_membuf *b;
  if (lp_membuf_create(a, &b) != LP_OK) return;
  if (lp_idgraph_save(g, lp_membuf_write, b) == LP_OK) {
    lp_idgraph_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    (void)lp_idgraph_get_stats(g, &st);
    uint64_t ids[4];
    size_t n = 0;
    if (lp_idgraph_profiles(g, NULL, 0, &n) == LP_OK && n > 0 &&
        lp_idgraph_profiles(g, ids, 4, &n) == (n <= 4 ? LP_OK : LP_EBUFSIZE) && n <= 4) {
      lp_idgraph_ident_info info[4];
      size_t m;
      (void)lp_idgraph_profile_identifiers(g, ids[0], info, 4, &m);
    }
    lp_memreader mr;
    if (lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b)) == LP_OK) {
      lp_idgraph *again = make_graph(a, 0);
      if (again != NULL) {
        int rc = lp_idgraph_load(again, lp_memreader_read, &mr);
        /* What was accepted must save to bytes that load again. */
        if (rc != LP_OK && rc != LP_ENOMEM && rc != LP_ECONFLICT) abort();
        if (idg_check(again) != LP_OK) abort();
        lp_idgraph_free(again);
      }
    }
    lp_fuzz_sink(st.events + n);
  }
  lp_membuf_free(b);
}

/* Events from bytes: [count][ts][type len value]... per event. Values
 * may be any bytes; a length byte of 255 asks for an oversized value. */
static int feed(lp_idgraph *g, const uint8_t *data, size_t size, size_t from, size_t to,
                int prepared) {
  static char big[LP_IDGRAPH_MAX_VALUE_LEN + 1];
  static char scratch[6 * LP_IDGRAPH_MAX_VALUE_LEN];
  size_t pos = 0, event = 0;
  memset(big, 'z', sizeof big);
  while (pos + 2 <= size) {
    size_t n = (size_t)(data[pos] % 6) + 1;
    int64_t ts = data[pos + 1] % 16;
    pos += 2;
    lp_idgraph_ident ids[6];
    size_t k = 0;
    for (; k < n && pos + 2 <= size; k++) {
      ids[k].type = data[pos] % 4u;
      size_t len = data[pos + 1];
      pos += 2;
      if (len == 255) {
        ids[k].value = big;
        ids[k].len = sizeof big;
        continue;
      }
      len %= 24;
      if (len > size - pos) len = size - pos;
      ids[k].value = (const char *)data + pos;
      ids[k].len = len;
      pos += len;
    }
    if (k == 0) break;
    if (event >= from && event < to) {
      int rc;
      if (prepared) {
        lp_idgraph_prepared p[6];
        size_t needed;
        rc = lp_idgraph_prepare(g, ids, k, p, scratch, sizeof scratch, &needed);
        if (rc != LP_OK) abort(); /* arguments are valid: prepare cannot fail */
        rc = lp_idgraph_observe_prepared(g, p, k, ts, "f", 1, NULL);
      } else {
        rc = lp_idgraph_observe(g, ids, k, ts, "f", 1, NULL);
      }
      if (rc != LP_OK) return rc;
    }
    event++;
  }
  return LP_OK;
}

static void as_events(const uint8_t *data, size_t size, const lp_allocator *a) {
  lp_idgraph *all = make_graph(a, 1), *lo = make_graph(a, 1), *hi = make_graph(a, 1);
  if (all != NULL && lo != NULL && hi != NULL && feed(all, data, size, 0, SIZE_MAX, 0) == LP_OK &&
      feed(lo, data, size, 0, 3, 0) == LP_OK && feed(hi, data, size, 3, SIZE_MAX, 1) == LP_OK) {
    if (idg_check(all) != LP_OK || idg_check(lo) != LP_OK || idg_check(hi) != LP_OK) abort();
    int rc = lp_idgraph_merge(lo, hi);
    if (rc != LP_OK && rc != LP_ENOMEM) abort();
    if (idg_check(lo) != LP_OK) abort();
    lp_membuf *x, *y;
    if (rc == LP_OK && lp_membuf_create(a, &x) == LP_OK) {
      if (lp_membuf_create(a, &y) == LP_OK) {
        /* The merged shards equal the graph fed every event. */
        if (lp_idgraph_save(all, lp_membuf_write, x) == LP_OK &&
            lp_idgraph_save(lo, lp_membuf_write, y) == LP_OK &&
            (lp_membuf_size(x) != lp_membuf_size(y) ||
             memcmp(lp_membuf_data(x), lp_membuf_data(y), lp_membuf_size(x)) != 0))
          abort();
        lp_membuf_free(y);
      }
      lp_membuf_free(x);
    }
  }
  lp_idgraph_free(all);
  lp_idgraph_free(lo);
  lp_idgraph_free(hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  for (int raw = 0; raw <= 1; raw++) {
    lp_idgraph *g = make_graph(&alloc, raw);
    if (g == NULL) continue;
    lp_memreader mr;
    if (lp_memreader_init(&mr, data, size) == LP_OK &&
        lp_idgraph_load(g, lp_memreader_read, &mr) == LP_OK)
      exercise(g, &alloc);
    if (idg_check(g) != LP_OK) abort();
    lp_idgraph_free(g);
  }
  as_events(data, size, &alloc);
  lp_fuzz_check_leaks(&budget);
  return 0;
}
