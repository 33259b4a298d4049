/*
 * spiderpool host addon: the few system calls Node cannot make — a socket opened inside
 * another network namespace, packet sockets, a /proc/sys write as seen from a namespace.
 * Everything above the syscall (netlink messages, ARP/NDP frames) is encoded and decoded in
 * TypeScript (src/host/); this file only moves bytes.
 *
 * Namespaces and threads. A network namespace is a property of a thread, not of the
 * process: setns(fd, CLONE_NEWNET) moves only the calling thread. A socket belongs to the
 * namespace it was created in for its whole life, whatever thread later uses it. So
 * enter_netns() moves the *calling* (JS main) thread into the target namespace, the socket
 * or file is created, and leave_netns() moves the thread straight back, all inside one
 * synchronous N-API call: no JavaScript, no libuv callback and no other thread can run on
 * this thread in between, and libuv's worker threads keep their own namespace untouched.
 * If moving back fails the thread would do everything afterwards in the wrong namespace,
 * so the process aborts rather than carry on there. /proc/sys/net is resolved against the
 * opener's namespace at open() time, which is why a sysctl write is an open inside the
 * namespace followed by a write outside it.
 *
 * Blocking. rtnetlink handles a request inside sendmsg(), so the answer to a request (and
 * each next part of a dump, produced by the recvmsg() that asks for it) is already queued
 * when the call returns: netlink sockets are non-blocking and read synchronously. Packet
 * reads wait for the network, so they run as async work on libuv's pool, poll()ing the
 * socket until a frame or the deadline.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <net/ethernet.h>
#include <node_api.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error(env, "EADDON", #call " failed");                                                                \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

/* Throws an Error whose .code is the errno number and whose message names the call. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char code[16];
  char msg[256];
  snprintf(code, sizeof code, "%d", err);
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

/* Reads argument i as a string into buf; an undefined/null argument gives "" (the caller's namespace). */
static int get_path(napi_env env, napi_value v, char *buf, size_t len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined || t == napi_null) {
    buf[0] = 0;
    return 0;
  }
  size_t n;
  if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) return -1;
  return n + 1 >= len ? -1 : 0;
}

/* Moves the calling thread into the namespace at path; *back gets a handle on where it was. */
static int enter_netns(const char *path, int *back) {
  *back = -1;
  if (path[0] == 0) return 0;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) return -1;
  *back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*back < 0) {
    int e = errno;
    close(target);
    errno = e;
    return -1;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    close(target);
    close(*back);
    *back = -1;
    errno = e;
    return -1;
  }
  close(target);
  return 0;
}

static void leave_netns(int back) {
  if (back < 0) return;
  int e = errno;
  if (setns(back, CLONE_NEWNET) < 0) {
    fprintf(stderr, "spiderpool host addon: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(back);
  errno = e;
}

/* socket(domain, type, proto) created inside the namespace at path. */
static int socket_in(const char *path, int domain, int type, int proto) {
  int back;
  if (enter_netns(path, &back) < 0) return -1;
  int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
  leave_netns(back);
  return fd;
}

/*
 * netlinkOpen(nsPath?: string, protocol?: number): number — a bound netlink socket in that
 * namespace: NETLINK_ROUTE unless protocol says otherwise (NETLINK_NETFILTER for nf_tables,
 * NETLINK_RDMA for the RDMA exporter's reads). Only those: nothing else of netlink is the
 * agent's business.
 */
static napi_value netlink_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  int32_t proto = NETLINK_ROUTE;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || get_path(env, argv[0], path, sizeof path) < 0) return throw_errno(env, "netlinkOpen", EINVAL);
  if (argc >= 2) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[1], &t));
    if (t != napi_undefined && napi_get_value_int32(env, argv[1], &proto) != napi_ok)
      return throw_errno(env, "netlinkOpen", EINVAL);
  }
  if (proto != NETLINK_ROUTE && proto != NETLINK_NETFILTER && proto != NETLINK_RDMA)
    return throw_errno(env, "netlinkOpen: protocol", EPROTONOSUPPORT);
  int fd = socket_in(path, AF_NETLINK, SOCK_RAW, proto);
  if (fd < 0) return throw_errno(env, "netlinkOpen", errno);
  int one = 1;
  int buf = 1 << 20;
  /* Extended acks carry the kernel's reason text; strict checking makes dumps honour filters. */
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "netlinkOpen: bind", e);
  }
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

