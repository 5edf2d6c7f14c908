/*
 * Bitmaps: the 1024-word kernels (popcount, AND/OR/ANDNOT/XOR with
 * popcount) that dominate bitset work, compiled three times: portable C,
 * with the POPCNT instruction, and with AVX-512 VPOPCNTDQ (where the
 * compiler vectorises the loops). The variant is chosen per call from the
 * CPU's features (read-only, no state of ours); all three compute the same
 * integers, so results and serialised bytes never depend on the machine.
 * SPDX-License-Identifier: MIT
 */
#include "core/bitmap_internal.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(LP_BITMAP_PORTABLE_ONLY)
#  define LPB_DISPATCH 1
#else
#  define LPB_DISPATCH 0
#endif

#define LPB_KERNELS(SUF, ATTR)                                                              \
  ATTR static uint32_t card_##SUF(const uint64_t *w) {                                      \
    uint32_t n = 0;                                                                         \
    for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) n += (uint32_t)__builtin_popcountll(w[i]); \
    return n;                                                                               \
  }                                                                                         \
  ATTR static uint32_t op_##SUF(uint32_t op, uint64_t *d, const uint64_t *a,                \
                                const uint64_t *b) {                                        \
    uint32_t n = 0;                                                                         \
    if (op == LPB_OP_AND) {                                                                 \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {                                      \
        d[i] = a[i] & b[i];                                                                 \
        n += (uint32_t)__builtin_popcountll(d[i]);                                          \
      }                                                                                     \
    } else if (op == LPB_OP_OR) {                                                           \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {                                      \
        d[i] = a[i] | b[i];                                                                 \
        n += (uint32_t)__builtin_popcountll(d[i]);                                          \
      }                                                                                     \
    } else if (op == LPB_OP_ANDNOT) {                                                       \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {                                      \
        d[i] = a[i] & ~b[i];                                                                \
        n += (uint32_t)__builtin_popcountll(d[i]);                                          \
      }                                                                                     \
    } else {                                                                                \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {                                      \
        d[i] = a[i] ^ b[i];                                                                 \
        n += (uint32_t)__builtin_popcountll(d[i]);                                          \
      }                                                                                     \
    }                                                                                       \
    return n;                                                                               \
  }                                                                                         \
  ATTR static uint32_t opcard_##SUF(uint32_t op, const uint64_t *a, const uint64_t *b) {    \
    uint32_t n = 0;                                                                         \
    if (op == LPB_OP_AND) {                                                                 \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++)                                        \
        n += (uint32_t)__builtin_popcountll(a[i] & b[i]);                                   \
    } else if (op == LPB_OP_OR) {                                                           \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++)                                        \
        n += (uint32_t)__builtin_popcountll(a[i] | b[i]);                                   \
    } else if (op == LPB_OP_ANDNOT) {                                                       \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++)                                        \
        n += (uint32_t)__builtin_popcountll(a[i] & ~b[i]);                                  \
    } else {                                                                                \
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++)                                        \
        n += (uint32_t)__builtin_popcountll(a[i] ^ b[i]);                                   \
    }                                                                                       \
    return n;                                                                               \
  }                                                                                         \
  ATTR static uint32_t andk_card_##SUF(const uint64_t *const *ws, size_t k) {              \
    uint64_t buf[64];                                                                       \
    uint32_t n = 0;                                                                         \
    for (uint32_t j = 0; j < LP_BITMAP_WORDS; j += 64) {                                    \
      const uint64_t *w0 = ws[0] + j;                                                       \
      for (uint32_t q = 0; q < 64; q++) buf[q] = w0[q];                                     \
      for (size_t t = 1; t < k; t++) {                                                      \
        const uint64_t *w = ws[t] + j;                                                      \
        for (uint32_t q = 0; q < 64; q++) buf[q] &= w[q];                                   \
      }                                                                                     \
      for (uint32_t q = 0; q < 64; q++) n += (uint32_t)__builtin_popcountll(buf[q]);        \
    }                                                                                       \
    return n;                                                                               \
  }                                                                                         \
  ATTR static uint32_t nruns_##SUF(const uint64_t *w) {                                     \
    uint32_t n = (uint32_t)__builtin_popcountll(w[0] & ~(w[0] << 1));                       \
    for (uint32_t i = 1; i < LP_BITMAP_WORDS; i++)                                          \
      n += (uint32_t)__builtin_popcountll(w[i] & ~((w[i] << 1) | (w[i - 1] >> 63)));        \
    return n;                                                                               \
  }

