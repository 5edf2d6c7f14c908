/*
 * Bitmaps: the own compact format and the Roaring portable format.
 * SPDX-License-Identifier: MIT
 *
 * Own format (little-endian):
 *   u32 n                      containers, 0..65536
 *   n x { u16 key, u8 kind, u8 0, u32 count }
 *                              count = values (array 1..4096, bitset
 *                              4097..65536) or runs (run 1..32768)
 *   payloads in key order:     array: count x u16 ascending;
 *                              bitset: 1024 x u64; run: count x {u16 start,
 *                              u16 length-1}, ascending, neither overlapping
 *                              nor adjacent
 * Portable format: RoaringFormatSpec (cookies 12346 / 12347).
 *
 * Loaders validate while they copy into fresh containers, so *b changes
 * only when the whole input was valid.
 */
#include "core/bitmap_internal.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define LPB_LE 1
#else
#  define LPB_LE 0
#endif

#define SERIAL_COOKIE_NO_RUN 12346u
#define SERIAL_COOKIE_RUN 12347u
#define NO_OFFSET_THRESHOLD 4u

static size_t c_payload(const lp_bitmap_container *c) {
  switch (c->kind) {
  case LP_BITMAP_ARRAY: return (size_t)c->n * 2;
  case LP_BITMAP_BITSET: return LPB_BITSET_BYTES;
  default: return (size_t)c->n * 4;
  }
}

static uint8_t *put_u16s(uint8_t *p, const uint16_t *v, size_t n) {
#if LPB_LE
  memcpy(p, v, n * 2);
#else
  for (size_t i = 0; i < n; i++) lp_put_u16le(p + 2 * i, v[i]);
#endif
  return p + n * 2;
}

static uint8_t *put_words(uint8_t *p, const uint64_t *w) {
#if LPB_LE
  memcpy(p, w, LPB_BITSET_BYTES);
#else
  for (size_t i = 0; i < LP_BITMAP_WORDS; i++) lp_put_u64le(p + 8 * i, w[i]);
#endif
  return p + LPB_BITSET_BYTES;
}

static uint8_t *put_runs(uint8_t *p, const lp_bitmap_run *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    lp_put_u16le(p, r[i].start);
    lp_put_u16le(p + 2, r[i].len);
    p += 4;
  }
  return p;
}

static void get_words(uint64_t *w, const uint8_t *p) {
#if LPB_LE
  memcpy(w, p, LPB_BITSET_BYTES);
#else
  for (size_t i = 0; i < LP_BITMAP_WORDS; i++) w[i] = lp_get_u64le(p + 8 * i);
#endif
}

/* Copy and validate: strictly ascending. */
static bool get_array(uint16_t *a, const uint8_t *p, uint32_t n) {
#if LPB_LE
  memcpy(a, p, (size_t)n * 2);
#else
  for (uint32_t i = 0; i < n; i++) a[i] = lp_get_u16le(p + 2 * i);
#endif
  uint32_t bad = 0;
  for (uint32_t i = 1; i < n; i++) bad |= a[i] <= a[i - 1];
  return !bad;
}

/* Copy and validate runs (ascending, in bounds); adjacent runs are merged
 * when `merge`, rejected otherwise. Returns runs kept (0 = invalid) and the
 * values in *card. */
static uint32_t get_runs(lp_bitmap_run *r, const uint8_t *p, uint32_t n, bool merge,
                         uint32_t *card) {
  uint32_t k = 0, total = 0;
  int64_t prev_end = -2;
  for (uint32_t i = 0; i < n; i++, p += 4) {
    uint32_t s = lp_get_u16le(p), l = lp_get_u16le(p + 2);
    if (s + l > 0xffffu) return 0;
    if ((int64_t)s <= prev_end) return 0;
    if ((int64_t)s == prev_end + 1) {
      if (!merge) return 0;
      r[k - 1].len = (uint16_t)(r[k - 1].len + l + 1);
    } else {
      r[k].start = (uint16_t)s;
      r[k].len = (uint16_t)l;
      k++;
    }
    total += l + 1;
    prev_end = (int64_t)s + l;
  }
  *card = total;
  return k;
}

