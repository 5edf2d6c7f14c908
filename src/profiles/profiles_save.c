/*
 * Profile store: one snapshot of kind PRFS holding the options, the type
 * definitions, the nested snapshots of the graph, the taxonomy and the
 * models, and the facts sorted canonically (docs/format.md), so the bytes
 * depend only on what is kept, never on the order of the calls.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/snapshot_direct.h"
#include "profiles/profiles_internal.h"
#include "rfm/rfm_sort.h"

typedef struct guarded {
  const lp_profiles *h;
  lp_writer w;
  void *ud;
} guarded;

static int guarded_write(void *ud, const void *buf, size_t len) {
  guarded *g = ud;
  PRF_MUT(g->h)->busy++;
  int rc = g->w(g->ud, buf, len);
  PRF_MUT(g->h)->busy--;
  return rc;
}

static void put_u32(uint8_t **p, uint32_t v) {
  lp_put_u32le(*p, v);
  *p += 4;
}
static void put_u64(uint8_t **p, uint64_t v) {
  lp_put_u64le(*p, v);
  *p += 8;
}

/* The canonical order of order facts: a total order on every field, so
 * equal elements are identical and no sort stability matters. */
int prf_cmp_order(const prf_order *x, const prf_order *y) {
  int c = prf_cmp_hash(x->hash, y->hash);
  if (c != 0) return c;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  if (x->flags != y->flags) return x->flags < y->flags ? -1 : 1;
  if (x->order_id != y->order_id) return x->order_id < y->order_id ? -1 : 1;
  return x->amount < y->amount ? -1 : (x->amount > y->amount);
}

static int cmp_order(const void *a, const void *b) { return prf_cmp_order(a, b); }

/* Tails shorter than this take qsort (the radix sort's buffers and
 * counts cost more than they save). */
#define ORDERS_RADIX_MIN 4096u

/* The first 8 bytes of a hash as a big-endian number: the order of memcmp
 * on them. */
static uint64_t hash_prefix(const uint8_t *b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | b[i];
  return v;
}

/* Sort a[0..k) canonically. qsort would take about k log2(k) calls of the
 * comparison (2M orders, a day of the 1M-people demo: 1.2 s); instead a
 * stable radix sort of (hash prefix, index) pairs, the orders gathered in
 * that order, then each run of one prefix (an identifier's orders, or two
 * hashes sharing 8 bytes) by the full comparison, and the result copied
 * back. Without memory for the buffers it takes qsort: the same order (a
 * total one), so the save never fails for want of it. */
static void sort_orders(const lp_profiles *h, prf_order *a, size_t k) {
  const lp_mem *m = &h->mem;
  uint64_t *keys = NULL, *tk = NULL;
  uint32_t *idx = NULL, *ti = NULL, *counts = NULL;
  prf_order *out = NULL;
  bool ok = k >= ORDERS_RADIX_MIN && k <= UINT32_MAX &&
            lp_mem_alloc_array(m, k, sizeof *keys, (void **)&keys) == LP_OK &&
            lp_mem_alloc_array(m, k, sizeof *tk, (void **)&tk) == LP_OK &&
            lp_mem_alloc_array(m, k, sizeof *idx, (void **)&idx) == LP_OK &&
            lp_mem_alloc_array(m, k, sizeof *ti, (void **)&ti) == LP_OK &&
            lp_mem_alloc_array(m, RFM_RADIX_COUNTS_LEN, sizeof *counts, (void **)&counts) == LP_OK &&
            lp_mem_alloc_array(m, k, sizeof *out, (void **)&out) == LP_OK;
  if (ok) {
    for (size_t i = 0; i < k; i++) {
      keys[i] = hash_prefix(a[i].hash);
      idx[i] = (uint32_t)i;
    }
    rfm_radix_sort(keys, idx, tk, ti, counts, k);
    for (size_t j = 0; j < k; j++) {
      if (j + PRF_GATHER_AHEAD < k) prf_prefetch_order(&a[idx[j + PRF_GATHER_AHEAD]]);
      out[j] = a[idx[j]];
    }
    for (size_t i = 0, j; i < k; i = j) {
      for (j = i + 1; j < k && keys[j] == keys[i]; j++) {
      }
      if (j - i > 1) qsort(out + i, j - i, sizeof *out, cmp_order);
    }
    memcpy(a, out, k * sizeof *a);
  } else {
    qsort(a, k, sizeof *a, cmp_order);
  }
  lp_mem_free_array(m, out, k, sizeof *out);
  lp_mem_free_array(m, counts, RFM_RADIX_COUNTS_LEN, sizeof *counts);
  lp_mem_free_array(m, ti, k, sizeof *ti);
  lp_mem_free_array(m, idx, k, sizeof *idx);
  lp_mem_free_array(m, tk, k, sizeof *tk);
  lp_mem_free_array(m, keys, k, sizeof *keys);
}

