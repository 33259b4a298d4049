/*
 * spiderpool CNI shim: one static binary installed as `spiderpool`, `coordinator` and
 * `ifacer`. A CNI plugin is a new process per call, and a Node.js client costs ~55 ms to
 * start; this forwards the call to spiderpool-agent, which keeps warm caches and
 * connections, in about a millisecond. It holds no plugin logic: it reads stdin, finds the
 * agent's socket path, sends one HTTP request over the unix socket and relays the answer.
 * The protocol is documented in docs/shim-protocol.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/var/run/spidernet/spiderpool.sock"
#define MAX_STDIN (1 << 20)   /* netconf larger than 1 MiB is refused */
#define MAX_REPLY (4 << 20)   /* so is an agent answer over 4 MiB */
#define DEFAULT_TIMEOUT_MS 100000 /* upstream's DefaultCNIClientTimeout */
#define SUPPORTED "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

static char in[MAX_STDIN + 1];
static char out[MAX_REPLY + 1];
static char version[32] = "1.0.0";

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A CNI error object on stdout (code 11: try again later), then exit 1. */
static void fail(int code, const char *msg, const char *details) {
  printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"%s\",\"details\":\"", version, code, msg);
  for (const char *p = details; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  printf("\"}\n");
  fflush(stdout);
  exit(1);
}

/*
 * The string value of the first `"key"` in the JSON text, copied into dst. Good enough to
 * find two flat keys without a parser: a value with escapes is refused rather than guessed.
 */
static int json_string(const char *text, const char *key, char *dst, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(text, pat);
  if (!p) return 0;
  p += strlen(pat);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != ':') return 0;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != '"') return 0;
  size_t n = 0;
  for (; *p && *p != '"'; p++) {
    if (*p == '\\' || n + 1 >= cap) return -1;
    dst[n++] = *p;
  }
  if (*p != '"') return -1;
  dst[n] = 0;
  return 1;
}

/* Ready before the deadline? Polls in slices so a long deadline is honoured in full. */
static int wait_fd(int fd, short ev, long deadline) {
  struct pollfd p = {.fd = fd, .events = ev};
  for (;;) {
    long left = deadline - now_ms();
    if (left <= 0) return 0;
    int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return 0;
  }
}

/* A version string is digits and dots; anything else is not echoed into our JSON. */
static int plain_version(const char *v) {
  if (!*v) return 0;
  for (; *v; v++)
    if (!((*v >= '0' && *v <= '9') || *v == '.')) return 0;
  return 1;
}

static void send_all(int fd, const char *buf, size_t len, long deadline) {
  while (len > 0) {
    if (!wait_fd(fd, POLLOUT, deadline)) fail(11, "try again later", "timed out sending to spiderpool-agent");
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) fail(11, "try again later", "connection to spiderpool-agent lost while sending");
    buf += n;
    len -= (size_t)n;
  }
}

/* Appends `name: value\r\n` for an environment variable; CR/LF in a value is refused. */
static size_t header(char *dst, size_t cap, const char *name, const char *env) {
  const char *v = getenv(env);
  if (!v) return 0;
  if (strpbrk(v, "\r\n")) fail(4, "invalid environment", env);
  int n = snprintf(dst, cap, "%s: %s\r\n", name, v);
  if (n < 0 || (size_t)n >= cap) fail(4, "invalid environment", env);
  return (size_t)n;
}