/* Swap a fully validated load in, or drop it. */
static int load_done(lp_bitmap *b, const lp_mem *m, lp_bitmap *t, int rc, size_t *used,
                     size_t pos) {
  if (rc != LP_OK) {
    lp_bitmap_release(t, m);
    return rc;
  }
  lpb_replace(b, m, t);
  if (used) *used = pos;
  return LP_OK;
}

/* ---- own format ---- */

size_t lp_bitmap_serialized_size(const lp_bitmap *b) {
  size_t n = 4 + (size_t)b->n * 8;
  for (uint32_t i = 0; i < b->n; i++) n += c_payload(&b->c[i]);
  return n;
}

void lp_bitmap_serialize(const lp_bitmap *b, uint8_t *out) {
  uint8_t *p = out;
  lp_put_u32le(p, b->n);
  p += 4;
  for (uint32_t i = 0; i < b->n; i++) {
    const lp_bitmap_container *c = &b->c[i];
    lp_put_u16le(p, b->keys[i]);
    p[2] = (uint8_t)c->kind;
    p[3] = 0;
    lp_put_u32le(p + 4, c->kind == LP_BITMAP_RUN ? c->n : c->card);
    p += 8;
  }
  for (uint32_t i = 0; i < b->n; i++) {
    const lp_bitmap_container *c = &b->c[i];
    if (c->kind == LP_BITMAP_ARRAY) p = put_u16s(p, lpb_arr(c), c->n);
    else if (c->kind == LP_BITMAP_BITSET) p = put_words(p, lpb_words(c));
    else p = put_runs(p, lpb_runs(c), c->n);
  }
}

int lp_bitmap_deserialize(lp_bitmap *b, const lp_mem *m, const uint8_t *in, size_t len,
                          size_t *used) {
  if (len < 4) return LP_ECORRUPT;
  uint32_t n = lp_get_u32le(in);
  if (n > LPB_FULL || (len - 4) / 8 < n) return LP_ECORRUPT;
  const uint8_t *desc = in + 4;
  size_t pos = 4 + (size_t)n * 8;
  /* descriptors first: keys, kinds, counts, total length */
  size_t need = pos;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *d = desc + 8 * (size_t)i;
    uint32_t key = lp_get_u16le(d), kind = d[2], cnt = lp_get_u32le(d + 4);
    if (d[3] != 0) return LP_ECORRUPT;
    if (i && key <= lp_get_u16le(d - 8)) return LP_ECORRUPT;
    if (kind == LP_BITMAP_ARRAY) {
      if (cnt < 1 || cnt > LP_BITMAP_ARRAY_MAX) return LP_ECORRUPT;
      need += (size_t)cnt * 2;
    } else if (kind == LP_BITMAP_BITSET) {
      if (cnt <= LP_BITMAP_ARRAY_MAX || cnt > LPB_FULL) return LP_ECORRUPT;
      need += LPB_BITSET_BYTES;
    } else if (kind == LP_BITMAP_RUN) {
      if (cnt < 1 || cnt > 32768) return LP_ECORRUPT;
      need += (size_t)cnt * 4;
    } else {
      return LP_ECORRUPT;
    }
  }
  if (need > len) return LP_ECORRUPT;
  lp_bitmap t;
  lp_bitmap_init(&t);
  int rc = n ? lpb_reserve(&t, m, n) : LP_OK;
  if (rc != LP_OK) return rc == LP_ELIMIT ? LP_ECORRUPT : rc;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *d = desc + 8 * (size_t)i;
    uint32_t kind = d[2], cnt = lp_get_u32le(d + 4);
    lp_bitmap_container c;
    bool ok;
    if (kind == LP_BITMAP_ARRAY) {
      if ((rc = lpb_c_array_new(m, &c, cnt)) != LP_OK) goto fail;
      ok = get_array(lpb_arr(&c), in + pos, cnt);
      c.n = c.card = cnt;
      pos += (size_t)cnt * 2;
    } else if (kind == LP_BITMAP_BITSET) {
      if ((rc = lpb_c_bitset_new(m, &c, false)) != LP_OK) goto fail;
      get_words(lpb_words(&c), in + pos);
      c.card = cnt;
      ok = lpb_words_card(lpb_words(&c)) == cnt;
      pos += LPB_BITSET_BYTES;
    } else {
      if ((rc = lpb_c_run_new(m, &c, cnt)) != LP_OK) goto fail;
      uint32_t card = 0;
      c.n = get_runs(lpb_runs(&c), in + pos, cnt, false, &card);
      ok = c.n == cnt;
      c.card = card;
      pos += (size_t)cnt * 4;
    }
    lpb_push(&t, lp_get_u16le(d), &c);
    if (!ok) {
      rc = LP_ECORRUPT;
      goto fail;
    }
  }
  return load_done(b, m, &t, LP_OK, used, pos);
