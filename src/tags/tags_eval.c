/*
 * Evaluation of compiled rules: column-wise over blocks of 1024 ordinals
 * (bit masks for conditions, int64 columns for values), and one profile at
 * a time for explanations. Nothing is allocated inside the block loop: the
 * dense columns and the scratch are prepared before it starts.
 * SPDX-License-Identifier: MIT
 */
#include "tags/tags_internal.h"

struct tags_dense {
  const lp_tags *h;
  lp_error *e;
  int64_t as_of;
  size_t nwords;     /* words per dense bitset: whole blocks */
  size_t nvals;      /* nwords * 64 */
  uint64_t **bits;   /* per tag: live bits, or NULL */
  int64_t **vals;    /* per tag: live values (TAGS_MISSING), or NULL */
  uint64_t *universe;
};

/* Per-node constants of one evaluation. */
enum { K_NONE = 0, K_ALL, K_PRESENT, K_CMP, K_COLCOL, K_IN };
typedef struct prep {
  uint8_t kind, op, neg, pad;
  uint32_t nlist;
  int64_t k;
  int64_t *list; /* K_IN: normalized literals */
} prep;

typedef struct evrun {
  const tags_dense *d;
  const tags_prog *p;
  prep *pr;
  int64_t *inlits;   /* backing of the K_IN lists */
  uint64_t *masks;   /* depth * TAGS_BLOCK_WORDS */
  int64_t *vbuf;     /* 2 * depth * TAGS_BLOCK */
  uint32_t depth;
} evrun;

size_t tags_dense_words(const lp_tags *h) {
  size_t blocks = ((size_t)tags_n_ord(h) + TAGS_BLOCK - 1) / TAGS_BLOCK;
  return (blocks == 0 ? 1 : blocks) * TAGS_BLOCK_WORDS;
}

int tags_dense_create(const lp_tags *h, lp_error *e, int64_t as_of, tags_dense **out) {
  const lp_mem *m = &h->mem;
  *out = NULL;
  tags_dense *d = lp_mem_zalloc(m, sizeof *d);
  if (d == NULL) return lp_error_set(e, LP_ENOMEM, "out of memory");
  d->h = h;
  d->e = e;
  d->as_of = as_of;
  d->nwords = tags_dense_words(h);
  d->nvals = d->nwords * 64;
  size_t nt = h->tags.len ? h->tags.len : 1;
  d->bits = lp_mem_zalloc(m, nt * sizeof *d->bits);
  d->vals = lp_mem_zalloc(m, nt * sizeof *d->vals);
  d->universe = lp_mem_zalloc(m, d->nwords * sizeof(uint64_t));
  if (d->bits == NULL || d->vals == NULL || d->universe == NULL) {
    tags_dense_free(d);
    return lp_error_set(e, LP_ENOMEM, "out of memory");
  }
  lp_bitmap_iter it;
  uint32_t buf[256];
  size_t got;
  lp_bitmap_iter_init(&it, &h->live, 0);
  while ((got = lp_bitmap_iter_next(&it, buf, LP_ARRAY_LEN(buf))) > 0)
    for (size_t i = 0; i < got; i++) d->universe[buf[i] >> 6] |= UINT64_C(1) << (buf[i] & 63);
  *out = d;
  return LP_OK;
}

void tags_dense_free(tags_dense *d) {
  if (d == NULL) return;
  const lp_mem *m = &d->h->mem;
  size_t nt = d->h->tags.len ? d->h->tags.len : 1;
  for (size_t i = 0; i < nt && d->bits != NULL; i++)
    if (d->bits[i] != NULL) lp_mem_free(m, d->bits[i], d->nwords * sizeof(uint64_t));
  for (size_t i = 0; i < nt && d->vals != NULL; i++)
    if (d->vals[i] != NULL) lp_mem_free(m, d->vals[i], d->nvals * sizeof(int64_t));
  if (d->bits != NULL) lp_mem_free(m, d->bits, nt * sizeof *d->bits);
  if (d->vals != NULL) lp_mem_free(m, d->vals, nt * sizeof *d->vals);
  if (d->universe != NULL) lp_mem_free(m, d->universe, d->nwords * sizeof(uint64_t));
  lp_mem_free(m, d, sizeof *d);
}

