/*
 * Audience queries: the compiled query becomes a plan over bitmaps (tags:
 * their bitmaps, minus expired values; value predicates: a column-wise pass
 * over the dense columns), restricted by consent; counts, sorted ids
 * through a cursor, a Roaring export, and explanations.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>

#include "tags/tags_internal.h"

#define GUARD(h, fn)                                                   \
  do {                                                                 \
    if ((h) == NULL) return LP_EINVAL;                                 \
    if ((h)->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), fn); \
  } while (0)

#define MAX_PURPOSES 64

typedef struct qctx {
  const lp_tags *h;
  lp_error *e;
  const tags_prog *p;
  int64_t as_of;
  tags_dense *d;
  lp_bitmap *tmp;   /* owned temporaries */
  size_t ntmp, captmp;
  lp_bitmap empty;
  const char *purposes[MAX_PURPOSES];
  size_t purpose_len[MAX_PURPOSES];
  size_t npurposes;
} qctx;

static lp_bitmap *new_tmp(qctx *c) {
  if (c->ntmp >= c->captmp) return NULL;
  lp_bitmap *b = &c->tmp[c->ntmp++];
  lp_bitmap_init(b);
  return b;
}

static int nomem(qctx *c) { return lp_error_set(c->e, LP_ENOMEM, "audience: out of memory"); }

static bool fresh(const lp_tags *h, int64_t as_of) {
  return h->evaluated && h->eval_gen == h->data_gen && h->eval_as_of == as_of;
}

static int check_fresh(qctx *c, const tags_tag *t) {
  if (t->prog == NULL || fresh(c->h, c->as_of)) return LP_OK;
  return lp_error_set(c->e, LP_EMISUSE,
                      "computed tag \"%s\" is not evaluated for as_of %lld with the current data "
                      "(call lp_tags_evaluate)", tags_str_c(&t->name), (long long)c->as_of);
}

static int add_purpose(qctx *c, const char *s, size_t len) {
  if (len == 0) return LP_OK;
  for (size_t i = 0; i < c->npurposes; i++)
    if (c->purpose_len[i] == len && memcmp(c->purposes[i], s, len) == 0) return LP_OK;
  if (c->npurposes >= MAX_PURPOSES)
    return lp_error_set(c->e, LP_ELIMIT, "audience uses more than %d purposes", MAX_PURPOSES);
  c->purposes[c->npurposes] = s;
  c->purpose_len[c->npurposes++] = len;
  return LP_OK;
}

/* Compile q, check freshness, collect purposes. */
static int setup(qctx *c, const lp_tags *h, const lp_tags_query *q, tags_prog **prog) {
  memset(c, 0, sizeof *c);
  c->h = h;
  c->e = LP_ERR_OF_CONST(h);
  *prog = NULL;
  if (q == NULL || q->struct_size != sizeof(lp_tags_query) || q->reserved != 0)
    return lp_error_set(c->e, LP_EINVAL, "q: NULL, bad struct_size or reserved");
  if (q->text == NULL) return lp_error_set(c->e, LP_EINVAL, "q->text: NULL");
  c->as_of = q->as_of;
  int rc = LP_OK;
  if (q->purpose != NULL && q->purpose[0] != '\0') {
    rc = tags_check_text(c->e, "q->purpose", q->purpose, LP_TAGS_MAX_NAME, true);
    if (rc != LP_OK) return rc;
  }
  rc = tags_compile(h, c->e, q->text, strlen(q->text), TY_BOOL, 0, prog);
  if (rc != LP_OK) return rc;
  c->p = *prog;
  if (q->purpose != NULL) rc = add_purpose(c, q->purpose, strlen(q->purpose));
  for (uint32_t i = 0; rc == LP_OK && i < c->p->n; i++) {
    const tags_node *n = &c->p->nodes[i];
    if (n->op != OP_TAG && n->op != OP_TAGVAL) continue;
    const tags_tag *t = tags_tag_at(h, n->a);
    rc = check_fresh(c, t);
    if (rc == LP_OK) rc = add_purpose(c, t->purpose.p, t->purpose.len);
  }
  for (size_t k = 0; rc == LP_OK && k < c->npurposes; k++)
    for (uint32_t i = 0; rc == LP_OK && i < (uint32_t)h->tags.len; i++) {
      const tags_tag *t = tags_tag_at(h, i);
      if (!t->retired && tags_str_eq(&t->consent_for, c->purposes[k], c->purpose_len[k]))
        rc = check_fresh(c, t);
    }
  size_t granting = 0; /* consent() takes one temporary per granting tag, plus the union */
  for (size_t k = 0; rc == LP_OK && k < c->npurposes; k++) {
    granting++;
    for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++)
      granting += tags_str_eq(&tags_tag_at(h, i)->consent_for, c->purposes[k], c->purpose_len[k]);
  }
  if (rc == LP_OK) {
    c->captmp = 4 * (size_t)c->p->n + granting + 8;
    c->tmp = lp_mem_alloc(&h->mem, c->captmp * sizeof *c->tmp);
    if (c->tmp == NULL) rc = nomem(c);
  }
  lp_bitmap_init(&c->empty);
  return rc;
}

