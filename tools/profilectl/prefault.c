/*
 * profilectl - an allocator whose large blocks are faulted in ahead on a
 * thread of their own (prefault.h says why).
 * SPDX-License-Identifier: MIT
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* mremap */
#endif
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "prefault.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PCTL_PREFAULT_PLAIN builds the fallback alone (its unit test). */
#if defined(_POSIX_MAPPED_FILES) && _POSIX_MAPPED_FILES > 0 && !defined(PCTL_PREFAULT_PLAIN)
#include <sys/mman.h>
#define PF_MAP 1
#if defined(MADV_POPULATE_WRITE) && defined(_POSIX_THREADS) && _POSIX_THREADS > 0
#include <pthread.h>
#define PF_AHEAD 1
#endif
#endif

/* ---- large blocks: their own anonymous mappings ---- */

#if defined(PF_MAP)
static size_t page_size(void) {
  static size_t page;
  if (page == 0) {
    long p = sysconf(_SC_PAGESIZE);
    page = p > 0 ? (size_t)p : 4096;
  }
  return page;
}

/* Bytes of the mapping of a block of n bytes; 0 when that overflows. */
static size_t mapped(size_t n) {
  size_t pg = page_size();
  return n > SIZE_MAX - pg ? 0 : (n + pg - 1) / pg * pg;
}

static void *map(size_t n) {
  size_t len = mapped(n);
  if (len == 0) return NULL;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void unmap(void *p, size_t n) { (void)munmap(p, mapped(n)); }
#else
static void *map(size_t n) { return malloc(n); }
static void unmap(void *p, size_t n) {
  (void)n;
  free(p);
}
#endif

/* ---- the thread and its queue ---- */

#if defined(PF_AHEAD)
#define PF_QUEUE 64                 /* blocks waiting; more are not faulted ahead */
#define PF_CHUNK ((size_t)1 << 21) /* populated per call: a free waits at most this */

typedef struct pf_block {
  char *p;
  size_t len, done;
} pf_block;

/* One per process. `busy` is the range the thread populates right now,
 * outside the lock: a free or a resize of that block waits for it (cv). */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  bool running, stop, tried;
  pf_block q[PF_QUEUE];
  size_t head, n;
  const char *busy;
  size_t busy_len, done_bytes;
} pf = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *pf_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&pf.mu);
  for (;;) {
    while (!pf.stop && pf.n == 0) pthread_cond_wait(&pf.cv, &pf.mu);
    if (pf.stop) break;
    pf_block *b = &pf.q[pf.head];
    size_t len = b->len - b->done < PF_CHUNK ? b->len - b->done : PF_CHUNK;
    char *at = b->p + b->done;
    b->done += len;
    if (b->done == b->len) {
      pf.head = (pf.head + 1) % PF_QUEUE;
      pf.n--;
    }
    pf.busy = at;
    pf.busy_len = len;
    pthread_mutex_unlock(&pf.mu);
    int rc = madvise(at, len, MADV_POPULATE_WRITE);
    int err = errno;
    pthread_mutex_lock(&pf.mu);
    pf.busy = NULL;
    pf.busy_len = 0;
    if (rc == 0) pf.done_bytes += len;
    else if (err == EINVAL) pf.n = 0; /* a kernel without it: stop trying */
    pthread_cond_broadcast(&pf.cv);
  }
  pthread_mutex_unlock(&pf.mu);
  return NULL;
}

/* The forking thread holds the lock across fork(); the child has no
 * thread, so it starts over without one. */
static void pf_prepare(void) { pthread_mutex_lock(&pf.mu); }
static void pf_parent(void) { pthread_mutex_unlock(&pf.mu); }
static void pf_child(void) {
  pthread_mutex_init(&pf.mu, NULL);
  pthread_cond_init(&pf.cv, NULL);
  pf.running = false;
  pf.n = 0;
  pf.busy = NULL;
  pf.busy_len = 0;
}