static int get_fd_and_buffer(napi_env env, napi_callback_info info, int *fd, void **data, size_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return -1;
  if (napi_get_value_int32(env, argv[0], fd) != napi_ok) return -1;
  if (napi_get_buffer_info(env, argv[1], data, len) != napi_ok) return -1;
  return 0;
}

/* send(fd, buffer): number — one datagram (a netlink request or a whole Ethernet frame). */
static napi_value send_buf(napi_env env, napi_callback_info info) {
  int fd;
  void *data;
  size_t len;
  if (get_fd_and_buffer(env, info, &fd, &data, &len) < 0) return throw_errno(env, "send", EINVAL);
  ssize_t n;
  do n = send(fd, data, len, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "send", errno);
  napi_value out;
  CHECK(napi_create_int32(env, (int32_t)n, &out));
  return out;
}

/* recv(fd, buffer): number — bytes of one datagram, -1 when none is queued (EAGAIN). */
static napi_value recv_buf(napi_env env, napi_callback_info info) {
  int fd;
  void *data;
  size_t len;
  if (get_fd_and_buffer(env, info, &fd, &data, &len) < 0) return throw_errno(env, "recv", EINVAL);
  ssize_t n;
  do n = recv(fd, data, len, MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) return throw_errno(env, "recv", errno);
  if (n > (ssize_t)len) return throw_errno(env, "recv: datagram larger than the buffer", EMSGSIZE);
  napi_value out;
  CHECK(napi_create_int32(env, n < 0 ? -1 : (int32_t)n, &out));
  return out;
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return throw_errno(env, "close", EINVAL);
  close(fd);
  return NULL;
}

struct deferred_close {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
};

static void deferred_close_execute(napi_env env, void *arg) {
  (void)env;
  close(((struct deferred_close *)arg)->fd);
}

static void deferred_close_complete(napi_env env, napi_status status, void *arg) {
  (void)status;
  struct deferred_close *c = arg;
  napi_value undef;
  napi_get_undefined(env, &undef);
  napi_resolve_deferred(env, c->deferred, undef);
  napi_delete_async_work(env, c->work);
  free(c);
}

/*
 * closeAsync(fd): Promise<void> — close(2) on libuv's pool. Closing a NETLINK_NETFILTER
 * socket that committed an nf_tables transaction waits in the kernel for the transaction's
 * release, an RCU grace period (nft_rcv_nl_event flushes the destroy work): ~10 ms the event
 * loop need not spend. The caller must not use fd again.
 */
static napi_value close_async(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct deferred_close *c = calloc(1, sizeof *c);
  if (c == NULL) return throw_errno(env, "closeAsync", ENOMEM);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &c->fd) != napi_ok) {
    free(c);
    return throw_errno(env, "closeAsync", EINVAL);
  }
  napi_value promise, name;
  CHECK(napi_create_promise(env, &c->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "spiderpool.closeAsync", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, deferred_close_execute, deferred_close_complete, c, &c->work));
  CHECK(napi_queue_async_work(env, c->work));
  return promise;
}

/* packetOpen(nsPath, ifindex, ethertype): number — AF_PACKET/SOCK_RAW bound to one link. */
static napi_value packet_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[4096];
  int32_t ifindex, proto;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || get_path(env, argv[0], path, sizeof path) < 0 ||
      napi_get_value_int32(env, argv[1], &ifindex) != napi_ok || napi_get_value_int32(env, argv[2], &proto) != napi_ok)
    return throw_errno(env, "packetOpen", EINVAL);
  /* Protocol 0 until bound: a socket made with its ethertype would queue frames of every link first. */
  int fd = socket_in(path, AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return throw_errno(env, "packetOpen", errno);
  struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons((uint16_t)proto), .sll_ifindex = ifindex};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "packetOpen: bind", e);
  }
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

