/*
 * Internal: growable array of fixed-size elements.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_VEC_H
#define LP_CORE_VEC_H

#include "core/mem.h"

/* The allocator is passed per call (the owning handle has it), which keeps
 * a vec at four words. */
typedef struct lp_vec {
  unsigned char *data;
  size_t len;
  size_t cap;
  size_t esz;
} lp_vec;

static inline void lp_vec_init(lp_vec *v, size_t esz) {
  v->data = NULL;
  v->len = 0;
  v->cap = 0;
  v->esz = esz;
}

/* Ensure room for at least `n` elements in total. LP_OK, LP_ELIMIT, LP_ENOMEM;
 * unchanged on failure. */
int lp_vec_reserve(lp_vec *v, const lp_mem *m, size_t n);
/* The same, growing by cap / divisor (divisor >= 1) instead of by half when
 * it must grow: large arrays that grow for a long time (the identity graph's)
 * trade a few more reallocations for less unused capacity. */
int lp_vec_reserve_by(lp_vec *v, const lp_mem *m, size_t n, size_t divisor);
/* Append `count` elements copied from `src` (src may be NULL: zero-filled). */
int lp_vec_append(lp_vec *v, const lp_mem *m, const void *src, size_t count);
/* Append one element. */
static inline int lp_vec_push(lp_vec *v, const lp_mem *m, const void *elem) {
  return lp_vec_append(v, m, elem, 1);
}
static inline void *lp_vec_at(const lp_vec *v, size_t i) {
  return v->data + i * v->esz;
}
/* Release the memory; the vec is empty and reusable afterwards. */
void lp_vec_free(lp_vec *v, const lp_mem *m);
/* Shrink the capacity to the length (LP_ENOMEM leaves it as it was). */
int lp_vec_shrink(lp_vec *v, const lp_mem *m);

#endif /* LP_CORE_VEC_H */