/* Materialise the live bits / values of stored tag t. */
static int need_bits(tags_dense *d, uint32_t t) {
  if (d->bits[t] != NULL) return LP_OK;
  const tags_tag *tg = tags_tag_at(d->h, t);
  uint64_t *w = lp_mem_zalloc(&d->h->mem, d->nwords * sizeof *w);
  if (w == NULL) return lp_error_set(d->e, LP_ENOMEM, "out of memory");
  lp_bitmap_iter it;
  uint32_t buf[256];
  size_t got;
  lp_bitmap_iter_init(&it, &tg->has, 0);
  while ((got = lp_bitmap_iter_next(&it, buf, LP_ARRAY_LEN(buf))) > 0)
    for (size_t i = 0; i < got; i++) w[buf[i] >> 6] |= UINT64_C(1) << (buf[i] & 63);
  if (tg->n_expiring > 0) {
    const tags_rec *r = (const tags_rec *)tg->recs.data;
    for (size_t i = 0; i < tg->recs.len; i++)
      if (!(d->as_of < r[i].expires_at)) w[r[i].ord >> 6] &= ~(UINT64_C(1) << (r[i].ord & 63));
  }
  d->bits[t] = w;
  return LP_OK;
}

static int need_vals(tags_dense *d, uint32_t t) {
  if (d->vals[t] != NULL) return LP_OK;
  const tags_tag *tg = tags_tag_at(d->h, t);
  int64_t *v;
  int rc = lp_mem_alloc_array(&d->h->mem, d->nvals, sizeof *v, (void **)&v);
  if (rc != LP_OK) return lp_error_set(d->e, rc, "out of memory");
  for (size_t i = 0; i < d->nvals; i++) v[i] = TAGS_MISSING;
  const tags_rec *r = (const tags_rec *)tg->recs.data;
  for (size_t i = 0; i < tg->recs.len; i++)
    if (d->as_of < r[i].expires_at) v[r[i].ord] = r[i].num;
  d->vals[t] = v;
  return LP_OK;
}

int tags_dense_need(tags_dense *d, const tags_prog *p) {
  for (uint32_t i = 0; i < p->n; i++) {
    const tags_node *n = &p->nodes[i];
    int rc = LP_OK;
    if (n->op == OP_TAG) rc = need_bits(d, n->a);
    else if (n->op == OP_TAGVAL) rc = need_vals(d, n->a);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}

/* ---- preparing comparisons ---- */

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && a < 0) q--;
  return q;
}

/* String pool of a column node. */
static const lp_strpool *pool_of(const lp_tags *h, const tags_node *n) {
  return n->op == OP_ATTR ? &tags_attr_at(h, n->a)->strs : &tags_tag_at(h, n->a)->strs;
}

/* col (scale s) OP literal c (scale sc): normalise into pr. */
static void norm_num(prep *pr, uint8_t op, int64_t c, uint32_t sc, uint32_t s) {
  pr->kind = K_CMP;
  if (sc <= s) {
    int64_t m;
    if (lp_i64_mul_overflow(c, tags_pow10(s - sc), &m) || m == TAGS_MISSING) {
      bool below = c > 0; /* every value is below c */
      bool t = below ? (op == CMP_LT || op == CMP_LE || op == CMP_NE)
                     : (op == CMP_GT || op == CMP_GE || op == CMP_NE);
      pr->kind = t ? K_PRESENT : K_NONE;
      return;
    }
    pr->op = op;
    pr->k = m;
    return;
  }
  int64_t q = tags_pow10(sc - s), fl = floor_div(c, q);
  bool exact = c % q == 0;
  int64_t ce = exact ? fl : fl + 1;
  switch (op) {
    case CMP_LT: pr->op = CMP_LT; pr->k = ce; break;
    case CMP_LE: pr->op = CMP_LE; pr->k = fl; break;
    case CMP_GT: pr->op = CMP_GT; pr->k = fl; break;
    case CMP_GE: pr->op = CMP_GE; pr->k = ce; break;
    case CMP_EQ:
      if (!exact) pr->kind = K_NONE;
      pr->op = CMP_EQ;
      pr->k = fl;
      break;
    default:
      if (!exact) pr->kind = K_PRESENT;
      pr->op = CMP_NE;
      pr->k = fl;
      break;
  }
}

static void const_of(const tags_dense *d, const tags_node *n, int64_t *v, uint32_t *s) {
  *v = n->op == OP_ASOF ? d->as_of : n->k;
  *s = n->op == OP_ASOF ? 0 : n->scale;
}