/* Bring the order facts into canonical order in place (the set is the
 * same; the view and the bytes do not depend on the vector's order). The
 * prefix h->orders_sorted is canonical already (a load, an earlier save):
 * only the tail is sorted, then merged from the back through a copy of
 * the tail, so a daily save costs the new orders' sort plus one pass. */
static int canonical_orders(const lp_profiles *h) {
  lp_profiles *m = PRF_MUT(h);
  size_t n = h->orders.len, s = h->orders_sorted < n ? h->orders_sorted : n;
  prf_order *a = (prf_order *)(void *)h->orders.data;
  if (s == n) {
    m->orders_sorted = n;
    return LP_OK;
  }
  size_t k = n - s;
  sort_orders(h, a + s, k);
  if (s > 0 && prf_cmp_order(&a[s - 1], &a[s]) > 0) {
    prf_order *tail;
    if (lp_mem_alloc_array(&h->mem, k, sizeof *tail, (void **)&tail) != LP_OK)
      return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "save: out of memory");
    memcpy(tail, a + s, k * sizeof *tail);
    size_t i = s, j = k, w = n;
    while (j > 0) {
      if (i > 0 && prf_cmp_order(&a[i - 1], &tail[j - 1]) > 0) a[--w] = a[--i];
      else a[--w] = tail[--j];
    }
    lp_mem_free_array(&h->mem, tail, k, sizeof *tail);
  }
  m->orders_sorted = n;
  return LP_OK;
}

static int cmp_tagf(const void *a, const void *b) {
  const prf_tagf *x = *(const prf_tagf *const *)a, *y = *(const prf_tagf *const *)b;
  int c = prf_cmp_hash(x->hash, y->hash);
  if (c != 0) return c;
  return x->tag < y->tag ? -1 : (x->tag > y->tag);
}

/* A nested snapshot: the handle saves straight into the open section (the
 * container buffers one section, so no second copy is made). */
static int to_section(void *ud, const void *buf, size_t len) {
  return lp_snapshot_writer_write(ud, buf, len);
}

static int nested(const lp_profiles *h, lp_snapshot_writer *sw, uint32_t type,
                  const prf_kind *k, const void *handle) {
  int rc = lp_snapshot_writer_begin_section(sw, type, LP_SECTION_REQUIRED);
  if (rc != LP_OK) return rc;
  rc = k->save(handle, to_section, sw);
  if (rc != LP_OK) {
    /* The section writer's own failure (memory) is its message. */
    if (strcmp(lp_snapshot_writer_errmsg(sw), "no error") == 0)
      prf_fail(h, rc, k->what, k->errmsg(handle));
    return rc;
  }
  return lp_snapshot_writer_end_section(sw);
}

/* The graph's snapshot as consecutive IDGC sections of h->graph_chunk
 * bytes (PRF_GRAPH_CHUNK but in tests): the cut depends on the byte count only, never on how the graph
 * hands its bytes over, and a section is opened only for bytes to put in. */
typedef struct chunker {
  lp_snapshot_writer *sw;
  size_t size; /* bytes per section */
  size_t used; /* bytes in the open section */
  bool open;
} chunker;

static int to_chunks(void *ud, const void *buf, size_t len) {
  chunker *c = ud;
  const uint8_t *p = buf;
  int rc = LP_OK;
  while (rc == LP_OK && len > 0) {
    if (!c->open && len >= c->size) {
      /* a whole chunk from the caller's bytes: emitted from there, not
       * copied into the section buffer first */
      rc = lp_snapshot_writer_put_section(c->sw, PRF_SEC_GRAPH_CHUNK, LP_SECTION_REQUIRED, p, c->size);
      p += c->size;
      len -= c->size;
      continue;
    }
    if (!c->open) {
      rc = lp_snapshot_writer_begin_section(c->sw, PRF_SEC_GRAPH_CHUNK, LP_SECTION_REQUIRED);
      if (rc != LP_OK) break;
      c->open = true;
      c->used = 0;
    }
    size_t take = c->size - c->used < len ? c->size - c->used : len;
    rc = lp_snapshot_writer_write(c->sw, p, take);
    p += take;
    len -= take;
    c->used += take;
    if (rc == LP_OK && c->used == c->size) {
      rc = lp_snapshot_writer_end_section(c->sw);
      c->open = false;
    }
  }
  return rc;
}