struct packet_read {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buffer_ref;
  int fd;
  int timeout_ms;
  uint8_t *data;
  size_t cap;
  ssize_t got;
  int err;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs on a libuv worker: the first frame that arrived from the wire (not one we sent), or none by the deadline. */
static void packet_read_execute(napi_env env, void *arg) {
  (void)env;
  struct packet_read *r = arg;
  int64_t deadline = now_ms() + r->timeout_ms;
  r->got = -1;
  r->err = 0;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left < 0) return;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    int n = poll(&p, 1, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r->err = errno;
      return;
    }
    if (n == 0) return;
    struct sockaddr_ll from;
    socklen_t fl = sizeof from;
    ssize_t m = recvfrom(r->fd, r->data, r->cap, MSG_TRUNC, (struct sockaddr *)&from, &fl);
    if (m < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (m < 0) {
      r->err = errno;
      return;
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    r->got = m > (ssize_t)r->cap ? (ssize_t)r->cap : m;
    return;
  }
}

static void packet_read_complete(napi_env env, napi_status status, void *arg) {
  struct packet_read *r = arg;
  napi_value v;
  if (status != napi_ok || r->err != 0) {
    napi_value msg, err;
    char text[128];
    snprintf(text, sizeof text, "packetRecv: %s", strerror(r->err ? r->err : EIO));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, r->deferred, err);
  } else {
    napi_create_int32(env, (int32_t)r->got, &v);
    napi_resolve_deferred(env, r->deferred, v);
  }
  napi_delete_reference(env, r->buffer_ref);
  napi_delete_async_work(env, r->work);
  free(r);
}

/*
 * packetRecv(fd, buffer, timeoutMs): Promise<number> — length of the frame written into
 * buffer, -1 at the deadline. The buffer is held by a reference until the work completes;
 * the caller must not close fd before the promise settles.
 */
static napi_value packet_recv(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct packet_read *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno(env, "packetRecv", ENOMEM);
  void *data;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &r->fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &data, &r->cap) != napi_ok ||
      napi_get_value_int32(env, argv[2], &r->timeout_ms) != napi_ok) {
    free(r);
    return throw_errno(env, "packetRecv", EINVAL);
  }
  r->data = data;
  napi_value promise, name;
  CHECK(napi_create_reference(env, argv[1], 1, &r->buffer_ref));
  CHECK(napi_create_promise(env, &r->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "spiderpool.packetRecv", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, packet_read_execute, packet_read_complete, r, &r->work));
  CHECK(napi_queue_async_work(env, r->work));
  return promise;
}

/* writeProcSys(nsPath, path, value): opens path (under /proc/sys) inside the namespace, writes value outside it. */
static napi_value write_proc_sys(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ns[4096], path[4096], value[4096];
  size_t vlen;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || get_path(env, argv[0], ns, sizeof ns) < 0 || get_path(env, argv[1], path, sizeof path) < 0 ||
      napi_get_value_string_utf8(env, argv[2], value, sizeof value, &vlen) != napi_ok)
    return throw_errno(env, "writeProcSys", EINVAL);
  if (strncmp(path, "/proc/sys/", 10) != 0) return throw_errno(env, "writeProcSys: not under /proc/sys", EINVAL);
  int back;
  if (enter_netns(ns, &back) < 0) return throw_errno(env, "writeProcSys: setns", errno);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  int e = errno;
  leave_netns(back);
  if (fd < 0) return throw_errno(env, "writeProcSys: open", e);
  ssize_t n = write(fd, value, vlen);
  e = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "writeProcSys: write", e);
  return NULL;
}

static int eth_ioctl(int fd, const char *ifname, void *data) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strnlen(ifname, IFNAMSIZ - 1)); /* zeroed: stays terminated */
  ifr.ifr_data = data;
  return ioctl(fd, SIOCETHTOOL, &ifr);
}