static void teardown(qctx *c, tags_prog *prog) {
  const lp_mem *m = &c->h->mem;
  for (size_t i = 0; i < c->ntmp; i++) lp_bitmap_release(&c->tmp[i], m);
  if (c->tmp != NULL) lp_mem_free(m, c->tmp, c->captmp * sizeof *c->tmp);
  tags_dense_free(c->d);
  tags_prog_free(m, prog);
}

static int plan(qctx *c, uint32_t ni, const lp_bitmap **out);

/* Bitmap of a predicate node through one column-wise pass. */
static int plan_dense(qctx *c, uint32_t ni, const lp_bitmap **out) {
  const lp_mem *m = &c->h->mem;
  int rc = LP_OK;
  if (c->d == NULL) rc = tags_dense_create(c->h, c->e, c->as_of, &c->d);
  if (rc == LP_OK) rc = tags_dense_need(c->d, c->p);
  if (rc != LP_OK) return rc;
  size_t nw = tags_dense_words(c->h);
  uint64_t *w = lp_mem_zalloc(m, nw * sizeof *w);
  lp_bitmap *b = new_tmp(c);
  if (w == NULL || b == NULL) {
    if (w) lp_mem_free(m, w, nw * sizeof *w);
    return nomem(c);
  }
  rc = tags_dense_eval(c->d, c->p, ni, w);
  if (rc == LP_OK && tags_bits_to_bitmap(m, w, nw, b) != LP_OK) rc = nomem(c);
  lp_mem_free(m, w, nw * sizeof *w);
  *out = b;
  return rc;
}

/* Operands of a chain of the same AND/OR operator. */
static void flatten(const tags_prog *p, uint32_t ni, uint8_t op, uint32_t *v, size_t *n) {
  const tags_node *nd = &p->nodes[ni];
  if (nd->op == op) {
    flatten(p, nd->a, op, v, n);
    flatten(p, nd->b, op, v, n);
  } else {
    v[(*n)++] = ni;
  }
}

