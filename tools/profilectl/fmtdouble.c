/*
 * Exact shortest round-trip formatting of doubles (see fmtdouble.h).
 *
 * The definition is the one of the former printf/strtod loop: the digits
 * are those of "%.*g" at the smallest precision p in 1..17 whose value
 * reads back to v. "%.*g" rounds the exact value of v to p significant
 * digits, half to even (glibc), and strtod returns v exactly when the
 * decimal lies inside v's rounding interval: the half gaps to the
 * neighbouring doubles on both sides (the lower one halved at a power of
 * two), ends included when the significand is even (strtod rounds half
 * to even). Note that this is not always the shortest decimal of the
 * interval (Ryu, Grisu): at a power of two the correctly rounded p-digit
 * value can miss the narrow lower half while another p-digit value
 * lies in the interval; the definition then takes more digits.
 *
 * Digit generation is exact (Steele & White / dragon4 style): with
 * v = m * 2^e, integers R, S, M_lo, M_hi are scaled so that
 * R / S = v / 10^(X+1) (X the decimal exponent of v) and M / S are the half
 * gaps on the same scale. Each step multiplies R (and the Ms) by ten and
 * takes the digit floor(R / S), leaving R < S: after p steps the digits
 * are v truncated to p significant digits and R / S is the rest in units
 * of its last place. Then, exactly:
 *   - "%.*g" rounds up when R > S - R, or at R == S - R when the last
 *     digit is odd;
 *   - the rounded-down value reads back iff R < M_lo (or R == M_lo with
 *     an even significand), the rounded-up one iff S - R < M_hi (or ==).
 * The first p that reads back wins; p = 17 always does.
 *
 * Two representations of R, S, M: uint64_t when S < 2^61 (a symmetric
 * interval, e < 0, v in about [1e-4, 2^53): almost every computed value),
 * else a fixed-size bignum of 32-bit limbs (at most about 1110 bits:
 * the extreme exponents and subnormals). No __int128, no allocation.
 * SPDX-License-Identifier: MIT
 */
#include "fmtdouble.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Digits of the chosen decimal: dig[0..nd) (values 0..9, no trailing
 * zeros), value dig[0].dig[1]... * 10^x; prec is the precision p of
 * "%.*g" that produced them (before trailing zeros were removed). */
typedef struct fd_digits {
  unsigned char dig[17];
  int nd;
  int prec;
  int x;
} fd_digits;

/* floor(e * log10(2)) for |e| <= 1650 (checked for every exponent of a
 * double by the tests), without relying on the shift of a negative. */
static int fd_floor_log10_pow2(int e) {
  int32_t n = (int32_t)e * 315653;
  if (n >= 0) return (int)(n >> 20);
  return -(int)((-n + (INT32_C(1) << 20) - 1) >> 20);
}

/* Round the nd-digit decimal up by one unit in its last place. */
static void fd_round_up(fd_digits *o) {
  int i = o->nd - 1;
  while (i >= 0 && o->dig[i] == 9) o->dig[i--] = 0;
  if (i >= 0) {
    o->dig[i]++;
  } else { /* 99..9 -> 100..0 */
    o->dig[0] = 1;
    o->nd = 1;
    o->x++;
  }
}

static void fd_strip_zeros(fd_digits *o) {
  while (o->nd > 1 && o->dig[o->nd - 1] == 0) o->nd--;
}

/* ---- 64-bit path ------------------------------------------------------ */

/* v = m * 2^e with e < 0 and a symmetric interval of half gap 2^(e-1);
 * k0 = floor(log10 v) or one less. Scaled by 2^(1-e): R = 2m, M = 1. False
 * (nothing written) when S would not stay below 2^61, the bound that keeps
 * 5 * S, 10 * R and the Ms inside 64 bits. Each step halves S while it is
 * even (then R and M are multiplied by 5, which is the same step as
 * multiplying them by 10), so S only shrinks. */
