/*
 * cni-runner: starts CNI plugin processes for the benchmarks the way a container runtime
 * does (a Go runtime forks with CLONE_VM|CLONE_VFORK), so that what a benchmark measures is
 * the plugins and not the cost of forking the Node.js process that drives them. Node's
 * child_process forks a copy of its (large) address space for every call; on this VM that
 * cost 2–3 ms of CPU per call in the driver alone, as much as the IPAM it was measuring.
 *
 * Protocol, over stdin and stdout. A job is one line:
 *     id TAB plugin-path TAB stdin-text TAB NAME=VALUE TAB NAME=VALUE ... LF
 * (fields hold no TAB or LF; the driver checks). The plugin starts at once with exactly
 * that environment and stdin. For each job that ends, one header line
 *     id SP exit-code SP elapsed-microseconds SP stdout-length SP stderr-length LF
 * followed by the stdout bytes then the stderr bytes. The exit code is 128+N when the plugin
 * was killed by signal N, and -1 when it could not be started. EOF on stdin: the runner
 * waits for the jobs in flight and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 4096
#define MAX_LINE (1 << 20)
#define MAX_FIELDS 64

struct buf {
  char *p;
  size_t len, cap;
};

struct job {
  long id;
  pid_t pid;
  int out, err; /* -1 once at EOF */
  struct buf o, e;
  struct timespec t0;
};

static struct job *jobs[MAX_JOBS];
static int njobs;

static void die(const char *what) {
  fprintf(stderr, "cni-runner: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void append(struct buf *b, const char *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) die("realloc");
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("write");
    p += w;
    n -= (size_t)w;
  }
}

static long elapsed_us(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000000L + (t.tv_nsec - t0->tv_nsec) / 1000L;
}

static void report(long id, int code, long us, const struct buf *o, const struct buf *e) {
  char head[128];
  int n = snprintf(head, sizeof head, "%ld %d %ld %zu %zu\n", id, code, us, o ? o->len : 0, e ? e->len : 0);
  write_all(1, head, (size_t)n);
  if (o && o->len) write_all(1, o->p, o->len);
  if (e && e->len) write_all(1, e->p, e->len);
}

static void start(char *line) {
  char *field[MAX_FIELDS];
  int nf = 0;
  for (char *s = line; nf < MAX_FIELDS;) {
    field[nf++] = s;
    char *tab = strchr(s, '\t');
    if (!tab) break;
    *tab = 0;
    s = tab + 1;
  }
  if (nf < 3) {
    fprintf(stderr, "cni-runner: malformed job line\n");
    exit(2);
  }
  long id = strtol(field[0], NULL, 10);
  if (njobs == MAX_JOBS) {
    struct buf e = {0};
    append(&e, "too many jobs in flight", 23);
    report(id, -1, 0, NULL, &e);
    free(e.p);
    return;
  }
  char *envp[MAX_FIELDS];
  int ne = 0;
  for (int i = 3; i < nf; i++) envp[ne++] = field[i];
  envp[ne] = NULL;
  char *argv[] = {field[1], NULL};

  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) die("pipe2");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  struct job *j = calloc(1, sizeof *j);
  if (!j) die("calloc");
  j->id = id;
  clock_gettime(CLOCK_MONOTONIC, &j->t0);
  int rc = posix_spawn(&j->pid, field[1], &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    struct buf e = {0};
    const char *why = strerror(rc);
    append(&e, why, strlen(why));
    report(id, -1, elapsed_us(&j->t0), NULL, &e);
    free(e.p);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    free(j);
    return;
  }
  /* A netconf fits a pipe's buffer; a plugin that exits without reading gives EPIPE, ignored. */
  size_t len = strlen(field[2]);
  const char *p = field[2];
  while (len > 0) {
    ssize_t w = write(in[1], p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) break;
    p += w;
    len -= (size_t)w;
  }
  close(in[1]);
  j->out = out[0];
  j->err = err[0];
  jobs[njobs++] = j;
}

static void finish(int i) {
  struct job *j = jobs[i];
  int st = 0;
  while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
  report(j->id, code, elapsed_us(&j->t0), &j->o, &j->e);
  free(j->o.p);
  free(j->e.p);
  free(j);
  jobs[i] = jobs[--njobs];
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  static struct pollfd pfd[1 + 2 * MAX_JOBS];
  static int owner[1 + 2 * MAX_JOBS];
  struct buf line = {0};
  int input_open = 1;
  char chunk[65536];
  while (input_open || njobs > 0) {
    int n = 0;
    if (input_open) {
      pfd[n] = (struct pollfd){.fd = 0, .events = POLLIN};
      owner[n++] = -1;
    }
    for (int i = 0; i < njobs; i++) {
      if (jobs[i]->out >= 0) {
        pfd[n] = (struct pollfd){.fd = jobs[i]->out, .events = POLLIN};
        owner[n++] = i;
      }
      if (jobs[i]->err >= 0) {
        pfd[n] = (struct pollfd){.fd = jobs[i]->err, .events = POLLIN};
        owner[n++] = i;
      }
    }
    if (poll(pfd, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int k = 0; k < n; k++) {
      if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (owner[k] < 0) {
        ssize_t r = read(0, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          input_open = 0;
          continue;
        }
        append(&line, chunk, (size_t)r);
        continue;
      }
      struct job *j = jobs[owner[k]];
      int *fd = pfd[k].fd == j->out ? &j->out : &j->err;
      ssize_t r = read(*fd, chunk, sizeof chunk);
      if (r < 0 && errno == EINTR) continue;
      if (r > 0) {
        append(fd == &j->out ? &j->o : &j->e, chunk, (size_t)r);
        continue;
      }
      close(*fd);
      *fd = -1;
    }
    /* Reap after the scan: finishing moves jobs, which the owner[] indexes refer to. */
    for (int i = njobs - 1; i >= 0; i--)
      if (jobs[i]->out < 0 && jobs[i]->err < 0) finish(i);
    /* Start the complete job lines read so far. */
    size_t from = 0;
    while (line.len > from) {
      char *nl = memchr(line.p + from, '\n', line.len - from);
      if (!nl) break;
      *nl = 0;
      start(line.p + from);
      from = (size_t)(nl - line.p) + 1;
    }
    if (from > 0) {
      memmove(line.p, line.p + from, line.len - from);
      line.len -= from;
    }
    if (line.len > MAX_LINE) {
      fprintf(stderr, "cni-runner: job line longer than %d bytes\n", MAX_LINE);
      return 2;
    }
  }
  return 0;
}