/* AND of pos[0..np) minus neg[0..nn): the bitmap, or only its size. */
static int and_of(qctx *c, const lp_bitmap **pos, size_t np, const lp_bitmap **neg, size_t nn,
                  uint64_t *count, const lp_bitmap **out) {
  const lp_mem *m = &c->h->mem;
  if (np == 0) pos[np++] = &c->h->live;
  /* smallest first: and_many stops touching containers early */
  for (size_t i = 1; i < np; i++)
    for (size_t j = i; j > 0 && lp_bitmap_cardinality(pos[j]) < lp_bitmap_cardinality(pos[j - 1]); j--) {
      const lp_bitmap *t = pos[j];
      pos[j] = pos[j - 1];
      pos[j - 1] = t;
    }
  if (count != NULL && nn == 0) {
    *count = np == 1 ? lp_bitmap_cardinality(pos[0]) : lp_bitmap_and_many_cardinality(pos, np);
    return LP_OK;
  }
  const lp_bitmap *cur = pos[0];
  if (np > 1) {
    lp_bitmap *b = new_tmp(c);
    if (b == NULL || lp_bitmap_and_many(b, m, pos, np) != LP_OK) return nomem(c);
    cur = b;
  }
  for (size_t i = 0; i < nn; i++) {
    if (count != NULL && i + 1 == nn) {
      *count = lp_bitmap_andnot_cardinality(cur, neg[i]);
      return LP_OK;
    }
    lp_bitmap *b = new_tmp(c);
    if (b == NULL || lp_bitmap_andnot(b, m, cur, neg[i]) != LP_OK) return nomem(c);
    cur = b;
  }
  if (count != NULL) *count = lp_bitmap_cardinality(cur);
  if (out != NULL) *out = cur;
  return LP_OK;
}

/* Gather the AND operands of node ni into pos/neg (planned). */
static int gather_and(qctx *c, uint32_t ni, const lp_bitmap **pos, size_t *np,
                      const lp_bitmap **neg, size_t *nn, uint32_t *scratch) {
  size_t k = 0;
  flatten(c->p, ni, OP_AND, scratch, &k);
  for (size_t i = 0; i < k; i++) {
    const tags_node *nd = &c->p->nodes[scratch[i]];
    const lp_bitmap *b;
    bool negative = nd->op == OP_NOT;
    int rc = plan(c, negative ? nd->a : scratch[i], &b);
    if (rc != LP_OK) return rc;
    if (negative) neg[(*nn)++] = b;
    else pos[(*np)++] = b;
  }
  return LP_OK;
}

static int plan(qctx *c, uint32_t ni, const lp_bitmap **out) {
  const tags_node *nd = &c->p->nodes[ni];
  const lp_mem *m = &c->h->mem;
  switch (nd->op) {
    case OP_TRUE: *out = &c->h->live; return LP_OK;
    case OP_FALSE: *out = &c->empty; return LP_OK;
    case OP_TAG: {
      lp_bitmap *b = new_tmp(c);
      if (b == NULL || tags_live_bitmap(c->h, tags_tag_at(c->h, nd->a), c->as_of, b, out) != LP_OK)
        return nomem(c);
      return LP_OK;
    }
    case OP_NOT: {
      const lp_bitmap *x;
      int rc = plan(c, nd->a, &x);
      if (rc != LP_OK) return rc;
      lp_bitmap *b = new_tmp(c);
      if (b == NULL || lp_bitmap_andnot(b, m, &c->h->live, x) != LP_OK) return nomem(c);
      *out = b;
      return LP_OK;
    }
    case OP_AND:
    case OP_OR: {
      size_t cap = c->p->n;
      uint32_t *scratch = lp_mem_alloc(m, cap * sizeof *scratch);
      const lp_bitmap **pos = lp_mem_alloc(m, cap * sizeof *pos);
      const lp_bitmap **neg = lp_mem_alloc(m, cap * sizeof *neg);
      int rc = scratch && pos && neg ? LP_OK : nomem(c);
      size_t np = 0, nn = 0;
      if (rc == LP_OK && nd->op == OP_AND) {
        rc = gather_and(c, ni, pos, &np, neg, &nn, scratch);
        if (rc == LP_OK) rc = and_of(c, pos, np, neg, nn, NULL, out);
      } else if (rc == LP_OK) {
        size_t k = 0;
        flatten(c->p, ni, OP_OR, scratch, &k);
        for (size_t i = 0; rc == LP_OK && i < k; i++) rc = plan(c, scratch[i], &pos[np++]);
        lp_bitmap *b = rc == LP_OK ? new_tmp(c) : NULL;
        if (rc == LP_OK && (b == NULL || lp_bitmap_or_many(b, m, pos, np) != LP_OK)) rc = nomem(c);
        if (rc == LP_OK) *out = b;
      }
      if (scratch) lp_mem_free(m, scratch, cap * sizeof *scratch);
      if (pos) lp_mem_free(m, pos, cap * sizeof *pos);
      if (neg) lp_mem_free(m, neg, cap * sizeof *neg);
      return rc;
    }
    default: return plan_dense(c, ni, out);
  }
}