static bool fd_digits_u64(uint64_t m, int e, int k0, bool even, fd_digits *o) {
  const uint64_t lim = UINT64_C(1) << 61;
  uint64_t r = 2 * m, s, mm = 1;
  int k = k0 + 1; /* R / S = v / 10^k */
  int sh = 1 - e;
  if (k >= 0) {
    if (sh >= 61) return false;
    uint64_t p10 = 1; /* k <= 16: v < 2^53 */
    for (int i = 0; i < k; i++) p10 *= 10;
    if (p10 >= (lim >> sh)) return false;
    s = p10 << sh;
  } else {
    /* R = 2m * 10^j, S = 2^(1-e): both divided by 2^j. */
    int j = -k;
    if (j > 3) return false; /* 2m * 5^j < 2^61 needs j <= 3 */
    sh -= j;
    if (sh >= 61) return false;
    uint64_t p5 = j == 1 ? 5 : j == 2 ? 25 : 125;
    r *= p5;
    mm = p5;
    s = UINT64_C(1) << sh;
  }
  if (r >= s) { /* X = k0 + 1 */
    if (s >= lim / 10) return false;
    s *= 10;
    k++;
  }
  o->x = k - 1;
  int nd = 0;
  bool up;
  for (;;) {
    if ((s & 1) == 0) {
      s >>= 1;
      r *= 5;
      mm *= 5;
    } else {
      r *= 10;
      mm *= 10;
    }
    uint64_t d = r / s;
    r -= d * s;
    o->dig[nd++] = (unsigned char)d;
    uint64_t t = s - r;
    up = r > t || (r == t && (d & 1) != 0);
    if (nd == 17) break;
    /* Not accepted implies M < S (when M >= S either candidate is
     * inside), so the next step keeps M below 5 * S as well. */
    if (up ? (t < mm || (even && t == mm)) : (r < mm || (even && r == mm))) break;
  }
  o->nd = nd;
  o->prec = nd;
  if (up) fd_round_up(o);
  return true;
}

/* ---- bignum path ------------------------------------------------------ */

/* Enough for 4m * 10^323 and 2^1076 after the normalising shift (< 2^1112). */
#define FD_LIMBS 40

typedef struct fd_big {
  uint32_t d[FD_LIMBS]; /* little-endian limbs */
  int n;                /* limbs in use; d[n - 1] != 0, or n == 0 for zero */
} fd_big;

static void big_set(fd_big *b, uint64_t x) {
  b->n = 0;
  while (x != 0) {
    b->d[b->n++] = (uint32_t)x;
    x >>= 32;
  }
}

static void big_mul_small(fd_big *b, uint32_t f) {
  uint64_t c = 0;
  for (int i = 0; i < b->n; i++) {
    uint64_t t = (uint64_t)b->d[i] * f + c;
    b->d[i] = (uint32_t)t;
    c = t >> 32;
  }
  if (c != 0) b->d[b->n++] = (uint32_t)c;
}

static void big_mul_pow10(fd_big *b, int k) {
  /* 10^9 fits a limb; the rest by a smaller power. */
  while (k >= 9) {
    big_mul_small(b, 1000000000u);
    k -= 9;
  }
  uint32_t f = 1;
  while (k-- > 0) f *= 10;
  if (f != 1) big_mul_small(b, f);
}

static void big_shl(fd_big *b, int sh) {
  if (b->n == 0 || sh == 0) return;
  int w = sh / 32, bits = sh % 32;
  int n = b->n;
  if (bits == 0) {
    for (int i = n - 1; i >= 0; i--) b->d[i + w] = b->d[i];
  } else {
    uint32_t top = b->d[n - 1] >> (32 - bits);
    for (int i = n - 1; i > 0; i--)
      b->d[i + w] = (b->d[i] << bits) | (b->d[i - 1] >> (32 - bits));
    b->d[w] = b->d[0] << bits;
    if (top != 0) {
      b->d[n + w] = top;
      n++;
    }
  }
  for (int i = 0; i < w; i++) b->d[i] = 0;
  b->n = n + w;
}

