/**
 * Linux errno numbers the host layer meets, by name, with the text Go's syscall.Errno prints
 * (upstream's messages wrap those: `failed to add route table(101): network is unreachable`).
 */
const ERRNOS: ReadonlyArray<readonly [number, string, string]> = [
  [1, "EPERM", "operation not permitted"],
  [2, "ENOENT", "no such file or directory"],
  [3, "ESRCH", "no such process"],
  [4, "EINTR", "interrupted system call"],
  [5, "EIO", "input/output error"],
  [9, "EBADF", "bad file descriptor"],
  [11, "EAGAIN", "resource temporarily unavailable"],
  [12, "ENOMEM", "cannot allocate memory"],
  [13, "EACCES", "permission denied"],
  [16, "EBUSY", "device or resource busy"],
  [17, "EEXIST", "file exists"],
  [19, "ENODEV", "no such device"],
  [20, "ENOTDIR", "not a directory"],
  [22, "EINVAL", "invalid argument"],
  [28, "ENOSPC", "no space left on device"],
  [34, "ERANGE", "numerical result out of range"],
  [61, "ENODATA", "no data available"],
  [71, "EPROTO", "protocol error"],
  [90, "EMSGSIZE", "message too long"],
  [93, "EPROTONOSUPPORT", "protocol not supported"],
  [95, "EOPNOTSUPP", "operation not supported"],
  [97, "EAFNOSUPPORT", "address family not supported by protocol"],
  [98, "EADDRINUSE", "address already in use"],
  [99, "EADDRNOTAVAIL", "cannot assign requested address"],
  [100, "ENETDOWN", "network is down"],
  [101, "ENETUNREACH", "network is unreachable"],
  [105, "ENOBUFS", "no buffer space available"],
  [110, "ETIMEDOUT", "connection timed out"],
  [113, "EHOSTUNREACH", "no route to host"],
];

const byNumber = new Map(ERRNOS.map(([n, name, text]) => [n, { name, text }]));
const byName = new Map(ERRNOS.map(([n, name, text]) => [name, { n, text }]));

export function errnoName(n: number): string {
  return byNumber.get(n)?.name ?? `E${n}`;
}

/** Go's text for an errno name (`file exists` for EEXIST). */
export function errnoText(name: string): string {
  return byName.get(name)?.text ?? `errno ${name}`;
}

export function errnoNumber(name: string): number | undefined {
  return byName.get(name)?.n;
}