static void prepare(evrun *r) {
  const tags_prog *p = r->p;
  const lp_tags *h = r->d->h;
  size_t li = 0;
  for (uint32_t i = 0; i < p->n; i++) {
    const tags_node *n = &p->nodes[i];
    prep *pr = &r->pr[i];
    memset(pr, 0, sizeof *pr);
    if (n->op == OP_CMP) {
      const tags_node *a = &p->nodes[n->a], *b = &p->nodes[n->b];
      bool ca = a->op == OP_ATTR || a->op == OP_TAGVAL, cb = b->op == OP_ATTR || b->op == OP_TAGVAL;
      uint8_t op = n->cmp;
      if (ca && cb) {
        pr->kind = K_COLCOL;
        pr->op = op;
        continue;
      }
      if (!ca && !cb) { /* as_of against a literal */
        int64_t x, y;
        uint32_t sx, sy;
        const_of(r->d, a, &x, &sx);
        const_of(r->d, b, &y, &sy);
        pr->kind = tags_cmp_holds(tags_cmp_scaled(x, sx, y, sy), op) ? K_ALL : K_NONE;
        continue;
      }
      const tags_node *col = ca ? a : b, *k = ca ? b : a;
      if (!ca) op = tags_cmp_flip(op);
      if (col->type == TY_STR) {
        uint32_t id;
        if (lp_strpool_find(pool_of(h, col), p->strs + k->k, k->len, &id)) {
          pr->kind = K_CMP;
          pr->op = op;
          pr->k = id;
        } else {
          pr->kind = op == CMP_EQ ? K_NONE : K_PRESENT;
        }
        continue;
      }
      int64_t c;
      uint32_t sc;
      const_of(r->d, k, &c, &sc);
      norm_num(pr, op, c, sc, col->type == TY_NUM ? col->scale : 0);
    } else if (n->op == OP_IN) {
      const tags_node *col = &p->nodes[n->a];
      pr->kind = K_IN;
      pr->neg = n->cmp;
      pr->list = r->inlits + li;
      for (uint32_t j = 0; j < n->b; j++) {
        const tags_lit *l = &p->list[n->k + j];
        if (col->type == TY_STR) {
          uint32_t id;
          if (lp_strpool_find(pool_of(h, col), p->strs + l->num, l->len, &id)) pr->list[pr->nlist++] = id;
          continue;
        }
        prep tmp;
        norm_num(&tmp, CMP_EQ, l->num, l->scale, col->type == TY_NUM ? col->scale : 0);
        if (tmp.kind == K_CMP) pr->list[pr->nlist++] = tmp.k;
      }
      li += pr->nlist;
    }
  }
}

/* ---- block kernels ---- */

#define KLOOP(COND)                                         \
  for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) {         \
    const int64_t *y = x + 64 * w;                          \
    uint64_t m = 0;                                         \
    for (unsigned j = 0; j < 64; j++) {                     \
      int64_t v = y[j];                                     \
      m |= (uint64_t)(COND) << j;                           \
    }                                                       \
    out[w] = m;                                             \
  }

static void k_cmp(const int64_t *x, uint8_t op, int64_t k, uint64_t *out) {
  switch (op) {
    case CMP_EQ: KLOOP(v == k) break;
    case CMP_NE: KLOOP(v != TAGS_MISSING && v != k) break;
    case CMP_LT: KLOOP(v != TAGS_MISSING && v < k) break;
    case CMP_LE: KLOOP(v != TAGS_MISSING && v <= k) break;
    case CMP_GT: KLOOP(v > k) break;
    default: KLOOP(v >= k) break;
  }
}

static void k_present(const int64_t *x, uint64_t *out) { KLOOP(v != TAGS_MISSING) }

/* Values of a column node for the block starting at ordinal o. */
static const int64_t *column(const evrun *r, const tags_node *n, uint32_t o, int64_t *buf) {
  if (n->op == OP_TAGVAL) return r->d->vals[n->a] + o;
  const tags_attr *a = tags_attr_at(r->d->h, n->a);
  if ((size_t)o + TAGS_BLOCK <= a->cap) return a->col + o;
  for (uint32_t i = 0; i < TAGS_BLOCK; i++) buf[i] = (size_t)o + i < a->cap ? a->col[o + i] : TAGS_MISSING;
  return buf;
}

static uint32_t col_scale(const tags_node *n) { return n->type == TY_NUM ? n->scale : 0; }

