/*
 * Background file I/O: a writer whose buffers, filled on the caller's
 * thread, are written on the writer's own thread in order, and a reader
 * that reads a file ahead on its own thread; both over one bounded ring
 * of buffers.
 * SPDX-License-Identifier: MIT
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* O_DIRECT */
#endif
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "bgwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libprofile/core.h"

/* PCTL_BGW_NO_THREADS builds the fallback alone (its unit test). */
#if defined(_POSIX_THREADS) && _POSIX_THREADS > 0 && !defined(PCTL_BGW_NO_THREADS)
#include <pthread.h>
#define BGW_THREADS 1
#else
#define BGW_THREADS 0
#endif

/* ---- the ring both sides share ---- */

/* A fixed set of buffers: free ones (a stack) and queued ones (a FIFO
 * with their lengths), the rest held by one side or the other. The
 * producer fills free buffers and queues them; the consumer takes queued
 * ones and frees them. One of the two runs on the ring's thread. */
typedef struct ring {
  size_t buf_size, nbufs;
  char **bufs; /* every buffer, for free() */
  char **free_list;
  size_t nfree;
  char **queue;
  size_t *queue_len;
  size_t head, nqueued;
  int err;      /* errno of the first failure */
  bool closing; /* the caller stops the thread */
#if BGW_THREADS
  bool threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t freed;  /* a buffer was freed, or closing */
  pthread_cond_t queued; /* a buffer was queued, or the producer ended */
#endif
} ring;

#if BGW_THREADS
#define LOCK(q) ((q)->threaded ? (void)pthread_mutex_lock(&(q)->mu) : (void)0)
#define UNLOCK(q) ((q)->threaded ? (void)pthread_mutex_unlock(&(q)->mu) : (void)0)
#define SIGNAL(q, c) ((q)->threaded ? (void)pthread_cond_signal(&(q)->c) : (void)0)
#else
#define LOCK(q) ((void)0)
#define UNLOCK(q) ((void)0)
#define SIGNAL(q, c) ((void)0)
#endif

/* Buffers start on a BGW_ALIGN boundary, as direct I/O wants them (any
 * buffer can be freed with free()). */
#define BGW_ALIGN ((size_t)4096)

static char *aligned_buf(size_t size) {
  void *p = NULL;
  if (posix_memalign(&p, BGW_ALIGN, size) != 0) return NULL;
  return p;
}

static void ring_free(ring *q) {
  if (q->bufs != NULL)
    for (size_t i = 0; i < q->nbufs; i++) free(q->bufs[i]);
  free(q->bufs);
  free(q->free_list);
  free(q->queue);
  free(q->queue_len);
}

/* 0, EINVAL or ENOMEM (nothing left allocated). */
static int ring_init(ring *q, size_t buf_size, size_t nbufs) {
  memset(q, 0, sizeof *q);
  if (buf_size == 0 || nbufs < 2 || nbufs > 1024) return EINVAL;
  q->buf_size = buf_size;
  q->nbufs = nbufs;
  q->bufs = calloc(nbufs, sizeof *q->bufs);
  q->free_list = calloc(nbufs, sizeof *q->free_list);
  q->queue = calloc(nbufs, sizeof *q->queue);
  q->queue_len = calloc(nbufs, sizeof *q->queue_len);
  bool ok = q->bufs != NULL && q->free_list != NULL && q->queue != NULL && q->queue_len != NULL;
  for (size_t i = 0; ok && i < nbufs; i++) {
    q->bufs[i] = aligned_buf(buf_size);
    ok = q->bufs[i] != NULL;
    if (ok) q->free_list[q->nfree++] = q->bufs[i];
  }
  if (!ok) {
    ring_free(q);
    return ENOMEM;
  }
  return 0;
}

/* Start fn(arg) on the ring's thread; without one the ring stays
 * unthreaded and the caller does the thread's work inline. */
static void ring_start(ring *q, void *(*fn)(void *), void *arg) {
#if BGW_THREADS
  if (pthread_mutex_init(&q->mu, NULL) != 0) return;
  if (pthread_cond_init(&q->freed, NULL) == 0) {
    if (pthread_cond_init(&q->queued, NULL) == 0) {
      /* set before the thread starts, which reads it (LOCK, UNLOCK) */
      q->threaded = true;
      if (pthread_create(&q->thread, NULL, fn, arg) != 0) q->threaded = false;
      if (!q->threaded) pthread_cond_destroy(&q->queued);
    }
    if (!q->threaded) pthread_cond_destroy(&q->freed);
  }
  if (!q->threaded) pthread_mutex_destroy(&q->mu);
#else
  (void)q;
  (void)fn;
  (void)arg;
#endif
}

