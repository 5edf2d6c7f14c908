/*
 * Internal: arena (bump allocator over chunks) for many small, stable
 * allocations that die together.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_ARENA_H
#define LP_CORE_ARENA_H

#include "core/mem.h"

typedef struct lp_arena_chunk lp_arena_chunk;

typedef struct lp_arena {
  lp_arena_chunk *head; /* newest chunk; allocation happens here */
  size_t used;          /* bytes used in head */
  size_t total;         /* bytes held in all chunks, headers included */
} lp_arena;

static inline void lp_arena_init(lp_arena *a) {
  a->head = NULL;
  a->used = 0;
  a->total = 0;
}

/* `size` bytes aligned to `align` (a power of two, at most
 * LP_ALLOC_ALIGNMENT), stable until lp_arena_free. NULL on failure (the
 * arena is unchanged) or when size is 0. */
void *lp_arena_alloc(lp_arena *a, const lp_mem *m, size_t size, size_t align);
/* Copy of `len` bytes plus a NUL terminator. */
char *lp_arena_strdup(lp_arena *a, const lp_mem *m, const char *s, size_t len);
void lp_arena_free(lp_arena *a, const lp_mem *m);

#endif /* LP_CORE_ARENA_H */