static int graph_chunks(const lp_profiles *h, lp_snapshot_writer *sw) {
  chunker c = {sw, h->graph_chunk, 0, false};
  const prf_kind *k = prf_kind_of(PRF_KIND_GRAPH);
  int rc = k->save(h->g, to_chunks, &c);
  if (rc != LP_OK) {
    if (strcmp(lp_snapshot_writer_errmsg(sw), "no error") == 0) prf_fail(h, rc, k->what, k->errmsg(h->g));
    return rc;
  }
  return c.open ? lp_snapshot_writer_end_section(sw) : LP_OK;
}

static int section(lp_snapshot_writer *sw, uint32_t type, const void *data, size_t len) {
  int rc = lp_snapshot_writer_begin_section(sw, type, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapshot_writer_write(sw, data, len);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(sw);
  return rc;
}

static int write_opts(lp_snapshot_writer *sw, const lp_profiles *h) {
  uint8_t b[4 + 11 * 8], *p = b;
  put_u32(&p, PRF_FORMAT);
  const int64_t v[] = {h->as_of, h->bins, h->segmap, h->horizon, h->period_scale, h->money_scale,
                       h->store_raw, h->quarantine_after, h->default_blocklist,
                       (int64_t)h->erased_facts, 0};
  for (size_t i = 0; i < 11; i++) put_u64(&p, (uint64_t)v[i]);
  return section(sw, PRF_SEC_OPTS, b, (size_t)(p - b));
}

static int write_types(lp_snapshot_writer *sw, const lp_profiles *h) {
  int rc = lp_snapshot_writer_begin_section(sw, PRF_SEC_TYPES, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u32(sw, h->ntypes);
  for (uint32_t i = 0; rc == LP_OK && i < h->ntypes; i++) {
    const lp_idgraph_type_def *d = &h->types[i].def;
    uint32_t len = (uint32_t)strlen(d->name);
    uint8_t b[7 * 4], *p = b;
    put_u32(&p, len);
    put_u32(&p, (uint32_t)d->priority);
    put_u32(&p, d->limit);
    put_u32(&p, d->unique ? 1u : 0u);
    put_u32(&p, d->normalizer);
    put_u32(&p, d->country_code);
    put_u32(&p, 0);
    rc = lp_snapshot_writer_write(sw, b, sizeof b);
    if (rc == LP_OK) rc = lp_snapshot_writer_write(sw, d->name, len);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(sw);
  return rc;
}

/* Pointers to the elements of `v` in the canonical order of `cmp` (a
 * total order); NULL when empty. Free with n pointers. */
static int sorted(const lp_profiles *h, const lp_vec *v, int (*cmp)(const void *, const void *),
                  const void ***out) {
  *out = NULL;
  if (v->len == 0) return LP_OK;
  const void **ix;
  int rc = lp_mem_alloc_array(&h->mem, v->len, sizeof *ix, (void **)&ix);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "save: out of memory");
  for (size_t i = 0; i < v->len; i++) ix[i] = lp_vec_at(v, i);
  qsort(ix, v->len, sizeof *ix, cmp);
  *out = ix;
  return LP_OK;
}

/* ORDC (1.2): per identifier hash (ascending, each once) the hash, a
 * varint count k >= 1, then its k orders in canonical order, each a varint
 * head, the varint order id when the head says so, and the zigzag varint
 * amount. The head is (t << 1) | has_id, t the zigzag ts for the group's
 * first order and the (non-negative) step from the previous ts after it.
 * Every varint is in its shortest form, so the bytes are a function of the
 * set of orders. Records are gathered in a buffer and written in blocks. */
#define ORDC_BUF 32768u
#define ORDC_MAX (LP_IDGRAPH_HASH_SIZE + 4 * 10) /* a group's start and one order */

static uint64_t zigzag(int64_t v) { return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1; }

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

static int write_orders(lp_snapshot_writer *sw, const lp_profiles *h) {
  size_t n = h->orders.len;
  int rc = canonical_orders(h);
  if (rc != LP_OK) return rc;
  rc = lp_snapshot_writer_begin_section(sw, PRF_SEC_ORDERS_C, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(sw, n);
  const prf_order *a = (const prf_order *)(const void *)h->orders.data;
  uint8_t buf[ORDC_BUF], *p = buf;
  int64_t prev_ts = 0;
  for (size_t i = 0, end = 0; rc == LP_OK && i < n; i++) {
    const prf_order *o = &a[i];
    uint64_t t;
    if (i == end) { /* a new identifier: its hash and its number of orders */
      for (end = i + 1; end < n && prf_cmp_hash(a[end].hash, o->hash) == 0; end++) {
      }
      memcpy(p, o->hash, LP_IDGRAPH_HASH_SIZE);
      p = put_varint(p + LP_IDGRAPH_HASH_SIZE, end - i);
      t = zigzag(o->ts);
    } else {
      t = (uint64_t)o->ts - (uint64_t)prev_ts; /* >= 0: canonical order */
    }
    prev_ts = o->ts;
    bool id = (o->flags & LP_PROFILES_ORDER_HAS_ID) != 0;
    p = put_varint(p, t << 1 | (id ? 1u : 0u));
    if (id) p = put_varint(p, o->order_id);
    p = put_varint(p, zigzag(o->amount));
    if ((size_t)(p - buf) > ORDC_BUF - ORDC_MAX || i + 1 == n) {
      rc = lp_snapshot_writer_write(sw, buf, (size_t)(p - buf));
      p = buf;
    }
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(sw);
  return rc;
}

static int write_tags(lp_snapshot_writer *sw, const lp_profiles *h) {
  size_t n = h->tagf.len;
  const prf_tagf **ix;
  int rc = sorted(h, &h->tagf, cmp_tagf, (const void ***)&ix);
  if (rc != LP_OK) return rc;
  rc = lp_snapshot_writer_begin_section(sw, PRF_SEC_TAGS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(sw, n);
  for (size_t i = 0; rc == LP_OK && i < n; i++) {
    uint8_t b[PRF_TAGF_BYTES], *p = b + LP_IDGRAPH_HASH_SIZE;
    memcpy(b, ix[i]->hash, LP_IDGRAPH_HASH_SIZE);
    put_u32(&p, ix[i]->tag);
    put_u64(&p, (uint64_t)ix[i]->num);
    put_u64(&p, (uint64_t)ix[i]->set_at);
    put_u64(&p, (uint64_t)ix[i]->expires_at);
    put_u32(&p, (uint32_t)ix[i]->len);
    rc = lp_snapshot_writer_write(sw, b, sizeof b);
    if (rc == LP_OK && ix[i]->len > 0) rc = lp_snapshot_writer_write(sw, ix[i]->str, ix[i]->len);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(sw);
  if (ix != NULL) lp_mem_free_array(&h->mem, ix, n, sizeof *ix);
  return rc;
}

/* The blocklist, kept in canonical order (written only when not empty, so
 * a store without blocks saves the bytes of 1.0). */
static int write_blocks(lp_snapshot_writer *sw, const lp_profiles *h) {
  if (h->blocks.len == 0) return LP_OK;
  int rc = lp_snapshot_writer_begin_section(sw, PRF_SEC_BLOCKS, 0);
  if (rc == LP_OK) rc = lp_snapw_u32(sw, (uint32_t)h->blocks.len);
  for (size_t i = 0; rc == LP_OK && i < h->blocks.len; i++) {
    const prf_block *b = lp_vec_at(&h->blocks, i);
    rc = lp_snapw_u32(sw, b->type);
    if (rc == LP_OK) rc = lp_snapw_u32(sw, (uint32_t)b->len);
    if (rc == LP_OK) rc = lp_snapshot_writer_write(sw, b->value, b->len);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(sw);
  return rc;
}

int lp_profiles_save(const lp_profiles *h, lp_writer w, void *ud) {
  PRF_GUARD(h, "lp_profiles_save");
  if (w == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "save: writer is NULL");
  guarded g = {h, w, ud};
  lp_snapshot_writer *sw;
  int rc = lp_snapshot_writer_create(&h->alloc, guarded_write, &g, LP_PROFILES_SNAPSHOT_KIND, &sw);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "save: out of memory");
  rc = write_opts(sw, h);
  if (rc == LP_OK) rc = write_types(sw, h);
  if (rc == LP_OK) rc = write_blocks(sw, h);
  if (rc == LP_OK) rc = graph_chunks(h, sw);
  if (rc == LP_OK) rc = nested(h, sw, PRF_SEC_TAXONOMY, prf_kind_of(PRF_KIND_TAXONOMY), h->tax);
  if (rc == LP_OK) rc = write_orders(sw, h);
  if (rc == LP_OK) rc = write_tags(sw, h);
  if (rc == LP_OK && h->clv != NULL) rc = nested(h, sw, PRF_SEC_CLV, prf_kind_of(PRF_KIND_CLV), h->clv);
  if (rc == LP_OK && h->km != NULL) rc = nested(h, sw, PRF_SEC_KMEANS, prf_kind_of(PRF_KIND_KMEANS), h->km);
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(sw);
  /* A failure inside the container (the host's writer) is the writer's
   * message; the steps above set their own (memory, nested saves). */
  if (rc != LP_OK && strcmp(lp_snapshot_writer_errmsg(sw), "no error") != 0)
    lp_error_set(LP_ERR_OF_CONST(h), rc, "save: %s", lp_snapshot_writer_errmsg(sw));
  lp_snapshot_writer_free(sw);
  return rc;
}
