/*
 * Arena allocator.
 * SPDX-License-Identifier: MIT
 */
#include "core/arena.h"

struct lp_arena_chunk {
  lp_arena_chunk *prev;
  size_t size; /* usable bytes after the header */
};

/* The header is padded so the first usable byte keeps the allocator's
 * alignment. */
#define CHUNK_HEADER \
  ((sizeof(lp_arena_chunk) + LP_ALLOC_ALIGNMENT - 1) & ~(size_t)(LP_ALLOC_ALIGNMENT - 1))
#define CHUNK_MIN 4096
#define CHUNK_MAX (1u << 20)

static unsigned char *chunk_data(lp_arena_chunk *c) { return (unsigned char *)c + CHUNK_HEADER; }

void *lp_arena_alloc(lp_arena *a, const lp_mem *m, size_t size, size_t align) {
  if (size == 0 || align == 0 || (align & (align - 1)) != 0 || align > LP_ALLOC_ALIGNMENT)
    return NULL;
  if (a->head != NULL) {
    size_t at = (a->used + align - 1) & ~(align - 1);
    if (at <= a->head->size && size <= a->head->size - at) {
      a->used = at + size;
      return chunk_data(a->head) + at;
    }
  }
  /* New chunk: grow with the arena so the chunk count stays logarithmic,
   * but never less than the request. */
  size_t want = a->total < CHUNK_MIN ? CHUNK_MIN : a->total;
  if (want > CHUNK_MAX) want = CHUNK_MAX;
  if (want < size) want = size;
  size_t bytes;
  if (lp_add_overflow(want, CHUNK_HEADER, &bytes)) return NULL;
  lp_arena_chunk *c = lp_mem_alloc(m, bytes);
  if (c == NULL) return NULL;
  c->prev = a->head;
  c->size = want;
  a->head = c;
  a->total += bytes;
  a->used = size;
  return chunk_data(c);
}

char *lp_arena_strdup(lp_arena *a, const lp_mem *m, const char *s, size_t len) {
  size_t n;
  if (lp_add_overflow(len, 1, &n)) return NULL;
  char *p = lp_arena_alloc(a, m, n, 1);
  if (p == NULL) return NULL;
  if (len > 0) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

void lp_arena_free(lp_arena *a, const lp_mem *m) {
  lp_arena_chunk *c = a->head;
  while (c != NULL) {
    lp_arena_chunk *prev = c->prev;
    lp_mem_free(m, c, CHUNK_HEADER + c->size);
    c = prev;
  }
  lp_arena_init(a);
}