static void eval_block(const evrun *r, uint32_t ni, uint32_t level, uint32_t o, uint64_t *out) {
  const tags_node *n = &r->p->nodes[ni];
  const prep *pr = &r->pr[ni];
  switch (n->op) {
    case OP_TRUE:
      for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) out[w] = ~UINT64_C(0);
      return;
    case OP_FALSE:
      memset(out, 0, TAGS_BLOCK_WORDS * sizeof *out);
      return;
    case OP_TAG:
      memcpy(out, r->d->bits[n->a] + o / 64, TAGS_BLOCK_WORDS * sizeof *out);
      return;
    case OP_NOT:
      eval_block(r, n->a, level, o, out);
      for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) out[w] = ~out[w];
      return;
    case OP_AND:
    case OP_OR: {
      uint64_t *tmp = r->masks + (size_t)(level + 1) * TAGS_BLOCK_WORDS;
      eval_block(r, n->a, level, o, out);
      eval_block(r, n->b, level + 1, o, tmp);
      if (n->op == OP_AND)
        for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) out[w] &= tmp[w];
      else
        for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) out[w] |= tmp[w];
      return;
    }
    default: break;
  }
  int64_t *b0 = r->vbuf + (size_t)(2 * level) * TAGS_BLOCK, *b1 = b0 + TAGS_BLOCK;
  if (pr->kind == K_NONE || pr->kind == K_ALL) {
    uint64_t fill = pr->kind == K_ALL ? ~UINT64_C(0) : 0;
    for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) out[w] = fill;
    return;
  }
  if (n->op == OP_IN) {
    const int64_t *x = column(r, &r->p->nodes[n->a], o, b0);
    const int64_t *L = pr->list;
    uint32_t nl = pr->nlist;
    bool neg = pr->neg != 0;
    for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) {
      uint64_t m = 0;
      for (unsigned j = 0; j < 64; j++) {
        int64_t v = x[64 * w + j];
        bool hit = false;
        for (uint32_t q = 0; q < nl; q++) hit |= v == L[q];
        m |= (uint64_t)(v != TAGS_MISSING && hit != neg) << j;
      }
      out[w] = m;
    }
    return;
  }
  /* OP_CMP */
  const tags_node *a = &r->p->nodes[n->a], *b = &r->p->nodes[n->b];
  if (pr->kind == K_COLCOL) {
    const int64_t *x = column(r, a, o, b0), *y = column(r, b, o, b1);
    uint32_t sa = col_scale(a), sb = col_scale(b);
    for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) {
      uint64_t m = 0;
      for (unsigned j = 0; j < 64; j++) {
        int64_t u = x[64 * w + j], v = y[64 * w + j];
        bool ok = u != TAGS_MISSING && v != TAGS_MISSING &&
                  tags_cmp_holds(sa == sb ? (u > v) - (u < v) : tags_cmp_scaled(u, sa, v, sb), pr->op);
        m |= (uint64_t)ok << j;
      }
      out[w] = m;
    }
    return;
  }
  const tags_node *col = (a->op == OP_ATTR || a->op == OP_TAGVAL) ? a : b;
  const int64_t *x = column(r, col, o, b0);
  if (pr->kind == K_PRESENT) k_present(x, out);
  else k_cmp(x, pr->op, pr->k, out);
}

static int run_create(const tags_dense *d, const tags_prog *p, evrun *r) {
  const lp_mem *m = &d->h->mem;
  memset(r, 0, sizeof *r);
  r->d = d;
  r->p = p;
  r->depth = p->depth + 1;
  r->pr = lp_mem_alloc(m, p->n * sizeof *r->pr);
  r->inlits = lp_mem_alloc(m, (p->nlist + 1) * sizeof *r->inlits);
  r->masks = lp_mem_alloc(m, (size_t)(r->depth + 1) * TAGS_BLOCK_WORDS * sizeof *r->masks);
  r->vbuf = lp_mem_alloc(m, (size_t)(2 * r->depth + 2) * TAGS_BLOCK * sizeof *r->vbuf);
  if (r->pr == NULL || r->inlits == NULL || r->masks == NULL || r->vbuf == NULL) return LP_ENOMEM;
  prepare(r);
  return LP_OK;
}

static void run_free(evrun *r) {
  const lp_mem *m = &r->d->h->mem;
  if (r->pr) lp_mem_free(m, r->pr, r->p->n * sizeof *r->pr);
  if (r->inlits) lp_mem_free(m, r->inlits, (r->p->nlist + 1) * sizeof *r->inlits);
  if (r->masks) lp_mem_free(m, r->masks, (size_t)(r->depth + 1) * TAGS_BLOCK_WORDS * sizeof *r->masks);
  if (r->vbuf) lp_mem_free(m, r->vbuf, (size_t)(2 * r->depth + 2) * TAGS_BLOCK * sizeof *r->vbuf);
}

