/* heartbeat DEVICE: writes one byte to DEVICE (the guest's second serial port) every millisecond, forever.
 * The host stamps each byte as it comes out of QEMU's chardev (real_migration.HeartbeatReader): a sign of life
 * of the guest's CPU that does not use the network, so the time the guest stood still around a migration's
 * pause is measured apart from the time its network took. Raw system calls, no libc (as udpecho.c). */
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

void start_c(long *sp) {
    long fd = sys6(2, sp[2], 01 | 0400, 0, 0, 0, 0);                 /* open(DEVICE, O_WRONLY | O_NOCTTY) */
    if (fd < 0) sys6(60, 1, 0, 0, 0, 0, 0);
    long ms[2] = {0, 1000000};
    for (char c = 'a';; c = c == 'z' ? 'a' : c + 1) {
        sys6(35, (long)ms, 0, 0, 0, 0, 0);                              /* nanosleep(1 ms) */
        sys6(1, fd, (long)&c, 1, 0, 0, 0);                              /* write */
    }
}

__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call start_c\n");