#if defined(__GNUC__)
LPB_KERNELS(generic, )
#else
/* Without the GCC builtins: the same loops over lpb_popcnt. */
static uint32_t card_generic(const uint64_t *w) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) n += lpb_popcnt(w[i]);
  return n;
}
static uint32_t opcard_generic(uint32_t op, const uint64_t *a, const uint64_t *b) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++)
    n += lpb_popcnt(op == LPB_OP_AND ? a[i] & b[i] : op == LPB_OP_OR ? a[i] | b[i]
                    : op == LPB_OP_ANDNOT ? a[i] & ~b[i] : a[i] ^ b[i]);
  return n;
}
static uint32_t andk_card_generic(const uint64_t *const *ws, size_t k) {
  uint32_t n = 0;
  for (uint32_t j = 0; j < LP_BITMAP_WORDS; j++) {
    uint64_t x = ws[0][j];
    for (size_t t = 1; t < k; t++) x &= ws[t][j];
    n += lpb_popcnt(x);
  }
  return n;
}
static uint32_t nruns_generic(const uint64_t *w) {
  uint32_t n = lpb_popcnt(w[0] & ~(w[0] << 1));
  for (uint32_t i = 1; i < LP_BITMAP_WORDS; i++) n += lpb_popcnt(w[i] & ~((w[i] << 1) | (w[i - 1] >> 63)));
  return n;
}
static uint32_t op_generic(uint32_t op, uint64_t *d, const uint64_t *a, const uint64_t *b) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {
    d[i] = op == LPB_OP_AND ? a[i] & b[i] : op == LPB_OP_OR ? a[i] | b[i]
         : op == LPB_OP_ANDNOT ? a[i] & ~b[i] : a[i] ^ b[i];
    n += lpb_popcnt(d[i]);
  }
  return n;
}
#endif

#if LPB_DISPATCH
LPB_KERNELS(popcnt, __attribute__((target("popcnt"))))
LPB_KERNELS(avx512, __attribute__((target("avx512f,avx512vpopcntdq"))))
#endif

int lpb_kernel_level(void) {
#if LPB_DISPATCH
  if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512f")) return 2;
  if (__builtin_cpu_supports("popcnt")) return 1;
#endif
  return 0;
}

uint32_t lpb_words_card_at(int level, const uint64_t *w) {
#if LPB_DISPATCH
  if (level == 2) return card_avx512(w);
  if (level == 1) return card_popcnt(w);
#endif
  (void)level;
  return card_generic(w);
}

uint32_t lpb_words_op_card_at(int level, uint32_t op, const uint64_t *a, const uint64_t *b) {
#if LPB_DISPATCH
  if (level == 2) return opcard_avx512(op, a, b);
  if (level == 1) return opcard_popcnt(op, a, b);
#endif
  (void)level;
  return opcard_generic(op, a, b);
}

uint32_t lpb_words_andk_card_at(int level, const uint64_t *const *ws, size_t k) {
#if LPB_DISPATCH
  if (level == 2) return andk_card_avx512(ws, k);
  if (level == 1) return andk_card_popcnt(ws, k);
#endif
  (void)level;
  return andk_card_generic(ws, k);
}

uint32_t lpb_words_andk_card(const uint64_t *const *ws, size_t k) {
  return lpb_words_andk_card_at(lpb_kernel_level(), ws, k);
}

uint32_t lpb_words_nruns_at(int level, const uint64_t *w) {
#if LPB_DISPATCH
  if (level == 2) return nruns_avx512(w);
  if (level == 1) return nruns_popcnt(w);
#endif
  (void)level;
  return nruns_generic(w);
}

uint32_t lpb_words_op_at(int level, uint32_t op, uint64_t *dst, const uint64_t *a,
                         const uint64_t *b) {
#if LPB_DISPATCH
  if (level == 2) return op_avx512(op, dst, a, b);
  if (level == 1) return op_popcnt(op, dst, a, b);
#endif
  (void)level;
  return op_generic(op, dst, a, b);
}

uint32_t lpb_words_card(const uint64_t *w) { return lpb_words_card_at(lpb_kernel_level(), w); }

uint32_t lpb_words_and_card(const uint64_t *a, const uint64_t *b) {
  return lpb_words_op_card_at(lpb_kernel_level(), LPB_OP_AND, a, b);
}

uint32_t lpb_words_op_card(uint32_t op, const uint64_t *a, const uint64_t *b) {
  return lpb_words_op_card_at(lpb_kernel_level(), op, a, b);
}

uint32_t lpb_words_nruns(const uint64_t *w) { return lpb_words_nruns_at(lpb_kernel_level(), w); }

uint32_t lpb_words_op(uint32_t op, uint64_t *dst, const uint64_t *a, const uint64_t *b) {
  return lpb_words_op_at(lpb_kernel_level(), op, dst, a, b);
}
