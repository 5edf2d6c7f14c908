/*
 * Fork-join over POSIX threads, or in order where there are none.
 * SPDX-License-Identifier: MIT
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "par.h"

#include <stdbool.h>

#if !defined(_WIN32)
#include <unistd.h>
#endif
#if defined(_POSIX_THREADS) && _POSIX_THREADS > 0
#include <pthread.h>
#define PCTL_PAR_THREADS 1
#else
#define PCTL_PAR_THREADS 0
#endif

typedef struct job {
  void (*fn)(void *task);
  void *task;
} job;

#if PCTL_PAR_THREADS
static void *trampoline(void *arg) {
  job *j = arg;
  j->fn(j->task);
  return NULL;
}
#endif

void pctl_par_run(size_t n, void (*fn)(void *task), void *tasks, size_t size) {
  char *base = tasks;
  size_t first = 1; /* tasks below this one have been taken care of */
#if PCTL_PAR_THREADS
  job jobs[PCTL_PAR_MAX];
  pthread_t tid[PCTL_PAR_MAX];
  bool started[PCTL_PAR_MAX];
  size_t spawn = n < PCTL_PAR_MAX ? n : PCTL_PAR_MAX;
  for (size_t i = 1; i < spawn; i++) {
    jobs[i].fn = fn;
    jobs[i].task = base + i * size;
    started[i] = pthread_create(&tid[i], NULL, trampoline, &jobs[i]) == 0;
  }
  if (n > 0) fn(base);
  for (size_t i = 1; i < spawn; i++) {
    if (started[i]) pthread_join(tid[i], NULL);
    else fn(base + i * size);
  }
  first = spawn > 0 ? spawn : 1;
#else
  if (n > 0) fn(base);
#endif
  for (size_t i = first; i < n; i++) fn(base + i * size);
}

unsigned pctl_par_cpus(void) {
#if defined(_SC_NPROCESSORS_ONLN)
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n > 0) return n > 1024 ? 1024u : (unsigned)n;
#endif
  return 1;
}