int tags_dense_eval(tags_dense *d, const tags_prog *p, uint32_t node, uint64_t *words) {
  evrun r;
  int rc = run_create(d, p, &r);
  if (rc == LP_OK)
    for (size_t o = 0; o < d->nvals; o += TAGS_BLOCK) {
      uint64_t *out = words + o / 64;
      eval_block(&r, node, 0, (uint32_t)o, out);
      for (unsigned w = 0; w < TAGS_BLOCK_WORDS; w++) out[w] &= d->universe[o / 64 + w];
    }
  run_free(&r);
  if (rc != LP_OK) return lp_error_set(d->e, rc, "out of memory");
  return LP_OK;
}

/* Values of a value-typed root, rescaled to `scale`, into vals. */
static int dense_values(tags_dense *d, const tags_prog *p, uint32_t scale, int64_t *vals) {
  const tags_node *n = &p->nodes[p->root];
  int64_t *buf = lp_mem_alloc(&d->h->mem, TAGS_BLOCK * sizeof *buf);
  if (buf == NULL) return lp_error_set(d->e, LP_ENOMEM, "out of memory");
  evrun r;
  memset(&r, 0, sizeof r);
  r.d = d;
  r.p = p;
  int64_t mul = tags_pow10(scale - col_scale(n));
  for (size_t o = 0; o < d->nvals; o += TAGS_BLOCK) {
    const int64_t *x;
    int64_t cv = 0;
    bool is_const = n->op != OP_ATTR && n->op != OP_TAGVAL;
    if (is_const) cv = n->op == OP_ASOF ? d->as_of : n->k;
    else x = column(&r, n, (uint32_t)o, buf);
    for (uint32_t i = 0; i < TAGS_BLOCK; i++) {
      int64_t v = is_const ? cv : x[i], s;
      size_t ord = o + i;
      bool live = (d->universe[ord / 64] >> (ord % 64)) & 1;
      if (!live || v == TAGS_MISSING || lp_i64_mul_overflow(v, mul, &s) || s == TAGS_MISSING) s = TAGS_MISSING;
      vals[ord] = s;
    }
  }
  lp_mem_free(&d->h->mem, buf, TAGS_BLOCK * sizeof *buf);
  return LP_OK;
}

int tags_bits_to_bitmap(const lp_mem *m, const uint64_t *words, size_t nwords, lp_bitmap *out) {
  lp_bitmap b;
  lp_bitmap_init(&b);
  uint32_t buf[2048];
  size_t n = 0;
  int rc = LP_OK;
  for (size_t w = 0; w < nwords && rc == LP_OK; w++) {
    uint64_t x = words[w];
    while (x != 0) {
      buf[n++] = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(x));
      x &= x - 1;
    }
    if (n > LP_ARRAY_LEN(buf) - 64) {
      rc = lp_bitmap_add_many(&b, m, buf, n);
      n = 0;
    }
  }
  if (rc == LP_OK && n > 0) rc = lp_bitmap_add_many(&b, m, buf, n);
  if (rc == LP_OK) rc = lp_bitmap_run_optimize(&b, m);
  if (rc != LP_OK) {
    lp_bitmap_release(&b, m);
    return rc;
  }
  lp_bitmap_release(out, m);
  *out = b;
  return LP_OK;
}

int tags_live_bitmap(const lp_tags *h, const tags_tag *t, int64_t as_of, lp_bitmap *tmp,
                     const lp_bitmap **res) {
  *res = &t->has;
  if (t->n_expiring == 0) return LP_OK;
  const tags_rec *r = (const tags_rec *)t->recs.data;
  size_t n = 0;
  for (size_t i = 0; i < t->recs.len; i++) n += !(as_of < r[i].expires_at);
  if (n == 0) return LP_OK;
  uint32_t *ords;
  int rc = lp_mem_alloc_array(&h->mem, n, sizeof *ords, (void **)&ords);
  if (rc != LP_OK) return rc;
  size_t k = 0;
  for (size_t i = 0; i < t->recs.len; i++)
    if (!(as_of < r[i].expires_at)) ords[k++] = r[i].ord;
  lp_bitmap dead;
  lp_bitmap_init(&dead);
  rc = lp_bitmap_add_many(&dead, &h->mem, ords, n);
  if (rc == LP_OK) rc = lp_bitmap_andnot(tmp, &h->mem, &t->has, &dead);
  lp_bitmap_release(&dead, &h->mem);
  lp_mem_free_array(&h->mem, ords, n, sizeof *ords);
  if (rc == LP_OK) *res = tmp;
  return rc;
}

