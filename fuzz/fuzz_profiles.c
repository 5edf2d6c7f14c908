/*
 * libFuzzer target: lp_profiles_load must reject or accept any input
 * without crashing, hanging or leaking; a store it accepts must pass the
 * invariant checker (profiles_check), build its view (which must equal a
 * second build: profiles_check_view), walk every profile's view and
 * tags, and save and load back to the same bytes; the store passes the
 * checker after every input, accepted or not.
 *
 * Inputs starting with 'S' are section lists rather than snapshots: the
 * target wraps them in a PRFS container with valid checksums, so
 * mutations reach the store's decoder (and the nested graph, taxonomy and
 * model loaders) instead of stopping at a checksum. Layout after the 'S':
 * repeated [selector u8][length u16 LE][payload], selector % 12 choosing
 * OPTS, TYPE, IDGR, TAXO, ORDR, TAGF, CLVM, KMNS, an unknown section,
 * BLCK (1.1), IDGC (1.2, a chunk of the graph's snapshot) or ORDC (1.2,
 * the compact orders; the newer at the end so the older seeds keep their
 * meaning), bit 7 making it required.
 *
 * Seeds: compiled with -DLP_PROFILES_MAKE_SEEDS this file is instead a
 * program that writes fuzz/corpus/profiles/ (see the end of the file):
 *   cc -DLP_PROFILES_MAKE_SEEDS -Iinclude -Isrc -Ibuild/include fuzz/fuzz_profiles.c \
 *      build/src/libprofile_objs.a -lm -o /tmp/prf_seeds && /tmp/prf_seeds fuzz/corpus/profiles
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "libprofile.h"
#include "profiles/profiles_internal.h"

static const uint32_t section_types[12] = {
    LP_FOURCC('O', 'P', 'T', 'S'), LP_FOURCC('T', 'Y', 'P', 'E'), LP_FOURCC('I', 'D', 'G', 'R'),
    LP_FOURCC('T', 'A', 'X', 'O'), LP_FOURCC('O', 'R', 'D', 'R'), LP_FOURCC('T', 'A', 'G', 'F'),
    LP_FOURCC('C', 'L', 'V', 'M'), LP_FOURCC('K', 'M', 'N', 'S'), LP_FOURCC('Z', 'Z', 'Z', 'Z'),
    LP_FOURCC('B', 'L', 'C', 'K'), LP_FOURCC('I', 'D', 'G', 'C'), LP_FOURCC('O', 'R', 'D', 'C')};

static void exercise(lp_profiles *h, const lp_allocator *alloc) {
  if (lp_profiles_refresh(h) == LP_OK) {
    if (profiles_check_view(h) == LP_ECORRUPT) abort(); /* view != rebuild */
    uint64_t p = 0, sum = 0;
    for (int i = 0; i < 10000 && lp_profiles_next(h, p, &p) == LP_OK; i++) {
      lp_profiles_view v = LP_PROFILES_VIEW_INIT;
      if (lp_profiles_view_of(h, p, &v) != LP_OK) abort();
      lp_profiles_tag tags[16];
      size_t n;
      (void)lp_profiles_tags_of(h, p, tags, 16, &n);
      const lp_tags *tv;
      if (i == 0 && lp_profiles_tags_view(h, &tv) == LP_OK) sum += lp_tags_tag_count(tv);
      sum += v.orders + v.r + v.stage + v.tags;
    }
    lp_fuzz_sink(sum);
  }
  lp_membuf *a, *b;
  if (lp_membuf_create(NULL, &a) != LP_OK) return;
  if (lp_membuf_create(NULL, &b) != LP_OK) {
    lp_membuf_free(a);
    return;
  }
  lp_profiles *copy;
  if (lp_profiles_save(h, lp_membuf_write, a) == LP_OK && lp_profiles_create(alloc, &copy) == LP_OK) {
    lp_memreader mr;
    lp_memreader_init(&mr, lp_membuf_data(a), lp_membuf_size(a));
    if (lp_profiles_load(copy, lp_memreader_read, &mr) == LP_OK &&
        lp_profiles_save(copy, lp_membuf_write, b) == LP_OK &&
        (lp_membuf_size(a) != lp_membuf_size(b) ||
         memcmp(lp_membuf_data(a), lp_membuf_data(b), lp_membuf_size(a)) != 0))
      abort(); /* an accepted store must round-trip exactly */
    lp_profiles_free(copy);
  }
  lp_membuf_free(a);
  lp_membuf_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp_fuzz_budget budget;
  lp_allocator alloc;
  lp_fuzz_allocator(&budget, &alloc, 64u << 20);
  lp_membuf *wrapped;
  if (!lp_fuzz_unwrap_input(&data, &size, LP_PROFILES_SNAPSHOT_KIND, section_types, 12, &wrapped))
    return 0;
  lp_profiles *h;
  if (lp_profiles_create(&alloc, &h) == LP_OK) {
    lp_memreader mr;
    if (lp_memreader_init(&mr, data, size) == LP_OK &&
        lp_profiles_load(h, lp_memreader_read, &mr) == LP_OK) {
      if (profiles_check(h) != LP_OK) abort(); /* the loader accepted a broken store */
      exercise(h, &alloc);
    }
    if (profiles_check(h) != LP_OK) abort();
    lp_profiles_free(h);
  }
  lp_membuf_free(wrapped);
  lp_fuzz_check_leaks(&budget);
  return 0;
}