static int big_cmp(const fd_big *a, const fd_big *b) {
  if (a->n != b->n) return a->n < b->n ? -1 : 1;
  for (int i = a->n - 1; i >= 0; i--)
    if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
  return 0;
}

static void big_trim(fd_big *b) {
  while (b->n > 0 && b->d[b->n - 1] == 0) b->n--;
}

/* out = a - b, a >= b (out may be a). */
static void big_sub(fd_big *out, const fd_big *a, const fd_big *b) {
  uint32_t borrow = 0;
  for (int i = 0; i < a->n; i++) {
    uint64_t bi = (i < b->n ? b->d[i] : 0u) + (uint64_t)borrow;
    uint32_t ai = a->d[i];
    out->d[i] = (uint32_t)(ai - bi);
    borrow = (uint64_t)ai < bi ? 1u : 0u;
  }
  out->n = a->n;
  big_trim(out);
}

/* floor(r / s) for r < 10 s, leaving r mod s in r. s is normalised: its
 * top limb is in [2^27, 2^28), so 10 s fits its limb count and the
 * estimate top(r) / (top(s) + 1) is the quotient or one less. */
static uint32_t big_digit(fd_big *r, const fd_big *s) {
  int n = s->n;
  if (r->n < n) return 0;
  uint32_t q = r->d[n - 1] / (s->d[n - 1] + 1u);
  if (q != 0) {
    uint64_t carry = 0;
    uint32_t borrow = 0;
    for (int i = 0; i < n; i++) {
      uint64_t p = (uint64_t)s->d[i] * q + carry;
      carry = p >> 32;
      uint64_t sub = (uint64_t)(uint32_t)p + borrow;
      uint32_t ri = r->d[i];
      r->d[i] = (uint32_t)(ri - sub);
      borrow = (uint64_t)ri < sub ? 1u : 0u;
    }
    big_trim(r);
  }
  while (big_cmp(r, s) >= 0) {
    big_sub(r, r, s);
    q++;
  }
  return q;
}

static int fd_bitlen32(uint32_t x) {
  int n = 0;
  while (x != 0) {
    n++;
    x >>= 1;
  }
  return n;
}

/* Any finite nonzero v = m * 2^e; pow2: the lower half gap is half the
 * upper one. Scaled by 4 (times 2^-e for e < 0) so the quarter gap is an
 * integer: R = 4v, M_hi = 2 * 2^e, M_lo = 2^e or M_hi. */
static void fd_digits_big(uint64_t m, int e, int k0, bool even, bool pow2, fd_digits *o) {
  fd_big r, s, t, mh, ml_own;
  fd_big *ml = &mh;
  if (e >= 0) {
    big_set(&r, m);
    big_shl(&r, e + 2);
    big_set(&mh, 1);
    big_shl(&mh, e + 1);
    big_set(&s, 4);
    if (pow2) {
      big_set(&ml_own, 1);
      big_shl(&ml_own, e);
      ml = &ml_own;
    }
  } else {
    big_set(&r, m << 2);
    big_set(&mh, 2);
    big_set(&s, 1);
    big_shl(&s, 2 - e);
    if (pow2) {
      big_set(&ml_own, 1);
      ml = &ml_own;
    }
  }
  int k = k0 + 1; /* R / S = v / 10^k */
  if (k >= 0) {
    big_mul_pow10(&s, k);
  } else {
    big_mul_pow10(&r, -k);
    big_mul_pow10(&mh, -k);
    if (pow2) big_mul_pow10(ml, -k);
  }
  if (big_cmp(&r, &s) >= 0) { /* X = k0 + 1 */
    big_mul_small(&s, 10);
    k++;
  }
  int top = fd_bitlen32(s.d[s.n - 1]);
  int sh = top <= 28 ? 28 - top : 60 - top;
  big_shl(&s, sh);
  big_shl(&r, sh);
  big_shl(&mh, sh);
  if (pow2) big_shl(ml, sh);
  o->x = k - 1;
  int nd = 0;
  bool up;
  for (;;) {
    big_mul_small(&r, 10);
    big_mul_small(&mh, 10);
    if (pow2) big_mul_small(ml, 10);
    uint32_t d = big_digit(&r, &s);
    o->dig[nd++] = (unsigned char)d;
    big_sub(&t, &s, &r);
    int c = big_cmp(&r, &t);
    up = c > 0 || (c == 0 && (d & 1u) != 0);
    if (nd == 17) break;
    c = up ? big_cmp(&t, &mh) : big_cmp(&r, ml);
    if (c < 0 || (even && c == 0)) break;
  }
  o->nd = nd;
  o->prec = nd;
  if (up) fd_round_up(o);
}