/* ---- one profile at a time (explain) ---- */

static bool scalar_value(const lp_tags *h, const tags_prog *p, const tags_node *n, uint32_t ord,
                         int64_t as_of, int64_t *v) {
  switch (n->op) {
    case OP_NUM: *v = n->k; return true;
    case OP_ASOF: *v = as_of; return true;
    case OP_ATTR: {
      const tags_attr *a = tags_attr_at(h, n->a);
      *v = ord < a->cap ? a->col[ord] : TAGS_MISSING;
      return *v != TAGS_MISSING;
    }
    case OP_TAGVAL: {
      const tags_rec *r;
      if (!tags_live(tags_tag_at(h, n->a), ord, as_of, &r) || r == NULL) return false;
      *v = r->num;
      return true;
    }
    default: (void)p; return false;
  }
}

/* Bytes of a string value node for ord (column id resolved), or literal. */
static const char *scalar_str(const lp_tags *h, const tags_prog *p, const tags_node *n, int64_t v,
                              size_t *len) {
  if (n->op == OP_STR) {
    *len = n->len;
    return p->strs + n->k;
  }
  return lp_strpool_get(pool_of(h, n), (uint32_t)v, len);
}

bool tags_scalar_bool(const lp_tags *h, const tags_prog *p, uint32_t ni, uint32_t ord, int64_t as_of) {
  const tags_node *n = &p->nodes[ni];
  switch (n->op) {
    case OP_TRUE: return true;
    case OP_FALSE: return false;
    case OP_TAG: {
      const tags_rec *r;
      return tags_live(tags_tag_at(h, n->a), ord, as_of, &r);
    }
    case OP_NOT: return !tags_scalar_bool(h, p, n->a, ord, as_of);
    case OP_AND: return tags_scalar_bool(h, p, n->a, ord, as_of) && tags_scalar_bool(h, p, n->b, ord, as_of);
    case OP_OR: return tags_scalar_bool(h, p, n->a, ord, as_of) || tags_scalar_bool(h, p, n->b, ord, as_of);
    case OP_IN: {
      const tags_node *c = &p->nodes[n->a];
      int64_t v;
      if (!scalar_value(h, p, c, ord, as_of, &v)) return false;
      bool hit = false;
      for (uint32_t j = 0; j < n->b && !hit; j++) {
        const tags_lit *l = &p->list[n->k + j];
        if (c->type == TY_STR) {
          size_t la = 0;
          const char *s = scalar_str(h, p, c, v, &la);
          hit = tags_bytes_cmp(s, la, p->strs + l->num, l->len) == 0;
        } else {
          hit = tags_cmp_scaled(v, col_scale(c), l->num, l->scale) == 0;
        }
      }
      return hit != (n->cmp != 0);
    }
    case OP_CMP: {
      const tags_node *a = &p->nodes[n->a], *b = &p->nodes[n->b];
      int64_t x, y;
      if (!scalar_value(h, p, a, ord, as_of, &x) && a->op != OP_STR) return false;
      if (!scalar_value(h, p, b, ord, as_of, &y) && b->op != OP_STR) return false;
      int c;
      if (a->type == TY_STR) {
        size_t la = 0, lb = 0;
        const char *sa = scalar_str(h, p, a, x, &la), *sb = scalar_str(h, p, b, y, &lb);
        c = tags_bytes_cmp(sa, la, sb, lb);
      } else {
        c = tags_cmp_scaled(x, col_scale(a), y, col_scale(b));
      }
      return tags_cmp_holds(c, n->cmp);
    }
    default: return false;
  }
}

/* ---- lp_tags_evaluate ---- */

