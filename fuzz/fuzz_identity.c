/*
 * libFuzzer target: lp_idgraph_load must return an error, never crash,
 * hang or leak, on any input; what it accepts must save to bytes that load
 * again.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
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
    if (lp_idgraph_profiles(g, ids, 4, &n) == LP_OK && n > 0) {
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
        lp_idgraph_free(again);
      }
    }
    lp_fuzz_sink(st.events + n);
  }
  lp_membuf_free(b);
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
    lp_idgraph_free(g);
  }
  lp_fuzz_check_leaks(&budget);
  return 0;
}