/* Tell the thread to stop once its loop sees closing, and join it. */
static void ring_stop(ring *q) {
#if BGW_THREADS
  if (!q->threaded) return;
  pthread_mutex_lock(&q->mu);
  q->closing = true;
  pthread_cond_broadcast(&q->freed);
  pthread_cond_broadcast(&q->queued);
  pthread_mutex_unlock(&q->mu);
  pthread_join(q->thread, NULL);
  pthread_cond_destroy(&q->queued);
  pthread_cond_destroy(&q->freed);
  pthread_mutex_destroy(&q->mu);
  q->threaded = false;
#else
  q->closing = true;
#endif
}

/* Queue b with len bytes / take the oldest queued buffer; lock held. */
static void ring_push(ring *q, char *b, size_t len) {
  size_t tail = (q->head + q->nqueued) % q->nbufs;
  q->queue[tail] = b;
  q->queue_len[tail] = len;
  q->nqueued++;
}

static char *ring_pop(ring *q, size_t *len) {
  char *b = q->queue[q->head];
  *len = q->queue_len[q->head];
  q->head = (q->head + 1) % q->nbufs;
  q->nqueued--;
  return b;
}

/* A free buffer, waiting for one on a threaded ring; lock held. */
static char *ring_take_free(ring *q) {
#if BGW_THREADS
  while (q->threaded && q->nfree == 0 && !q->closing) pthread_cond_wait(&q->freed, &q->mu);
#endif
  return q->nfree > 0 ? q->free_list[--q->nfree] : NULL;
}

static void ring_give_free(ring *q, char *b) {
  q->free_list[q->nfree++] = b;
  SIGNAL(q, freed);
}

/* ---- the writer ---- */

struct pctl_bgw {
  ring q;
  int fd;
  bool own_fd;
  char *cur;   /* the buffer the producer fills, or NULL */
  size_t used; /* pctl_bgw_write()'s fill of cur */
  /* direct I/O (pctl_bgw_open_direct()): the descriptor has O_DIRECT, so
   * every write is BGW_ALIGN-aligned in memory, offset and length; bytes
   * that do not come so are gathered in stage (the writer's side) */
  bool direct;
  char *stage;
  size_t stage_cap, stage_len;
};

#if defined(O_DIRECT)
/* Direct I/O off: the rest of the file goes through the page cache (the
 * file system refused an aligned write, or the tail). */
static void direct_off(pctl_bgw *w) {
  int fl = fcntl(w->fd, F_GETFL);
  if (fl >= 0) (void)fcntl(w->fd, F_SETFL, fl & ~O_DIRECT);
  w->direct = false;
}
#else
static void direct_off(pctl_bgw *w) { w->direct = false; }
#endif

/* Every byte of buf, through short writes and interruptions: 0 or errno.
 * A direct write refused as unaligned (EINVAL: a short write before it, a
 * file system with larger blocks) is made again through the page cache. */
static int write_all(pctl_bgw *w, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(w->fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && w->direct) {
        direct_off(w);
        continue;
      }
      return errno != 0 ? errno : EIO;
    }
    if (n == 0) return EIO;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static bool is_aligned(const char *b, size_t len) {
  return (uintptr_t)b % BGW_ALIGN == 0 && len % BGW_ALIGN == 0;
}

/* The bytes of one queued buffer, in order: straight from the buffer when
 * they are aligned and nothing is gathered, else through the stage. */
static int put_bytes(pctl_bgw *w, const char *b, size_t len) {
  if (!w->direct) return write_all(w, b, len);
  if (w->stage_len == 0 && is_aligned(b, len)) return write_all(w, b, len);
  while (len > 0) {
    size_t k = w->stage_cap - w->stage_len;
    if (k > len) k = len;
    memcpy(w->stage + w->stage_len, b, k);
    w->stage_len += k;
    b += k;
    len -= k;
    if (w->stage_len == w->stage_cap) {
      int e = write_all(w, w->stage, w->stage_len);
      w->stage_len = 0;
      if (e != 0) return e;
      if (!w->direct) return write_all(w, b, len);
    }
  }
  return 0;
}