/* Computed tags in dependency order (dependencies first). */
static int topo_order(lp_tags *h, uint32_t *order, uint32_t *count) {
  uint32_t n = (uint32_t)h->tags.len, k = 0;
  uint8_t *state = lp_mem_zalloc(&h->mem, n ? n : 1);
  uint32_t *stack;
  if (state == NULL) return LP_ENOMEM;
  int rc = lp_mem_alloc_array(&h->mem, n ? n : 1, sizeof *stack, (void **)&stack);
  if (rc != LP_OK) {
    lp_mem_free(&h->mem, state, n ? n : 1);
    return rc;
  }
  for (uint32_t s = 0; s < n; s++) {
    if (tags_tag_at(h, s)->prog == NULL || state[s]) continue;
    uint32_t top = 0;
    stack[top++] = s;
    state[s] = 1;
    while (top > 0) {
      uint32_t t = stack[top - 1];
      const tags_prog *p = tags_tag_at(h, t)->prog;
      bool pushed = false;
      for (uint32_t i = 0; i < p->n && !pushed; i++) {
        const tags_node *nd = &p->nodes[i];
        if (nd->op != OP_TAG && nd->op != OP_TAGVAL) continue;
        uint32_t u = nd->a;
        if (tags_tag_at(h, u)->prog != NULL && state[u] == 0) {
          state[u] = 1;
          stack[top++] = u;
          pushed = true;
        }
      }
      if (!pushed) {
        state[t] = 2;
        order[k++] = t;
        top--;
      }
    }
  }
  *count = k;
  lp_mem_free_array(&h->mem, stack, n ? n : 1, sizeof *stack);
  lp_mem_free(&h->mem, state, n ? n : 1);
  return LP_OK;
}

typedef struct computed {
  lp_bitmap has;
  lp_map64 idx;
  lp_vec recs;
  lp_strpool strs; /* STRING tags: the new values */
  bool used;
} computed;

/* A computed string tag: intern the source strings (an attribute, a
 * string tag, fresh or stored, or a literal) into the tag's new pool; vals
 * receive the new ids. */
static int string_values(tags_dense *d, const tags_prog *p, const computed *res,
                         const uint32_t *slot_of, lp_strpool *pool, int64_t *vals) {
  const lp_tags *h = d->h;
  const tags_node *n = &p->nodes[p->root];
  const lp_strpool *src = NULL;
  const int64_t *col = NULL;
  size_t cap = d->nvals;
  if (n->op == OP_ATTR) {
    const tags_attr *a = tags_attr_at(h, n->a);
    src = &a->strs;
    col = a->col;
    cap = a->cap;
  } else if (n->op == OP_TAGVAL) {
    uint32_t j = slot_of[n->a];
    src = j != UINT32_MAX && res[j].used ? &res[j].strs : &tags_tag_at(h, n->a)->strs;
    col = d->vals[n->a];
  }
  for (size_t o = 0; o < d->nvals; o++) {
    vals[o] = TAGS_MISSING;
    if (!((d->universe[o / 64] >> (o % 64)) & 1)) continue;
    const char *str;
    size_t len = 0;
    if (n->op == OP_STR) {
      str = p->strs + n->k;
      len = n->len;
    } else {
      int64_t v = o < cap && col != NULL ? col[o] : TAGS_MISSING;
      if (v == TAGS_MISSING) continue;
      str = lp_strpool_get(src, (uint32_t)v, &len);
    }
    uint32_t id;
    int rc = lp_strpool_intern(pool, &h->mem, str, len, &id, NULL);
    if (rc != LP_OK) return lp_error_set(d->e, rc, "out of memory");
    vals[o] = id;
  }
  return LP_OK;
}