/* Consent bitmap of purpose k: any live tag granting it. */
static int consent(qctx *c, size_t k, const lp_bitmap **out) {
  const lp_tags *h = c->h;
  const lp_bitmap *v[LP_TAGS_MAX_TAGS];
  size_t n = 0;
  for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++) {
    const tags_tag *t = tags_tag_at(h, i);
    if (t->retired || !tags_str_eq(&t->consent_for, c->purposes[k], c->purpose_len[k])) continue;
    lp_bitmap *b = new_tmp(c);
    if (b == NULL) return nomem(c); /* cannot happen: setup counted them */
    if (tags_live_bitmap(h, t, c->as_of, b, &v[n]) != LP_OK) return nomem(c);
    n++;
  }
  if (n == 0) {
    *out = &c->empty;
    return LP_OK;
  }
  if (n == 1) {
    *out = v[0];
    return LP_OK;
  }
  lp_bitmap *b = new_tmp(c);
  if (b == NULL || lp_bitmap_or_many(b, &h->mem, v, n) != LP_OK) return nomem(c);
  *out = b;
  return LP_OK;
}

/* The whole audience: root AND every consent. */
static int run(qctx *c, uint64_t *count, const lp_bitmap **out) {
  const lp_mem *m = &c->h->mem;
  size_t cap = c->p->n + c->npurposes + 1;
  uint32_t *scratch = lp_mem_alloc(m, c->p->n * sizeof *scratch);
  const lp_bitmap **pos = lp_mem_alloc(m, cap * sizeof *pos);
  const lp_bitmap **neg = lp_mem_alloc(m, cap * sizeof *neg);
  int rc = scratch && pos && neg ? LP_OK : nomem(c);
  size_t np = 0, nn = 0;
  if (rc == LP_OK) rc = gather_and(c, c->p->root, pos, &np, neg, &nn, scratch);
  for (size_t k = 0; rc == LP_OK && k < c->npurposes; k++) rc = consent(c, k, &pos[np++]);
  if (rc == LP_OK) rc = and_of(c, pos, np, neg, nn, count, out);
  if (scratch) lp_mem_free(m, scratch, c->p->n * sizeof *scratch);
  if (pos) lp_mem_free(m, pos, cap * sizeof *pos);
  if (neg) lp_mem_free(m, neg, cap * sizeof *neg);
  return rc;
}

static int threshold(const qctx *c, uint64_t n) {
  if (c->h->min_audience > 0 && n < (uint64_t)c->h->min_audience)
    return lp_error_set(c->e, LP_ERANGE,
                        "audience refused: fewer than the minimum size of %lld profiles "
                        "(privacy threshold; no count is given)", (long long)c->h->min_audience);
  return LP_OK;
}

int lp_tags_count(const lp_tags *h, const lp_tags_query *q, uint64_t *count) {
  GUARD(h, "lp_tags_count");
  if (count == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "count: NULL");
  qctx c;
  tags_prog *prog;
  uint64_t n = 0;
  int rc = setup(&c, h, q, &prog);
  if (rc == LP_OK) rc = run(&c, &n, NULL);
  if (rc == LP_OK) rc = threshold(&c, n);
  if (rc == LP_OK) *count = n;
  teardown(&c, prog);
  return rc;
}

/* ---- sorted ids ---- */