/* What the stage still holds: its aligned part directly, the tail through
 * the page cache. */
static int put_tail(pctl_bgw *w) {
  size_t n = w->stage_len, head = n - n % BGW_ALIGN;
  w->stage_len = 0;
  int e = head > 0 ? write_all(w, w->stage, head) : 0;
  if (e == 0 && n > head) {
    if (w->direct) direct_off(w);
    e = write_all(w, w->stage + head, n - head);
  }
  return e;
}

/* Write the oldest queued buffer (unless a write failed already) and free
 * it; lock held, released while writing. */
static void write_one(pctl_bgw *w) {
  size_t len;
  char *b = ring_pop(&w->q, &len);
  int failed = w->q.err;
  UNLOCK(&w->q);
  int e = failed == 0 ? put_bytes(w, b, len) : 0;
  LOCK(&w->q);
  if (e != 0 && w->q.err == 0) w->q.err = e;
  ring_give_free(&w->q, b);
}

#if BGW_THREADS
static void *writer_main(void *arg) {
  pctl_bgw *w = arg;
  ring *q = &w->q;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (q->nqueued == 0 && !q->closing) pthread_cond_wait(&q->queued, &q->mu);
    if (q->nqueued == 0) break; /* closing and drained */
    write_one(w);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}
#else
#define writer_main NULL
#endif

int pctl_bgw_start(pctl_bgw **out, int fd, bool own_fd, size_t buf_size, size_t nbufs) {
  if (out == NULL) return EINVAL;
  *out = NULL;
  pctl_bgw *w = calloc(1, sizeof *w);
  if (w == NULL) return ENOMEM;
  int e = ring_init(&w->q, buf_size, nbufs);
  if (e != 0) {
    free(w);
    return e;
  }
  w->fd = fd;
  w->own_fd = own_fd;
  ring_start(&w->q, writer_main, w);
  *out = w;
  return 0;
}

