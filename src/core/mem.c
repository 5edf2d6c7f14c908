/*
 * The per-handle allocator: C library defaults and checked array helpers.
 * SPDX-License-Identifier: MIT
 */
#include "core/mem.h"

#include <stdlib.h>

static void *libc_alloc(void *ud, size_t size) {
  (void)ud;
  return malloc(size);
}

static void *libc_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  (void)ud;
  (void)old_size;
  return realloc(ptr, new_size);
}

static void libc_free(void *ud, void *ptr, size_t size) {
  (void)ud;
  (void)size;
  free(ptr);
}

int lp_allocator_check(const lp_allocator *a) {
  if (a == NULL) return LP_OK;
  if (a->struct_size < sizeof(lp_allocator)) return LP_EINVAL;
  if ((a->alloc == NULL) != (a->free == NULL)) return LP_EINVAL;
  return LP_OK;
}

int lp_mem_init(lp_mem *m, const lp_allocator *a) {
  int rc = lp_allocator_check(a);
  if (rc != LP_OK) return rc;
  if (a == NULL || a->alloc == NULL) {
    m->ud = NULL;
    m->alloc = libc_alloc;
    m->realloc = libc_realloc;
    m->free = libc_free;
  } else {
    m->ud = a->ud;
    m->alloc = a->alloc;
    m->realloc = a->realloc;
    m->free = a->free;
  }
  return LP_OK;
}

void lp_mem_allocator(const lp_mem *m, lp_allocator *out) {
  const lp_allocator init = LP_ALLOCATOR_INIT;
  *out = init;
  out->ud = m->ud;
  out->alloc = m->alloc;
  out->realloc = m->realloc;
  out->free = m->free;
}

void *lp_mem_alloc(const lp_mem *m, size_t size) {
  if (size == 0) return NULL;
  return m->alloc(m->ud, size);
}

void *lp_mem_zalloc(const lp_mem *m, size_t size) {
  void *p = lp_mem_alloc(m, size);
  if (p != NULL) memset(p, 0, size);
  return p;
}

void *lp_mem_realloc(const lp_mem *m, void *ptr, size_t old_size, size_t new_size) {
  if (new_size == 0) return NULL;
  if (ptr == NULL) return lp_mem_alloc(m, new_size);
  if (m->realloc != NULL) return m->realloc(m->ud, ptr, old_size, new_size);
  void *p = m->alloc(m->ud, new_size);
  if (p == NULL) return NULL;
  memcpy(p, ptr, old_size < new_size ? old_size : new_size);
  m->free(m->ud, ptr, old_size);
  return p;
}

void lp_mem_free(const lp_mem *m, void *ptr, size_t size) {
  if (ptr != NULL) m->free(m->ud, ptr, size);
}

int lp_mem_alloc_array(const lp_mem *m, size_t n, size_t esz, void **out) {
  size_t bytes;
  if (lp_mul_overflow(n, esz, &bytes) || bytes == 0) return LP_ELIMIT;
  void *p = lp_mem_alloc(m, bytes);
  if (p == NULL) return LP_ENOMEM;
  *out = p;
  return LP_OK;
}

int lp_mem_realloc_array(const lp_mem *m, void **ptr, size_t old_n, size_t new_n,
                         size_t esz) {
  size_t old_bytes, new_bytes;
  if (lp_mul_overflow(old_n, esz, &old_bytes) ||
      lp_mul_overflow(new_n, esz, &new_bytes) || new_bytes == 0)
    return LP_ELIMIT;
  void *p = lp_mem_realloc(m, *ptr, old_bytes, new_bytes);
  if (p == NULL) return LP_ENOMEM;
  *ptr = p;
  return LP_OK;
}

void lp_mem_free_array(const lp_mem *m, void *ptr, size_t n, size_t esz) {
  /* n * esz cannot overflow: the block was allocated with that size. */
  lp_mem_free(m, ptr, n * esz);
}

int lp_mem_new_handle(const lp_allocator *a, size_t size, void **out) {
  lp_mem m;
  int rc = lp_mem_init(&m, a);
  if (rc != LP_OK) return rc;
  void *h = lp_mem_zalloc(&m, size);
  if (h == NULL) return LP_ENOMEM;
  memcpy(h, &m, sizeof m);
  *out = h;
  return LP_OK;
}

void lp_mem_free_handle(void *handle, size_t size) {
  if (handle == NULL) return;
  lp_mem m;
  memcpy(&m, handle, sizeof m);
  lp_mem_free(&m, handle, size);
}