static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n, uint32_t *cnt) {
  for (unsigned pass = 0; pass < 4; pass++) {
    unsigned shift = 16 * pass;
    memset(cnt, 0, 65536 * sizeof *cnt);
    for (size_t i = 0; i < n; i++) cnt[(a[i] >> shift) & 0xffff]++;
    uint32_t sum = 0;
    for (size_t b = 0; b < 65536; b++) {
      uint32_t x = cnt[b];
      cnt[b] = sum;
      sum += x;
    }
    for (size_t i = 0; i < n; i++) tmp[cnt[(a[i] >> shift) & 0xffff]++] = a[i];
    memcpy(a, tmp, n * sizeof *a);
  }
}

int lp_tags_audience_create(const lp_tags *h, const lp_tags_query *q, lp_tags_audience **out) {
  GUARD(h, "lp_tags_audience_create");
  if (out == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "out: NULL");
  *out = NULL;
  qctx c;
  tags_prog *prog;
  const lp_bitmap *res = NULL;
  int rc = setup(&c, h, q, &prog);
  if (rc == LP_OK) rc = run(&c, NULL, &res);
  uint64_t n = rc == LP_OK ? lp_bitmap_cardinality(res) : 0;
  if (rc == LP_OK) rc = threshold(&c, n);
  lp_tags_audience *a = NULL;
  lp_allocator al;
  lp_mem_allocator(&h->mem, &al);
  if (rc == LP_OK && lp_mem_new_handle(&al, sizeof *a, (void **)&a) != LP_OK) rc = nomem(&c);
  if (rc == LP_OK && n > 0) {
    uint64_t *tmp = NULL;
    uint32_t *cnt = NULL;
    if (lp_mem_alloc_array(&h->mem, (size_t)n, sizeof *a->ids, (void **)&a->ids) != LP_OK ||
        (n > 64 && (lp_mem_alloc_array(&h->mem, (size_t)n, sizeof *tmp, (void **)&tmp) != LP_OK ||
                    lp_mem_alloc_array(&h->mem, 65536, sizeof *cnt, (void **)&cnt) != LP_OK))) {
      rc = nomem(&c);
    } else {
      lp_bitmap_iter it;
      uint32_t buf[256];
      size_t got, k = 0;
      lp_bitmap_iter_init(&it, res, 0);
      while ((got = lp_bitmap_iter_next(&it, buf, LP_ARRAY_LEN(buf))) > 0)
        for (size_t i = 0; i < got; i++) a->ids[k++] = tags_id_of(h, buf[i]);
      a->n = (size_t)n;
      if (n > 64) {
        radix_sort(a->ids, tmp, a->n, cnt);
      } else {
        for (size_t i = 1; i < a->n; i++)
          for (size_t j = i; j > 0 && a->ids[j] < a->ids[j - 1]; j--) {
            uint64_t t = a->ids[j];
            a->ids[j] = a->ids[j - 1];
            a->ids[j - 1] = t;
          }
      }
    }
    if (tmp) lp_mem_free_array(&h->mem, tmp, (size_t)n, sizeof *tmp);
    if (cnt) lp_mem_free_array(&h->mem, cnt, 65536, sizeof *cnt);
  }
  teardown(&c, prog);
  if (rc != LP_OK) {
    if (a != NULL && rc != LP_OK) {
      if (a->ids != NULL) lp_mem_free_array(&a->mem, a->ids, (size_t)n, sizeof *a->ids);
      a->n = 0;
      a->ids = NULL;
      lp_tags_audience_free(a);
    }
    return rc;
  }
  *out = a;
  return LP_OK;
}

void lp_tags_audience_free(lp_tags_audience *a) {
  if (a == NULL) return;
  if (a->ids != NULL) lp_mem_free_array(&a->mem, a->ids, a->n, sizeof *a->ids);
  lp_mem_free_handle(a, sizeof *a);
}

const char *lp_tags_audience_errmsg(const lp_tags_audience *a) {
  return a == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&a->err);
}