static void enqueue(char *p, size_t n) {
  pthread_mutex_lock(&pf.mu);
  if (pf.running && pf.n < PF_QUEUE) {
    pf_block *b = &pf.q[(pf.head + pf.n) % PF_QUEUE];
    b->p = p;
    b->len = mapped(n);
    b->done = 0;
    pf.n++;
    pthread_cond_broadcast(&pf.cv);
  }
  pthread_mutex_unlock(&pf.mu);
}

/* The block at p (n bytes) is about to be unmapped or moved: out of the
 * queue, and not being populated. */
static void withdraw(char *p, size_t n) {
  size_t len = mapped(n);
  pthread_mutex_lock(&pf.mu);
  while (pf.busy != NULL && pf.busy >= p && pf.busy < p + len) pthread_cond_wait(&pf.cv, &pf.mu);
  for (size_t i = 0; i < pf.n; i++) {
    pf_block *b = &pf.q[(pf.head + i) % PF_QUEUE];
    if (b->p == p) b->done = b->len; /* nothing left of it to populate */
  }
  /* drop the finished blocks at the head (the thread skips none of them) */
  while (pf.n > 0 && pf.q[pf.head].done == pf.q[pf.head].len) {
    pf.head = (pf.head + 1) % PF_QUEUE;
    pf.n--;
  }
  pthread_mutex_unlock(&pf.mu);
}

static bool start(void) {
  pthread_mutex_lock(&pf.mu);
  if (!pf.tried) {
    pf.tried = true;
    pf.stop = false;
    if (pthread_atfork(pf_prepare, pf_parent, pf_child) == 0)
      pf.running = pthread_create(&pf.thread, NULL, pf_main, NULL) == 0;
  }
  bool running = pf.running;
  pthread_mutex_unlock(&pf.mu);
  return running;
}

void pctl_prefault_stop(void) {
  pthread_mutex_lock(&pf.mu);
  bool running = pf.running;
  pf.stop = true;
  pf.running = false;
  pf.n = 0;
  pthread_cond_broadcast(&pf.cv);
  pthread_mutex_unlock(&pf.mu);
  if (running) pthread_join(pf.thread, NULL);
}

size_t pctl_prefault_done_bytes(void) {
  pthread_mutex_lock(&pf.mu);
  size_t d = pf.done_bytes;
  pthread_mutex_unlock(&pf.mu);
  return d;
}
#else
static void enqueue(char *p, size_t n) {
  (void)p;
  (void)n;
}
static void withdraw(char *p, size_t n) {
  (void)p;
  (void)n;
}
static bool start(void) { return false; }
void pctl_prefault_stop(void) {}
size_t pctl_prefault_done_bytes(void) { return 0; }
#endif

/* ---- the allocator ---- */

static bool large(size_t n) { return n >= PCTL_PREFAULT_MIN; }

static void *pf_alloc(void *ud, size_t size) {
  (void)ud;
  if (!large(size)) return malloc(size);
  char *p = map(size);
  if (p != NULL) enqueue(p, size);
  return p;
}

static void pf_free(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (!large(size)) {
    free(ptr);
    return;
  }
  withdraw(ptr, size);
  unmap(ptr, size);
}

static void *pf_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  (void)ud;
  if (!large(old_size) && !large(new_size)) return realloc(ptr, new_size);
#if defined(PF_MAP) && defined(__linux__)
  if (large(old_size) && large(new_size)) {
    size_t from = mapped(old_size), to = mapped(new_size);
    if (to == 0) return NULL;
    withdraw(ptr, old_size);
    void *q = mremap(ptr, from, to, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
  }
#endif
  /* across the threshold (or no mremap): a new block and a copy; the new
   * block is not faulted ahead (its growth may stay unused) */
  void *q = large(new_size) ? map(new_size) : malloc(new_size);
  if (q == NULL) return NULL;
  memcpy(q, ptr, old_size < new_size ? old_size : new_size);
  pf_free(ud, ptr, old_size);
  return q;
}

bool pctl_prefault_allocator(lp_allocator *out) {
  lp_allocator a = LP_ALLOCATOR_INIT;
  a.alloc = pf_alloc;
  a.realloc = pf_realloc;
  a.free = pf_free;
  *out = a;
  return start();
}