/* ---- layout ----------------------------------------------------------- */

/* "%g" at precision o->prec: fixed notation when -4 <= X < prec, else an
 * exponent (sign, at least two digits); whole numbers below 10^16 in full.
 * Trailing zeros are already gone. */
static size_t fd_layout(char *buf, bool neg, const fd_digits *o) {
  char *p = buf;
  int x = o->x, nd = o->nd;
  if (neg) *p++ = '-';
  if ((x >= -4 && x < o->prec) || (x >= 0 && x < 16)) {
    if (x >= 0) {
      for (int i = 0; i <= x; i++) *p++ = (char)('0' + (i < nd ? o->dig[i] : 0));
      if (nd > x + 1) {
        *p++ = '.';
        for (int i = x + 1; i < nd; i++) *p++ = (char)('0' + o->dig[i]);
      }
    } else {
      *p++ = '0';
      *p++ = '.';
      for (int i = -1; i > x; i--) *p++ = '0';
      for (int i = 0; i < nd; i++) *p++ = (char)('0' + o->dig[i]);
    }
  } else {
    *p++ = (char)('0' + o->dig[0]);
    if (nd > 1) {
      *p++ = '.';
      for (int i = 1; i < nd; i++) *p++ = (char)('0' + o->dig[i]);
    }
    *p++ = 'e';
    *p++ = x < 0 ? '-' : '+';
    int ax = x < 0 ? -x : x;
    if (ax >= 100) *p++ = (char)('0' + ax / 100);
    *p++ = (char)('0' + ax / 10 % 10);
    *p++ = (char)('0' + ax % 10);
  }
  *p = '\0';
  return (size_t)(p - buf);
}

size_t pctl_fmtdouble(char *buf, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  bool neg = (bits >> 63) != 0;
  int be = (int)((bits >> 52) & 0x7FF);
  uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
  if (be == 0x7FF) {
    const char *t = frac != 0 ? "nan" : neg ? "-inf" : "inf";
    size_t n = strlen(t);
    memcpy(buf, t, n + 1);
    return n;
  }
  if (be == 0 && frac == 0) { /* -0 too */
    memcpy(buf, "0", 2);
    return 1;
  }
  uint64_t m;
  int e, bitlen;
  if (be == 0) { /* subnormal */
    m = frac;
    e = -1074;
    bitlen = 0;
    for (uint64_t x = m; x != 0; x >>= 1) bitlen++;
  } else {
    m = frac | (UINT64_C(1) << 52);
    e = be - 1075;
    bitlen = 53;
  }
  bool even = (m & 1) == 0;
  bool pow2 = frac == 0 && be > 1; /* the gap below is half the gap above */
  int k0 = fd_floor_log10_pow2(e + bitlen - 1);
  fd_digits o;
  if (pow2 || e >= 0 || !fd_digits_u64(m, e, k0, even, &o)) fd_digits_big(m, e, k0, even, pow2, &o);
  fd_strip_zeros(&o);
  return fd_layout(buf, neg, &o);
}