#ifdef LP_PROFILES_MAKE_SEEDS
/* The snapshot of h, and the same as a section list ("S" form). */
static int write_seed(const char *dir, const char *name, lp_profiles *h) {
  lp_membuf *b;
  if (lp_membuf_create(NULL, &b) != LP_OK || lp_profiles_save(h, lp_membuf_write, b) != LP_OK) return 1;
  int bad = lp_fuzz_write_seed_pair(dir, name, b, section_types, 12);
  lp_membuf_free(b);
  return bad;
}

/* A store with the e-mail type, and the device type when `devices`. */
static lp_profiles *seed_store(bool devices) {
  lp_profiles *h;
  if (lp_profiles_create(NULL, &h) != LP_OK) return NULL;
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "email";
  d.normalizer = LP_IDGRAPH_NORM_EMAIL;
  d.priority = 10;
  lp_profiles_add_type(h, &d, NULL);
  if (devices) {
    d.name = "device";
    d.normalizer = LP_IDGRAPH_NORM_GENERIC;
    d.priority = 1;
    lp_profiles_add_type(h, &d, NULL);
  }
  return h;
}

/* A tag of `type` (merged as `merge`), computed by `rule` unless NULL. */
static void seed_tag(lp_profiles *h, const char *name, uint32_t type, uint32_t merge, const char *rule) {
  lp_tags_def t = LP_TAGS_DEF_INIT;
  t.name = name;
  t.type = type;
  t.merge = merge;
  uint32_t id;
  if (lp_profiles_define_tag(h, &t, &id) == LP_OK && rule != NULL) lp_profiles_set_rule(h, id, rule);
}

/* vip (a flag) and city (the latest string) set by the host. */
static void seed_host_tags(lp_profiles *h) {
  seed_tag(h, "vip", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, NULL);
  seed_tag(h, "city", LP_TAGS_STRING, LP_TAGS_MERGE_LATEST, NULL);
}

/* big and stage, computed over the view. */
static void seed_rule_tags(lp_profiles *h) {
  seed_tag(h, "big", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, "vip or (monetary >= 10 and recency_days < 30)");
  seed_tag(h, "stage", LP_TAGS_STRING, LP_TAGS_MERGE_OR, "lifecycle");
}