int lp_tags_evaluate(lp_tags *h, int64_t as_of) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(&h->err, "lp_tags_evaluate");
  uint32_t nt = (uint32_t)h->tags.len, nc = 0;
  size_t ntb = nt ? nt : 1;
  uint32_t *order = NULL;
  computed *res = NULL;
  tags_dense *d = NULL;
  int rc = lp_mem_alloc_array(&h->mem, ntb, sizeof *order, (void **)&order);
  if (rc == LP_OK) rc = topo_order(h, order, &nc);
  if (rc == LP_OK) {
    res = lp_mem_zalloc(&h->mem, ntb * sizeof *res);
    if (res == NULL) rc = LP_ENOMEM;
  }
  if (rc != LP_OK) {
    if (order) lp_mem_free_array(&h->mem, order, ntb, sizeof *order);
    return lp_error_set(&h->err, rc, "cannot evaluate: %s", lp_strerror(rc));
  }
  for (uint32_t i = 0; i < nc; i++) {
    lp_bitmap_init(&res[i].has);
    lp_map64_init(&res[i].idx);
    lp_vec_init(&res[i].recs, sizeof(tags_rec));
    lp_strpool_init(&res[i].strs);
  }
  uint32_t *slot_of = NULL; /* tag id -> its index in order (computed tags) */
  rc = lp_mem_alloc_array(&h->mem, ntb, sizeof *slot_of, (void **)&slot_of);
  if (rc == LP_OK) {
    memset(slot_of, 0xff, ntb * sizeof *slot_of);
    for (uint32_t i = 0; i < nc; i++) slot_of[order[i]] = i;
    rc = tags_dense_create(h, &h->err, as_of, &d);
  } else {
    lp_error_set(&h->err, rc, "cannot evaluate: %s", lp_strerror(rc));
  }
  for (uint32_t i = 0; rc == LP_OK && i < nc; i++) {
    uint32_t t = order[i];
    tags_tag *tg = tags_tag_at(h, t);
    rc = tags_dense_need(d, tg->prog);
    if (rc != LP_OK) break;
    /* The tag's own dense slots hold its fresh results for dependants. */
    if (tg->type == LP_TAGS_FLAG) {
      uint64_t *w = lp_mem_zalloc(&h->mem, d->nwords * sizeof *w);
      if (w == NULL) {
        rc = LP_ENOMEM;
        break;
      }
      if (d->bits[t] != NULL) lp_mem_free(&h->mem, d->bits[t], d->nwords * sizeof *w);
      d->bits[t] = w;
      rc = tags_dense_eval(d, tg->prog, tg->prog->root, w);
      if (rc == LP_OK) rc = tags_bits_to_bitmap(&h->mem, w, d->nwords, &res[i].has);
    } else {
      int64_t *v;
      rc = lp_mem_alloc_array(&h->mem, d->nvals, sizeof *v, (void **)&v);
      if (rc != LP_OK) break;
      if (d->vals[t] != NULL) lp_mem_free(&h->mem, d->vals[t], d->nvals * sizeof *v);
      d->vals[t] = v;
      if (tg->type == LP_TAGS_STRING) {
        res[i].used = true;
        rc = string_values(d, tg->prog, res, slot_of, &res[i].strs, v);
      } else {
        rc = dense_values(d, tg->prog, tg->scale, v);
      }
      size_t cnt = 0;
      for (size_t o = 0; rc == LP_OK && o < d->nvals; o++) cnt += v[o] != TAGS_MISSING;
      if (rc == LP_OK && cnt > 0) rc = lp_vec_reserve(&res[i].recs, &h->mem, cnt);
      if (rc == LP_OK && cnt > 0) rc = lp_hmap_reserve(&res[i].idx, &h->mem, cnt);
      uint64_t *w = NULL;
      if (rc == LP_OK) {
        w = lp_mem_zalloc(&h->mem, d->nwords * sizeof *w);
        if (w == NULL) rc = LP_ENOMEM;
      }
      for (size_t o = 0; rc == LP_OK && o < d->nvals; o++) {
        if (v[o] == TAGS_MISSING) continue;
        tags_rec r = {v[o], LP_TAGS_NEVER, as_of, (uint32_t)o, 0};
        (void)lp_map64_put(&res[i].idx, &h->mem, o, res[i].recs.len);
        (void)lp_vec_push(&res[i].recs, &h->mem, &r);
        w[o / 64] |= UINT64_C(1) << (o % 64);
      }
      if (rc == LP_OK) rc = tags_bits_to_bitmap(&h->mem, w, d->nwords, &res[i].has);
      if (w != NULL) lp_mem_free(&h->mem, w, d->nwords * sizeof *w);
    }
  }
  if (rc == LP_OK) {
    for (uint32_t i = 0; i < nc; i++) {
      tags_tag *tg = tags_tag_at(h, order[i]);
      (void)tags_clear_values(h, tg);
      lp_bitmap_swap(&tg->has, &res[i].has);
      lp_map64 im = tg->idx;
      tg->idx = res[i].idx;
      res[i].idx = im;
      lp_vec rv = tg->recs;
      tg->recs = res[i].recs;
      res[i].recs = rv;
      lp_strpool sp = tg->strs;
      tg->strs = res[i].strs;
      res[i].strs = sp;
    }
    h->evaluated = true;
    h->eval_as_of = as_of;
    h->eval_gen = h->data_gen;
  } else {
    lp_error_set(&h->err, rc, "cannot evaluate: %s", lp_strerror(rc));
  }
  for (uint32_t i = 0; i < nc; i++) {
    lp_bitmap_release(&res[i].has, &h->mem);
    lp_hmap_free(&res[i].idx, &h->mem);
    lp_vec_free(&res[i].recs, &h->mem);
    lp_strpool_free(&res[i].strs, &h->mem);
  }
  if (slot_of != NULL) lp_mem_free_array(&h->mem, slot_of, ntb, sizeof *slot_of);
  lp_mem_free(&h->mem, res, ntb * sizeof *res);
  lp_mem_free_array(&h->mem, order, ntb, sizeof *order);
  tags_dense_free(d);
  return rc;
}
