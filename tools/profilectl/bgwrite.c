/*
 * A background writer: buffers filled on the caller's thread, written on
 * the writer's own thread in order, memory bounded by a fixed set of
 * buffers.
 * SPDX-License-Identifier: MIT
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "bgwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libprofile/core.h"

#if defined(_POSIX_THREADS) && _POSIX_THREADS > 0
#include <pthread.h>
#define BGW_THREADS 1
#else
#define BGW_THREADS 0
#endif

struct pctl_bgw {
  int fd;
  bool own_fd;
  size_t buf_size, nbufs;
  char **bufs;  /* every buffer, for free() */
  /* Free buffers (a stack) and queued ones (a ring, oldest first, with
   * their lengths); together with cur they hold every buffer. */
  char **free_list;
  size_t nfree;
  char **queue;
  size_t *queue_len;
  size_t head, nqueued;
  char *cur;    /* the buffer the producer fills, or NULL */
  size_t used;  /* pctl_bgw_write()'s fill of cur */
  int err;      /* errno of the first failure */
  bool closing;
#if BGW_THREADS
  bool threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t can_fill;  /* a buffer came back to the free list */
  pthread_cond_t can_write; /* a buffer was queued, or closing */
#endif
};

#if BGW_THREADS
#define LOCK(w) ((w)->threaded ? (void)pthread_mutex_lock(&(w)->mu) : (void)0)
#define UNLOCK(w) ((w)->threaded ? (void)pthread_mutex_unlock(&(w)->mu) : (void)0)
#else
#define LOCK(w) ((void)0)
#define UNLOCK(w) ((void)0)
#endif

/* Every byte of buf, through short writes and interruptions: 0 or errno. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno != 0 ? errno : EIO;
    }
    if (n == 0) return EIO;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Write one queued buffer (unless a write failed already) and give it
 * back; called with the lock held, which is released while writing. */
static void write_one(pctl_bgw *w) {
  char *b = w->queue[w->head];
  size_t len = w->queue_len[w->head];
  w->head = (w->head + 1) % w->nbufs;
  w->nqueued--;
  int failed = w->err;
  UNLOCK(w);
  int e = failed == 0 ? write_all(w->fd, b, len) : 0;
  LOCK(w);
  if (e != 0 && w->err == 0) w->err = e;
  w->free_list[w->nfree++] = b;
}

#if BGW_THREADS
static void *writer_main(void *arg) {
  pctl_bgw *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->nqueued == 0 && !w->closing) pthread_cond_wait(&w->can_write, &w->mu);
    if (w->nqueued == 0) break; /* closing and drained */
    write_one(w);
    pthread_cond_signal(&w->can_fill);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}
#endif

static void free_writer(pctl_bgw *w) {
  if (w->bufs != NULL)
    for (size_t i = 0; i < w->nbufs; i++) free(w->bufs[i]);
  free(w->bufs);
  free(w->free_list);
  free(w->queue);
  free(w->queue_len);
  free(w);
}