/* A k-means model of two clusters and a BG/NBD model. */
static void seed_models(lp_profiles *h) {
  lp_kmeans *km;
  const double x[6] = {1, 2, 300, 40, 1, 20};
  if (lp_kmeans_create(NULL, &km) == LP_OK) {
    lp_kmeans_set_int(km, LP_KMEANS_K, 2);
    if (lp_kmeans_fit(km, x, 2, 3, NULL) == LP_OK) lp_profiles_set_kmeans(h, km);
    lp_kmeans_free(km);
  }
  lp_clv *c;
  const double bg[4] = {0.5, 10.0, 0.7, 2.5};
  if (lp_clv_create(NULL, &c) == LP_OK) {
    if (lp_clv_set_params(c, LP_CLV_MODEL_BGNBD, bg, 4) == LP_OK) lp_profiles_set_clv(h, c);
    lp_clv_free(c);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  lp_profiles *h = seed_store(true);
  if (h == NULL) return 1;
  seed_host_tags(h);
  int bad = write_seed(argv[1], "empty", h);
  const int64_t t0 = 1704067200;
  lp_profiles_set_int(h, LP_PROFILES_AS_OF, t0 + 100 * 86400);
  lp_idgraph_ident ids[2] = {{0, "ann@x.org", 9}, {1, "dev-1", 5}};
  lp_profiles_observe(h, ids, 2, t0, "web", 3, NULL);
  for (int i = 0; i < 5; i++) {
    lp_profiles_order o = LP_PROFILES_ORDER_INIT;
    o.id = ids[i % 2];
    o.flags = i == 2 ? 0 : LP_PROFILES_ORDER_HAS_ID;
    o.order_id = i == 2 ? 0 : (uint64_t)(100 + i / 2);
    o.ts = t0 + i * 86400 * 3;
    o.amount = i == 3 ? -300 : 1000 + i;
    lp_profiles_add_order(h, &o, NULL);
  }
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  v.set_at = t0;
  lp_profiles_set_tag(h, &ids[0], 0, &v, NULL);
  v.str = "Oslo";
  v.len = 4;
  lp_profiles_set_tag(h, &ids[1], 1, &v, NULL);
  bad |= write_seed(argv[1], "facts", h);
  lp_idgraph_ident cy = {0, "cy@x.org", 8};
  lp_profiles_observe(h, &cy, 1, t0 + 5, "crm", 3, NULL);
  lp_profiles_forget_identifier(h, &cy);
  seed_models(h);
  bad |= write_seed(argv[1], "models_tombstone", h);
  lp_profiles_free(h);
  /* 1.1: a blocked value (section BLCK) and rule tags over the view */
  if ((h = seed_store(false)) == NULL) return 1;
  lp_profiles_block_value(h, 0, "noreply@shop.example", 20);
  seed_tag(h, "vip", LP_TAGS_FLAG, LP_TAGS_MERGE_OR, NULL);
  seed_rule_tags(h);
  lp_profiles_set_int(h, LP_PROFILES_AS_OF, t0 + 100 * 86400);
  lp_profiles_observe(h, ids, 1, t0, "web", 3, NULL);
  lp_profiles_order o = LP_PROFILES_ORDER_INIT;
  o.id = ids[0];
  o.ts = t0 + 80 * 86400;
  o.amount = 2500;
  lp_profiles_add_order(h, &o, NULL);
  bad |= write_seed(argv[1], "rules_blocks", h);
  lp_profiles_free(h);
  /* 1.2, everything at once: blocks, host tags by identifier and by
   * profile, rule tags, orders (with and without an order id, a refund),
   * a merge, a tombstone, both models, and the graph cut into IDGC chunks
   * of 200 bytes (prf_set_graph_chunk; at the default 1 MiB the whole
   * graph of a seed is one chunk) */
  if ((h = seed_store(true)) == NULL) return 1;
  lp_profiles_block_value(h, 0, "noreply@shop.example", 20);
  lp_profiles_block_value(h, 1, "00000000", 8);
  seed_host_tags(h);
  seed_rule_tags(h);
  lp_profiles_set_int(h, LP_PROFILES_AS_OF, t0 + 100 * 86400);
  static const char *const people[][2] = {{"ann@x.org", "dev-1"}, {"bob@x.org", "dev-2"},
                                          {"cy@x.org", "dev-3"}, {"dee@x.org", "dev-1"}};
  for (int i = 0; i < 4; i++) {
    lp_idgraph_ident p2[2] = {{0, people[i][0], strlen(people[i][0])}, {1, people[i][1], 5}};
    lp_profiles_observe(h, p2, 2, t0 + i * 3600, "web", 3, NULL); /* dee joins ann through dev-1 */
    for (int j = 0; j <= i; j++) {
      o = (lp_profiles_order)LP_PROFILES_ORDER_INIT;
      o.id = p2[j % 2];
      o.flags = j == 1 ? 0 : LP_PROFILES_ORDER_HAS_ID;
      o.order_id = j == 1 ? 0 : (uint64_t)(1000 + 10 * i + j);
      o.ts = t0 + (i * 7 + j) * 86400;
      o.amount = j == 2 ? -450 : 1999 + 100 * i;
      lp_profiles_add_order(h, &o, NULL);
    }
  }
  v = (lp_tags_value)LP_TAGS_VALUE_INIT;
  v.set_at = t0;
  lp_idgraph_ident ann = {0, "ann@x.org", 9}, bob = {0, "bob@x.org", 9};
  lp_profiles_set_tag(h, &ann, 0, &v, NULL);
  v.str = "Bergen";
  v.len = 6;
  lp_profiles_set_tag(h, &bob, 1, &v, NULL);
  uint64_t pid;
  if (lp_idgraph_profile_of(lp_profiles_idgraph(h), 0, "cy@x.org", 8, &pid) == LP_OK) {
    v.str = "Tromso";
    lp_profiles_set_tag_profile(h, pid, 1, &v);
  }
  lp_idgraph_ident gone = {1, "dev-3", 5};
  lp_profiles_forget_identifier(h, &gone);
  seed_models(h);
  prf_set_graph_chunk(h, 200);
  bad |= write_seed(argv[1], "full_chunks", h);
  lp_profiles_free(h);
  return bad;
}
#endif