/*
 * ethtoolStats(nsPath, ifname): {busInfo, strings, values} — a netdev's driver statistics as
 * `ethtool -S` reads them (ETHTOOL_GSTRINGS/ETHTOOL_GSTATS: the ethtool netlink family carries
 * only the standard groups, not the driver's own) and its bus (`ethtool -i`). Raw: names are
 * ETH_GSTRING_LEN-byte slots, values native u64s; src/host/ethtool.ts decodes them.
 */
static napi_value ethtool_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char ns[4096], ifname[IFNAMSIZ + 1];
  size_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || get_path(env, argv[0], ns, sizeof ns) < 0 ||
      napi_get_value_string_utf8(env, argv[1], ifname, sizeof ifname, &n) != napi_ok || n >= IFNAMSIZ)
    return throw_errno(env, "ethtoolStats", EINVAL);
  int fd = socket_in(ns, AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return throw_errno(env, "ethtoolStats: socket", errno);
  struct ethtool_drvinfo drv = {.cmd = ETHTOOL_GDRVINFO};
  if (eth_ioctl(fd, ifname, &drv) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "ethtoolStats: ETHTOOL_GDRVINFO", e);
  }
  /* The kernel copies as many entries as the driver counts at each call: a count that grew
   * between calls would overrun, so the buffers leave room for twice the first count. */
  uint32_t count = drv.n_stats > 32768 ? 32768 : drv.n_stats;
  struct ethtool_gstrings *gs = calloc(1, sizeof *gs + (size_t)count * 2 * ETH_GSTRING_LEN);
  struct ethtool_stats *st = calloc(1, sizeof *st + (size_t)count * 2 * sizeof(uint64_t));
  if (gs == NULL || st == NULL) {
    free(gs);
    free(st);
    close(fd);
    return throw_errno(env, "ethtoolStats", ENOMEM);
  }
  gs->cmd = ETHTOOL_GSTRINGS;
  gs->string_set = ETH_SS_STATS;
  gs->len = count;
  st->cmd = ETHTOOL_GSTATS;
  st->n_stats = count;
  int e = 0;
  if (count > 0 && (eth_ioctl(fd, ifname, gs) < 0 || eth_ioctl(fd, ifname, st) < 0)) e = errno;
  close(fd);
  if (e == 0 && (gs->len > 2 * count || st->n_stats > 2 * count)) abort(); /* overrun: memory is not ours any more */
  uint32_t got = count == 0 ? 0 : (gs->len < st->n_stats ? gs->len : st->n_stats);
  napi_value out = NULL, bus, strings, values;
  void *p;
  if (e == 0 && napi_create_object(env, &out) == napi_ok &&
      napi_create_string_utf8(env, (const char *)drv.bus_info, strnlen((const char *)drv.bus_info, sizeof drv.bus_info),
                              &bus) == napi_ok &&
      napi_create_arraybuffer(env, (size_t)got * ETH_GSTRING_LEN, &p, &strings) == napi_ok) {
    memcpy(p, gs->data, (size_t)got * ETH_GSTRING_LEN);
    if (napi_create_arraybuffer(env, (size_t)got * sizeof(uint64_t), &p, &values) == napi_ok) {
      memcpy(p, st->data, (size_t)got * sizeof(uint64_t));
      napi_set_named_property(env, out, "busInfo", bus);
      napi_set_named_property(env, out, "strings", strings);
      napi_set_named_property(env, out, "values", values);
    }
  }
  free(gs);
  free(st);
  if (e != 0) return throw_errno(env, "ethtoolStats: ETHTOOL_GSTATS", e);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"netlinkOpen", NULL, netlink_open, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, send_buf, NULL, NULL, NULL, napi_default, NULL},
      {"recv", NULL, recv_buf, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"closeAsync", NULL, close_async, NULL, NULL, NULL, napi_default, NULL},
      {"packetOpen", NULL, packet_open, NULL, NULL, NULL, napi_default, NULL},
      {"packetRecv", NULL, packet_recv, NULL, NULL, NULL, napi_default, NULL},
      {"writeProcSys", NULL, write_proc_sys, NULL, NULL, NULL, napi_default, NULL},
      {"ethtoolStats", NULL, ethtool_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