fail:
  return load_done(b, m, &t, rc, used, pos);
}

/* ---- portable format ---- */

static bool has_run(const lp_bitmap *b) {
  for (uint32_t i = 0; i < b->n; i++)
    if (b->c[i].kind == LP_BITMAP_RUN) return true;
  return false;
}

static size_t portable_header(const lp_bitmap *b, bool run) {
  size_t n = b->n;
  if (run) return 4 + (n + 7) / 8 + 4 * n + (n >= NO_OFFSET_THRESHOLD ? 4 * n : 0);
  return 8 + 8 * n;
}

static size_t portable_payload(const lp_bitmap_container *c) {
  return c->kind == LP_BITMAP_RUN ? 2 + (size_t)c->n * 4 : c_payload(c);
}

size_t lp_bitmap_portable_size(const lp_bitmap *b) {
  size_t n = portable_header(b, has_run(b));
  for (uint32_t i = 0; i < b->n; i++) n += portable_payload(&b->c[i]);
  return n;
}

void lp_bitmap_portable_serialize(const lp_bitmap *b, uint8_t *out) {
  bool run = has_run(b);
  uint8_t *p = out;
  uint32_t n = b->n;
  if (run) {
    lp_put_u32le(p, SERIAL_COOKIE_RUN | ((n - 1) << 16));
    p += 4;
    size_t rb = (n + 7) / 8;
    memset(p, 0, rb);
    for (uint32_t i = 0; i < n; i++)
      if (b->c[i].kind == LP_BITMAP_RUN) p[i / 8] |= (uint8_t)(1u << (i % 8));
    p += rb;
  } else {
    lp_put_u32le(p, SERIAL_COOKIE_NO_RUN);
    lp_put_u32le(p + 4, n);
    p += 8;
  }
  for (uint32_t i = 0; i < n; i++) {
    lp_put_u16le(p, b->keys[i]);
    lp_put_u16le(p + 2, (uint16_t)(b->c[i].card - 1));
    p += 4;
  }
  if (!run || n >= NO_OFFSET_THRESHOLD) {
    size_t off = portable_header(b, run);
    for (uint32_t i = 0; i < n; i++) {
      lp_put_u32le(p, (uint32_t)off);
      p += 4;
      off += portable_payload(&b->c[i]);
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    const lp_bitmap_container *c = &b->c[i];
    if (c->kind == LP_BITMAP_ARRAY) {
      p = put_u16s(p, lpb_arr(c), c->n);
    } else if (c->kind == LP_BITMAP_BITSET) {
      p = put_words(p, lpb_words(c));
    } else {
      lp_put_u16le(p, (uint16_t)c->n);
      p = put_runs(p + 2, lpb_runs(c), c->n);
    }
  }
}

int lp_bitmap_portable_deserialize(lp_bitmap *b, const lp_mem *m, const uint8_t *in,
                                   size_t len, size_t *used) {
  if (len < 4) return LP_ECORRUPT;
  uint32_t cookie = lp_get_u32le(in), n;
  size_t pos;
  const uint8_t *runbits = NULL;
  if ((cookie & 0xffffu) == SERIAL_COOKIE_RUN) {
    n = (cookie >> 16) + 1;
    runbits = in + 4;
    pos = 4 + (n + 7) / 8;
  } else if (cookie == SERIAL_COOKIE_NO_RUN) {
    if (len < 8) return LP_ECORRUPT;
    n = lp_get_u32le(in + 4);
    if (n > LPB_FULL) return LP_ECORRUPT;
    pos = 8;
  } else {
    return LP_ECORRUPT;
  }
  bool offsets = !runbits || n >= NO_OFFSET_THRESHOLD;
  size_t hdr = pos + 4 * (size_t)n + (offsets ? 4 * (size_t)n : 0);
  if (hdr > len) return LP_ECORRUPT;
  const uint8_t *desc = in + pos;
  const uint8_t *offs = desc + 4 * (size_t)n;
  /* keys ascending; every payload within the input; offsets exact */
  size_t at = hdr;
  for (uint32_t i = 0; i < n; i++) {
    if (i && lp_get_u16le(desc + 4 * (size_t)i) <= lp_get_u16le(desc + 4 * (size_t)i - 4))
      return LP_ECORRUPT;
    if (offsets && lp_get_u32le(offs + 4 * (size_t)i) != at) return LP_ECORRUPT;
    uint32_t card = (uint32_t)lp_get_u16le(desc + 4 * (size_t)i + 2) + 1;
    size_t sz;
    if (runbits && (runbits[i / 8] >> (i % 8)) & 1u) {
      if (len - at < 2) return LP_ECORRUPT;
      sz = 2 + (size_t)lp_get_u16le(in + at) * 4;
    } else {
      sz = card <= LP_BITMAP_ARRAY_MAX ? (size_t)card * 2 : LPB_BITSET_BYTES;
    }
    if (sz > len - at) return LP_ECORRUPT;
    at += sz;
  }
  lp_bitmap t;
  lp_bitmap_init(&t);
  int rc = n ? lpb_reserve(&t, m, n) : LP_OK;
  if (rc != LP_OK) return rc == LP_ELIMIT ? LP_ECORRUPT : rc;
  pos = hdr;
  for (uint32_t i = 0; i < n; i++) {
    uint16_t key = lp_get_u16le(desc + 4 * (size_t)i);
    uint32_t card = (uint32_t)lp_get_u16le(desc + 4 * (size_t)i + 2) + 1;
    lp_bitmap_container c;
    bool ok;
    if (runbits && (runbits[i / 8] >> (i % 8)) & 1u) {
      uint32_t nr = lp_get_u16le(in + pos);
      if (nr == 0) {
        rc = LP_ECORRUPT;
        goto fail;
      }
      if ((rc = lpb_c_run_new(m, &c, nr)) != LP_OK) goto fail;
      uint32_t got = 0;
      c.n = get_runs(lpb_runs(&c), in + pos + 2, nr, true, &got);
      c.card = got;
      ok = c.n != 0 && got == card;
      pos += 2 + (size_t)nr * 4;
    } else if (card <= LP_BITMAP_ARRAY_MAX) {
      if ((rc = lpb_c_array_new(m, &c, card)) != LP_OK) goto fail;
      ok = get_array(lpb_arr(&c), in + pos, card);
      c.n = c.card = card;
      pos += (size_t)card * 2;
    } else {
      if ((rc = lpb_c_bitset_new(m, &c, false)) != LP_OK) goto fail;
      get_words(lpb_words(&c), in + pos);
      c.card = card;
      ok = lpb_words_card(lpb_words(&c)) == card;
      pos += LPB_BITSET_BYTES;
    }
    if (!ok) {
      lpb_c_free(m, &c);
      rc = LP_ECORRUPT;
      goto fail;
    }
    lpb_push(&t, key, &c);
  }
  return load_done(b, m, &t, LP_OK, used, pos);
fail:
  return load_done(b, m, &t, rc, used, pos);
}