static int open_writer(pctl_bgw **out, const char *path, size_t buf_size, size_t nbufs,
                       bool direct) {
  if (out != NULL) *out = NULL;
  if (out == NULL || path == NULL) return EINVAL;
  int fd;
  do {
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno != 0 ? errno : EIO;
  int e = pctl_bgw_start(out, fd, true, buf_size, nbufs);
  if (e != 0) {
    close(fd);
    return e;
  }
#if defined(O_DIRECT)
  /* a regular file only (never a device or a FIFO), where the system
   * takes the flag; the stage is allocated first, so a failure leaves a
   * writer through the page cache */
  struct stat sb;
  pctl_bgw *w = *out;
  if (direct && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
    w->stage_cap = (buf_size + BGW_ALIGN - 1) / BGW_ALIGN * BGW_ALIGN;
    w->stage = aligned_buf(w->stage_cap);
    int fl = w->stage != NULL ? fcntl(fd, F_GETFL) : -1;
    w->direct = fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
  }
#else
  (void)direct;
#endif
  return 0;
}

int pctl_bgw_open(pctl_bgw **out, const char *path, size_t buf_size, size_t nbufs) {
  return open_writer(out, path, buf_size, nbufs, false);
}

int pctl_bgw_open_direct(pctl_bgw **out, const char *path, size_t buf_size, size_t nbufs) {
  return open_writer(out, path, buf_size, nbufs, true);
}

char *pctl_bgw_buffer(pctl_bgw *w, size_t *cap) {
  *cap = w->q.buf_size;
  if (w->cur != NULL) return w->cur;
  LOCK(&w->q);
  /* without a thread every commit is written at once: a buffer is free */
  w->cur = ring_take_free(&w->q);
  UNLOCK(&w->q);
  w->used = 0;
  return w->cur;
}

void pctl_bgw_commit(pctl_bgw *w, size_t len) {
  if (w->cur == NULL) return;
  if (len > w->q.buf_size) len = w->q.buf_size;
  LOCK(&w->q);
  if (len == 0) {
    ring_give_free(&w->q, w->cur);
  } else {
    ring_push(&w->q, w->cur, len);
#if BGW_THREADS
    if (w->q.threaded) pthread_cond_signal(&w->q.queued);
    else write_one(w);
#else
    write_one(w);
#endif
  }
  UNLOCK(&w->q);
  w->cur = NULL;
  w->used = 0;
}

int pctl_bgw_error(pctl_bgw *w) {
  LOCK(&w->q);
  int e = w->q.err;
  UNLOCK(&w->q);
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
  ring_stop(&w->q); /* the thread drains the queue before it sees closing */
  int e = w->q.err;
  if (e == 0 && w->stage_len > 0) e = put_tail(w);
  free(w->stage);
  if (w->own_fd && close(w->fd) != 0 && e == 0) e = errno != 0 ? errno : EIO;
  ring_free(&w->q);
  free(w);
  return e;
}

/* ---- the reader ---- */

struct pctl_bgr {
  ring q;
  int fd;
  bool ended; /* the producer read its last buffer (end of file or error) */
  char *cur;  /* the buffer the consumer copies from, or NULL */
  size_t cur_len, cur_pos;
};

/* Fill b from the file: its length (less than cap only at the end), with
 * *e set on a failure. */
static size_t read_full(int fd, char *b, size_t cap, int *e) {
  size_t n = 0;
  *e = 0;
  while (n < cap) {
    ssize_t k = read(fd, b + n, cap - n);
    if (k < 0) {
      if (errno == EINTR) continue;
      *e = errno != 0 ? errno : EIO;
      break;
    }
    if (k == 0) break;
    n += (size_t)k;
  }
  return n;
}

/* Read one buffer ahead into b (a free buffer); lock held, released while
 * reading. */
static void read_one(pctl_bgr *r, char *b) {
  UNLOCK(&r->q);
  int e;
  size_t n = read_full(r->fd, b, r->q.buf_size, &e);
  LOCK(&r->q);
  if (n > 0) ring_push(&r->q, b, n);
  else r->q.free_list[r->q.nfree++] = b;
  if (e != 0) r->q.err = e;
  if (e != 0 || n < r->q.buf_size) r->ended = true;
  SIGNAL(&r->q, queued);
}

#if BGW_THREADS
static void *reader_main(void *arg) {
  pctl_bgr *r = arg;
  ring *q = &r->q;
  pthread_mutex_lock(&q->mu);
  while (!r->ended && !q->closing) {
    char *b = ring_take_free(q);
    if (b == NULL) break; /* closing */
    read_one(r, b);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}
#else
#define reader_main NULL
#endif

int pctl_bgr_start(pctl_bgr **out, int fd, size_t buf_size, size_t nbufs) {
  if (out == NULL) return EINVAL;
  *out = NULL;
  pctl_bgr *r = calloc(1, sizeof *r);
  if (r == NULL) return ENOMEM;
  int e = ring_init(&r->q, buf_size, nbufs);
  if (e != 0) {
    free(r);
    return e;
  }
  r->fd = fd;
  ring_start(&r->q, reader_main, r);
  *out = r;
  return 0;
}

/* The next filled buffer into cur; false at the end (or after an error). */
static bool take_next(pctl_bgr *r) {
  ring *q = &r->q;
  LOCK(q);
  if (r->cur != NULL) ring_give_free(q, r->cur);
  r->cur = NULL;
#if BGW_THREADS
  while (q->threaded && q->nqueued == 0 && !r->ended) pthread_cond_wait(&q->queued, &q->mu);
#endif
  /* without a thread the consumer reads the next buffer itself */
  if (q->nqueued == 0 && !r->ended) read_one(r, q->free_list[--q->nfree]);
  bool have = q->nqueued > 0;
  if (have) {
    r->cur = ring_pop(q, &r->cur_len);
    r->cur_pos = 0;
  }
  UNLOCK(q);
  return have;
}

int pctl_bgr_read(void *ud, void *buf, size_t cap, size_t *got) {
  pctl_bgr *r = ud;
  char *p = buf;
  size_t n = 0;
  while (n < cap) {
    if ((r->cur == NULL || r->cur_pos == r->cur_len) && !take_next(r)) break;
    size_t k = r->cur_len - r->cur_pos;
    if (k > cap - n) k = cap - n;
    memcpy(p + n, r->cur + r->cur_pos, k);
    r->cur_pos += k;
    n += k;
  }
  *got = n;
  return n == 0 && cap > 0 && pctl_bgr_error(r) != 0 ? LP_EIO : LP_OK;
}

int pctl_bgr_error(pctl_bgr *r) {
  LOCK(&r->q);
  int e = r->q.err;
  UNLOCK(&r->q);
  return e;
}

void pctl_bgr_close(pctl_bgr *r) {
  if (r == NULL) return;
  ring_stop(&r->q);
  ring_free(&r->q);
  free(r);
}