int main(int argc, char **argv) {
  (void)argc;
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  const char *role = strcmp(base, "coordinator") == 0 ? "coordinator"
                   : strcmp(base, "ifacer") == 0     ? "ifacer"
                                                      : "ipam";

  long timeout = DEFAULT_TIMEOUT_MS;
  const char *t = getenv("SPIDERPOOL_SHIM_TIMEOUT_MS");
  if (t && atol(t) > 0) timeout = atol(t);
  long deadline = now_ms() + timeout;

  /* A runtime that never closes stdin must not hang us: the same deadline applies. */
  size_t len = 0;
  for (;;) {
    if (!wait_fd(0, POLLIN, deadline)) fail(4, "invalid configuration", "stdin was not closed before the deadline");
    ssize_t n = read(0, in + len, MAX_STDIN - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(4, "invalid configuration", "cannot read stdin");
    if (n == 0) break;
    len += (size_t)n;
    if (len == MAX_STDIN) fail(4, "invalid configuration", "network configuration larger than 1 MiB");
  }
  in[len] = 0;
  if (strlen(in) != len) fail(4, "invalid configuration", "network configuration contains a NUL byte");
  char found[32];
  if (json_string(in, "cniVersion", found, sizeof found) == 1 && plain_version(found)) strcpy(version, found);

  const char *cmd = getenv("CNI_COMMAND");
  if (cmd && strcmp(cmd, "VERSION") == 0) {
    printf("{\"cniVersion\":\"%s\",\"supportedVersions\":" SUPPORTED "}\n", version);
    return 0;
  }
  if (!cmd || !*cmd) fail(4, "invalid environment", "CNI_COMMAND is not set");

  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  /* The key belongs to the "ipam" object; a same-named key elsewhere (args) is not ours. */
  const char *ipam = strstr(in, "\"ipam\"");
  int got = ipam ? json_string(ipam, "ipam_unix_socket_path", path, sizeof path) : 0;
  if (got < 0) fail(7, "invalid configuration", "ipam_unix_socket_path is too long or escaped");
  if (got == 0 || !*path) strcpy(path, DEFAULT_SOCKET);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(11, "try again later", "cannot create a unix socket");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, path);
  /* A full listen backlog answers EAGAIN on a unix socket: retry until the deadline. */
  while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno == EISCONN) break;
    if ((errno == EAGAIN || errno == EINTR) && now_ms() < deadline) {
      usleep(1000);
      continue;
    }
    char why[160 + sizeof path];
    snprintf(why, sizeof why, "spiderpool-agent unreachable at %s: %s", path, strerror(errno));
    /* The coordinator's first step is asking the agent for its config; users match upstream's words for it. */
    fail(11, strcmp(role, "coordinator") == 0 ? "failed to GetCoordinatorConfig" : "try again later", why);
  }

  static char head[16384];
  size_t h = (size_t)snprintf(head, sizeof head, "POST /v1/cni/%s HTTP/1.1\r\nHost: spiderpool-agent\r\n", role);
  h += header(head + h, sizeof head - h, "X-CNI-Command", "CNI_COMMAND");
  h += header(head + h, sizeof head - h, "X-CNI-ContainerID", "CNI_CONTAINERID");
  h += header(head + h, sizeof head - h, "X-CNI-Netns", "CNI_NETNS");
  h += header(head + h, sizeof head - h, "X-CNI-Ifname", "CNI_IFNAME");
  h += header(head + h, sizeof head - h, "X-CNI-Args", "CNI_ARGS");
  h += header(head + h, sizeof head - h, "X-CNI-Path", "CNI_PATH");
  int n = snprintf(head + h, sizeof head - h,
                   "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
  if (n < 0 || (size_t)n >= sizeof head - h) fail(4, "invalid environment", "CNI variables too long");
  send_all(fd, head, h + (size_t)n, deadline);
  send_all(fd, in, len, deadline);

  size_t got_len = 0;
  for (;;) {
    if (!wait_fd(fd, POLLIN, deadline)) fail(11, "try again later", "spiderpool-agent did not answer in time");
    ssize_t r = recv(fd, out + got_len, MAX_REPLY - got_len, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) fail(11, "try again later", "connection to spiderpool-agent lost while reading");
    if (r == 0) break;
    got_len += (size_t)r;
    if (got_len == MAX_REPLY) fail(11, "try again later", "spiderpool-agent answer larger than 4 MiB");
  }
  close(fd);
  out[got_len] = 0;

  /* Status line, an X-CNI-Exit-Code header, a blank line, then the plugin's stdout. */
  char *body = strstr(out, "\r\n\r\n");
  if (got_len < 12 || strncmp(out, "HTTP/1.", 7) != 0 || !body) {
    fail(11, "try again later", "malformed answer from spiderpool-agent");
  }
  *body = 0;
  body += 4;
  int status = atoi(out + 9);
  int code = status == 200 ? 0 : 1;
  for (char *line = strstr(out, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "X-CNI-Exit-Code:", 16) == 0) {
      /* An exit status is 0..255; anything else from the agent is a failure, never a wrapped 0. */
      char *end;
      long v = strtol(line + 18, &end, 10);
      code = (v >= 0 && v <= 255 && end != line + 18) ? (int)v : 1;
    }
    /* The protocol sends Content-Length and closes; a chunked body would be relayed garbled. */
    if (strncasecmp(line + 2, "Transfer-Encoding:", 18) == 0) fail(11, "try again later", "chunked answer from spiderpool-agent");
  }
  if (status != 200 && code == 0) fail(11, "try again later", "spiderpool-agent answered an error without a result");
  size_t body_len = got_len - (size_t)(body - out);
  fwrite(body, 1, body_len, stdout);
  fflush(stdout);
  return code;
}