int pctl_bgw_start(pctl_bgw **out, int fd, bool own_fd, size_t buf_size, size_t nbufs) {
  if (out == NULL) return EINVAL;
  *out = NULL;
  if (buf_size == 0 || nbufs < 2 || nbufs > 1024) return EINVAL;
  pctl_bgw *w = calloc(1, sizeof *w);
  if (w == NULL) return ENOMEM;
  w->fd = fd;
  w->own_fd = own_fd;
  w->buf_size = buf_size;
  w->nbufs = nbufs;
  w->bufs = calloc(nbufs, sizeof *w->bufs);
  w->free_list = calloc(nbufs, sizeof *w->free_list);
  w->queue = calloc(nbufs, sizeof *w->queue);
  w->queue_len = calloc(nbufs, sizeof *w->queue_len);
  bool ok = w->bufs != NULL && w->free_list != NULL && w->queue != NULL && w->queue_len != NULL;
  for (size_t i = 0; ok && i < nbufs; i++) {
    w->bufs[i] = malloc(buf_size);
    ok = w->bufs[i] != NULL;
    if (ok) w->free_list[w->nfree++] = w->bufs[i];
  }
  if (!ok) {
    free_writer(w);
    return ENOMEM;
  }
#if BGW_THREADS
  if (pthread_mutex_init(&w->mu, NULL) == 0) {
    if (pthread_cond_init(&w->can_fill, NULL) == 0) {
      if (pthread_cond_init(&w->can_write, NULL) == 0) {
        w->threaded = pthread_create(&w->thread, NULL, writer_main, w) == 0;
        if (!w->threaded) pthread_cond_destroy(&w->can_write);
      }
      if (!w->threaded) pthread_cond_destroy(&w->can_fill);
    }
    if (!w->threaded) pthread_mutex_destroy(&w->mu);
  }
#endif
  *out = w;
  return 0;
}

int pctl_bgw_open(pctl_bgw **out, const char *path, size_t buf_size, size_t nbufs) {
  if (out != NULL) *out = NULL;
  if (out == NULL || path == NULL) return EINVAL;
  int fd;
  do {
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno != 0 ? errno : EIO;
  int e = pctl_bgw_start(out, fd, true, buf_size, nbufs);
  if (e != 0) close(fd);
  return e;
}

char *pctl_bgw_buffer(pctl_bgw *w, size_t *cap) {
  *cap = w->buf_size;
  if (w->cur != NULL) return w->cur;
  LOCK(w);
#if BGW_THREADS
  while (w->threaded && w->nfree == 0) pthread_cond_wait(&w->can_fill, &w->mu);
#endif
  /* without a thread every commit is written at once: a buffer is free */
  w->cur = w->free_list[--w->nfree];
  UNLOCK(w);
  w->used = 0;
  return w->cur;
}

void pctl_bgw_commit(pctl_bgw *w, size_t len) {
  if (w->cur == NULL) return;
  if (len > w->buf_size) len = w->buf_size;
  LOCK(w);
  if (len == 0) {
    w->free_list[w->nfree++] = w->cur;
  } else {
    size_t tail = (w->head + w->nqueued) % w->nbufs;
    w->queue[tail] = w->cur;
    w->queue_len[tail] = len;
    w->nqueued++;
#if BGW_THREADS
    if (w->threaded) pthread_cond_signal(&w->can_write);
    else write_one(w);
#else
    write_one(w);
#endif
  }
  UNLOCK(w);
  w->cur = NULL;
  w->used = 0;
}

int pctl_bgw_error(pctl_bgw *w) {
  LOCK(w);
  int e = w->err;
  UNLOCK(w);
  return e;
}

int pctl_bgw_write(void *ud, const void *buf, size_t len) {
  pctl_bgw *w = ud;
  const char *p = buf;
  while (len > 0) {
    size_t cap;
    char *b = pctl_bgw_buffer(w, &cap);
    size_t k = cap - w->used;
    if (k > len) k = len;
    memcpy(b + w->used, p, k);
    w->used += k;
    p += k;
    len -= k;
    if (w->used == cap) {
      pctl_bgw_commit(w, cap);
      if (pctl_bgw_error(w) != 0) return LP_EIO;
    }
  }
  return LP_OK;
}

int pctl_bgw_close(pctl_bgw *w) {
  if (w == NULL) return 0;
  pctl_bgw_commit(w, w->used);
#if BGW_THREADS
  if (w->threaded) {
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_signal(&w->can_write);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->can_write);
    pthread_cond_destroy(&w->can_fill);
    pthread_mutex_destroy(&w->mu);
  }
#endif
  int e = w->err;
  if (w->own_fd && close(w->fd) != 0 && e == 0) e = errno != 0 ? errno : EIO;
  free_writer(w);
  return e;
}
