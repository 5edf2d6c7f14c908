/*
 * profilectl - a step run in a child process (child.h).
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE /* wait4() */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* The report: one status byte ('0' success, '1' failure), then the
 * message's bytes, then end of file (the child exits). */
#define REPORT_MSG_CAP 8600

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return; /* the parent sees a short report: a failure */
    p += k;
    n -= (size_t)k;
  }
}

static void child_main(int fd, pctl_child_fn fn, void *ud) {
  static char report[1 + REPORT_MSG_CAP];
  report[1] = '\0';
  int st = fn(ud, report + 1, REPORT_MSG_CAP);
  report[0] = st == 0 ? '0' : '1';
  write_all(fd, report, st == 0 ? 1 : 1 + strlen(report + 1));
  /* _exit: no atexit handler (nor the sanitizers' leak check, which runs
   * from one) and no flush of stdio buffers copied from the parent */
  _exit(st == 0 ? 0 : 1);
}

bool pctl_child_start(pctl_child *c, pctl_child_fn fn, void *ud) {
  c->pid = 0;
  c->fd = -1;
#if !defined(__unix__) && !defined(__APPLE__)
  (void)fn;
  (void)ud;
  return false; /* no fork(): the caller does the work itself */
#else
  int p[2];
  if (pipe(p) != 0) return false;
  (void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (pid == 0) {
    close(p[0]);
    child_main(p[1], fn, ud);
  }
  close(p[1]);
  c->pid = pid;
  c->fd = p[0];
  return true;
#endif
}

static pid_t reap(pid_t pid, int *status, struct rusage *ru) {
  pid_t r;
  do r = wait4(pid, status, 0, ru);
  while (r < 0 && errno == EINTR);
  return r;
}

int pctl_child_wait(pctl_child *c, char *msg, size_t cap, pctl_child_usage *u) {
  char report[1 + REPORT_MSG_CAP];
  size_t got = 0;
  for (;;) {
    ssize_t k = read(c->fd, report + got, sizeof report - 1 - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
    if (got == sizeof report - 1) break;
  }
  report[got] = '\0';
  close(c->fd);
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  pid_t r = reap(c->pid, &status, &ru);
  int err = errno;
  c->pid = 0;
  c->fd = -1;
  if (u != NULL) {
    u->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
    u->sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    u->peak_mib = (double)ru.ru_maxrss / 1024.0;
  }
  bool exited = r >= 0 && WIFEXITED(status);
  if (exited && WEXITSTATUS(status) == 0 && got >= 1 && report[0] == '0') return 0;
  if (exited && got >= 1 && report[0] == '1') {
    snprintf(msg, cap, "%s", report + 1);
    return -1;
  }
  if (r < 0) snprintf(msg, cap, "could not be waited for: %s", strerror(err));
  else if (WIFSIGNALED(status)) snprintf(msg, cap, "was killed by signal %d", WTERMSIG(status));
  else {
    snprintf(msg, cap, "ended without a report (exit status %d)", exited ? WEXITSTATUS(status) : -1);
    return exited ? -3 : -2;
  }
  return -2;
}

void pctl_child_cancel(pctl_child *c) {
  if (c->pid <= 0) return;
  (void)kill(c->pid, SIGKILL);
  int status;
  (void)reap(c->pid, &status, NULL);
  close(c->fd);
  c->pid = 0;
  c->fd = -1;
}