uint64_t lp_tags_audience_size(const lp_tags_audience *a) { return a == NULL ? 0 : a->n; }

int lp_tags_audience_next(lp_tags_audience *a, uint64_t *ids, size_t capacity, size_t *got) {
  if (a == NULL) return LP_EINVAL;
  if (a->busy) return lp_error_reentered(&a->err, "lp_tags_audience_next");
  if (got == NULL || (ids == NULL && capacity > 0))
    return lp_error_set(&a->err, LP_EINVAL, "got NULL, or ids NULL with capacity > 0");
  size_t k = a->n - a->pos < capacity ? a->n - a->pos : capacity;
  if (k > 0) memcpy(ids, a->ids + a->pos, k * sizeof *ids);
  a->pos += k;
  *got = k;
  return LP_OK;
}

int lp_tags_audience_rewind(lp_tags_audience *a) {
  if (a == NULL) return LP_EINVAL;
  if (a->busy) return lp_error_reentered(&a->err, "lp_tags_audience_rewind");
  a->pos = 0;
  return LP_OK;
}

static int emit(lp_tags_audience *a, lp_writer write, void *ud, const void *buf, size_t len) {
  a->busy = 1;
  int r = write(ud, buf, len);
  a->busy = 0;
  return r == 0 ? LP_OK : lp_error_set(&a->err, LP_EIO, "export: the writer failed (%d)", r);
}

int lp_tags_audience_export(lp_tags_audience *a, lp_writer write, void *ud) {
  if (a == NULL) return LP_EINVAL;
  if (a->busy) return lp_error_reentered(&a->err, "lp_tags_audience_export");
  if (write == NULL) return lp_error_set(&a->err, LP_EINVAL, "write: NULL");
  uint64_t buckets = 0;
  for (size_t i = 0; i < a->n; i++)
    if (i == 0 || (a->ids[i] >> 32) != (a->ids[i - 1] >> 32)) buckets++;
  uint8_t head[8];
  lp_put_u64le(head, buckets);
  int rc = emit(a, write, ud, head, sizeof head);
  uint32_t *low = NULL;
  size_t lowcap = 0;
  for (size_t i = 0; rc == LP_OK && i < a->n;) {
    size_t j = i;
    while (j < a->n && (a->ids[j] >> 32) == (a->ids[i] >> 32)) j++;
    if (j - i > lowcap) {
      if (low != NULL) lp_mem_free_array(&a->mem, low, lowcap, sizeof *low);
      low = NULL;
      lowcap = j - i;
      if (lp_mem_alloc_array(&a->mem, lowcap, sizeof *low, (void **)&low) != LP_OK) {
        lowcap = 0;
        rc = lp_error_set(&a->err, LP_ENOMEM, "export: out of memory");
        break;
      }
    }
    for (size_t k = i; k < j; k++) low[k - i] = (uint32_t)a->ids[k];
    lp_bitmap b;
    lp_bitmap_init(&b);
    uint8_t key[4];
    lp_put_u32le(key, (uint32_t)(a->ids[i] >> 32));
    rc = lp_bitmap_add_many(&b, &a->mem, low, j - i);
    if (rc == LP_OK) rc = lp_bitmap_run_optimize(&b, &a->mem);
    size_t sz = rc == LP_OK ? lp_bitmap_portable_size(&b) : 0;
    uint8_t *ser = rc == LP_OK ? lp_mem_alloc(&a->mem, sz) : NULL;
    if (rc != LP_OK || ser == NULL) {
      rc = lp_error_set(&a->err, LP_ENOMEM, "export: out of memory");
    } else {
      lp_bitmap_portable_serialize(&b, ser);
      rc = emit(a, write, ud, key, sizeof key);
      if (rc == LP_OK) rc = emit(a, write, ud, ser, sz);
    }
    if (ser != NULL) lp_mem_free(&a->mem, ser, sz);
    lp_bitmap_release(&b, &a->mem);
    i = j;
  }
  if (low != NULL) lp_mem_free_array(&a->mem, low, lowcap, sizeof *low);
  return rc;
}

