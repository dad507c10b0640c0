/* udpecho PORT: echoes every UDP datagram to its sender. The guest has only busybox (whose nc has no UDP), so
 * this is built without libc, raw system calls only; libvirt_hosts.py compiles it when it builds the guest.
 * A datagram of 32 bytes or more whose bytes 24..31 are "vw-stamp" gets the guest's CLOCK_MONOTONIC at its
 * reception (nanoseconds, little-endian u64) written into bytes 16..23 before it is echoed: the probe in
 * real_migration.py reads when the guest itself received each request. */
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

#define STAMP 0x706d6174732d7776ul   /* "vw-stamp" read as a little-endian u64 */

struct sin { unsigned short family, port; unsigned int addr; char zero[8]; };

void start_c(long *sp) {
    char *arg = (char *)sp[2];
    unsigned port = 0;
    while (arg && *arg >= '0' && *arg <= '9') port = port * 10 + (unsigned)(*arg++ - '0');
    struct sin a = {2, (unsigned short)((port >> 8) | (port << 8)), 0, {0}};
    long s = sys6(41, 2, 2, 0, 0, 0, 0);                       /* socket(AF_INET, SOCK_DGRAM, 0) */
    if (s < 0 || sys6(49, s, (long)&a, sizeof a, 0, 0, 0) < 0) sys6(60, 1, 0, 0, 0, 0, 0);  /* bind or exit(1) */
    static char buf[65536];
    for (;;) {
        struct sin peer;
        int len = sizeof peer;
        long n = sys6(45, s, (long)buf, sizeof buf, 0, (long)&peer, (long)&len);   /* recvfrom */
        if (n >= 32 && *(unsigned long *)(buf + 24) == STAMP) {
            long ts[2];
            sys6(228, 1, (long)ts, 0, 0, 0, 0);                                    /* clock_gettime(MONOTONIC) */
            *(unsigned long *)(buf + 16) = (unsigned long)ts[0] * 1000000000ul + (unsigned long)ts[1];
        }
        if (n >= 0) sys6(44, s, (long)buf, n, 0, (long)&peer, len);                /* sendto */
    }
}

__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call start_c\n");