/* ---- explain ---- */

typedef struct tbuf {
  const lp_mem *m;
  char *p;
  size_t len, cap;
  bool oom;
} tbuf;

static void tput(tbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + n + 1) nc *= 2;
    char *q = lp_mem_realloc(b->m, b->p, b->cap, nc);
    if (q == NULL) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = nc;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void tprintf(tbuf *b, const char *fmt, ...) LP_PRINTF(2, 3);
static void tprintf(tbuf *b, const char *fmt, ...) {
  char tmp[600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) tput(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_expiry(tbuf *b, int64_t e) {
  if (e == LP_TAGS_NEVER) tprintf(b, "never expires");
  else tprintf(b, "expires_at %lld", (long long)e);
}

static void put_value(tbuf *b, const lp_tags *h, const tags_prog *p, const tags_node *n, uint32_t ord,
                      int64_t as_of) {
  char name[300];
  tags_node_text(h, p, (uint32_t)(n - p->nodes), name, sizeof name);
  if (n->op == OP_ATTR) {
    const tags_attr *a = tags_attr_at(h, n->a);
    int64_t v = ord < a->cap ? a->col[ord] : TAGS_MISSING;
    if (v == TAGS_MISSING) {
      tprintf(b, "; %s is missing", name);
    } else if (a->type == LP_TAGS_STRING) {
      size_t len = 0;
      const char *s = lp_strpool_get(&a->strs, (uint32_t)v, &len);
      tprintf(b, "; %s = \"%.*s\"", name, (int)(len > 200 ? 200 : len), s);
    } else {
      char num[64];
      tags_node tmp = *n;
      tmp.op = OP_NUM;
      tmp.k = v;
      tags_prog fake = *p;
      fake.nodes = &tmp;
      tags_node_text(h, &fake, 0, num, sizeof num);
      tprintf(b, "; %s = %s", name, num);
    }
  } else if (n->op == OP_TAGVAL) {
    const tags_tag *t = tags_tag_at(h, n->a);
    if (!lp_bitmap_contains(&t->has, ord)) {
      tprintf(b, "; %s has no value", name);
      return;
    }
    const tags_rec *r = tags_rec_of(t, ord);
    if (r == NULL) return;
    if (t->type == LP_TAGS_STRING) {
      size_t len = 0;
      const char *s = lp_strpool_get(&t->strs, (uint32_t)r->num, &len);
      tprintf(b, "; %s = \"%.*s\"", name, (int)(len > 200 ? 200 : len), s);
    } else {
      char num[64];
      tags_node tmp = *n;
      tmp.op = OP_NUM;
      tmp.k = r->num;
      tmp.scale = t->scale;
      tags_prog fake = *p;
      fake.nodes = &tmp;
      tags_node_text(h, &fake, 0, num, sizeof num);
      tprintf(b, "; %s = %s", name, num);
    }
    tprintf(b, " (");
    put_expiry(b, r->expires_at);
    tprintf(b, "%s)", as_of < r->expires_at ? "" : ", expired");
  }
}

static void explain_node(tbuf *b, const lp_tags *h, const tags_prog *p, uint32_t ni, uint32_t ord,
                         int64_t as_of) {
  const tags_node *n = &p->nodes[ni];
  if (n->op == OP_AND || n->op == OP_OR) {
    explain_node(b, h, p, n->a, ord, as_of);
    explain_node(b, h, p, n->b, ord, as_of);
    return;
  }
  if (n->op == OP_NOT) {
    explain_node(b, h, p, n->a, ord, as_of);
    return;
  }
  char text[300];
  tags_node_text(h, p, ni, text, sizeof text);
  bool v = tags_scalar_bool(h, p, ni, ord, as_of);
  tprintf(b, "  %s: %s", text, v ? "true" : "false");
  if (n->op == OP_TAG) {
    const tags_tag *t = tags_tag_at(h, n->a);
    const tags_rec *r = NULL;
    if (!lp_bitmap_contains(&t->has, ord)) {
      tprintf(b, "; no value");
    } else {
      r = tags_rec_of(t, ord);
      tprintf(b, "; value ");
      if (r == NULL) tprintf(b, "never expires");
      else put_expiry(b, r->expires_at);
      if (r != NULL && !(as_of < r->expires_at)) tprintf(b, " (expired at as_of %lld)", (long long)as_of);
    }
    if (t->prog != NULL) tprintf(b, "; computed by rule: %s", tags_str_c(&t->rule_text));
  } else if (n->op == OP_CMP) {
    put_value(b, h, p, &p->nodes[n->a], ord, as_of);
    put_value(b, h, p, &p->nodes[n->b], ord, as_of);
  } else if (n->op == OP_IN) {
    put_value(b, h, p, &p->nodes[n->a], ord, as_of);
  }
  tprintf(b, "\n");
}

int lp_tags_explain(const lp_tags *h, const lp_tags_query *q, uint64_t profile_id, int32_t *member,
                    char *out, size_t capacity, size_t *needed) {
  GUARD(h, "lp_tags_explain");
  lp_error *e = LP_ERR_OF_CONST(h);
  if (member == NULL || needed == NULL) return lp_error_set(e, LP_EINVAL, "member/needed: NULL");
  if (out == NULL && capacity > 0) return lp_error_set(e, LP_EINVAL, "out: NULL with capacity > 0");
  qctx c;
  tags_prog *prog;
  int rc = setup(&c, h, q, &prog);
  uint32_t ord = 0;
  if (rc == LP_OK && !tags_find_ord(h, profile_id, &ord))
    rc = lp_error_set(e, LP_ENOTFOUND, "profile %llu: unknown", (unsigned long long)profile_id);
  tbuf b = {&h->mem, NULL, 0, 0, false};
  bool in = false;
  if (rc == LP_OK) {
    bool q_ok = tags_scalar_bool(h, prog, prog->root, ord, c.as_of);
    in = q_ok;
    tprintf(&b, "query: %s\n", q_ok ? "true" : "false");
    explain_node(&b, h, prog, prog->root, ord, c.as_of);
    for (size_t k = 0; k < c.npurposes; k++) {
      const char *by = NULL;
      const tags_rec *r = NULL;
      for (uint32_t i = 0; i < (uint32_t)h->tags.len && by == NULL; i++) {
        const tags_tag *t = tags_tag_at(h, i);
        if (!t->retired && tags_str_eq(&t->consent_for, c.purposes[k], c.purpose_len[k]) &&
            tags_live(t, ord, c.as_of, &r))
          by = tags_str_c(&t->name);
      }
      tprintf(&b, "consent \"%.*s\": ", (int)c.purpose_len[k], c.purposes[k]);
      if (by != NULL) {
        tprintf(&b, "granted by %s (", by);
        put_expiry(&b, r != NULL ? r->expires_at : LP_TAGS_NEVER);
        tprintf(&b, ")\n");
      } else {
        tprintf(&b, "not granted (no live consent tag)\n");
        in = false;
      }
    }
    tprintf(&b, "profile %llu is %sin the audience\n", (unsigned long long)profile_id, in ? "" : "not ");
    if (b.oom) rc = nomem(&c);
  }
  if (rc == LP_OK) {
    *needed = b.len + 1;
    *member = in ? 1 : 0;
    if (out == NULL && capacity == 0) {
      /* size query */
    } else if (capacity < b.len + 1) {
      rc = lp_error_set(e, LP_EBUFSIZE, "explanation needs %zu bytes, capacity %zu", b.len + 1, capacity);
    } else {
      memcpy(out, b.p, b.len + 1);
    }
  }
  if (b.p != NULL) lp_mem_free(&h->mem, b.p, b.cap);
  teardown(&c, prog);
  return rc;
}
