// System calls without the C library, for the code that runs while a
// function is being patched.
//
// While the patching barrier is up on a function F (patch.h), the patching
// thread must not call F, and F may be any function of the C library
// (`opendir`, `read`, `clock_gettime`, `mprotect`, even `syscall`). So that
// code reads /proc, sleeps, signals and changes page protections through
// these wrappers, which are inline `syscall` instructions: no C library
// function, no allocation, no lock, no errno. They return what the kernel
// returns: the result, or -errno. Always inlined, also into the code that
// is compiled without sanitizer instrumentation (sanitizer.h).
#pragma once

#include <sys/syscall.h>

#include <cstddef>
#include <cstdint>

namespace pivot::hook::sys {

[[gnu::always_inline]] inline long call(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0,
                                        long f = 0) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

[[gnu::always_inline]] inline int gettid() { return static_cast<int>(call(SYS_gettid)); }
[[gnu::always_inline]] inline int getpid() { return static_cast<int>(call(SYS_getpid)); }
[[gnu::always_inline]] inline long tgkill(int pid, int tid, int sig) {
  return call(SYS_tgkill, pid, tid, sig);
}
[[gnu::always_inline]] inline long open_read(const char* path, int extra_flags = 0) {
  return call(SYS_openat, -100 /* AT_FDCWD */, reinterpret_cast<long>(path),
              02000000 /* O_CLOEXEC */ | extra_flags);
}
[[gnu::always_inline]] inline long read(int fd, void* buf, size_t n) {
  return call(SYS_read, fd, reinterpret_cast<long>(buf), static_cast<long>(n));
}
[[gnu::always_inline]] inline long close(int fd) { return call(SYS_close, fd); }
[[gnu::always_inline]] inline long getdents64(int fd, void* buf, size_t n) {
  return call(SYS_getdents64, fd, reinterpret_cast<long>(buf), static_cast<long>(n));
}
[[gnu::always_inline]] inline long mprotect(uintptr_t at, size_t len, int prot) {
  return call(SYS_mprotect, static_cast<long>(at), static_cast<long>(len), prot);
}
[[gnu::always_inline]] inline long membarrier(int cmd) { return call(SYS_membarrier, cmd, 0, 0); }
[[gnu::always_inline]] inline void sched_yield() { call(SYS_sched_yield); }

// CLOCK_MONOTONIC in nanoseconds (a system call: the vDSO's clock_gettime is
// reached through the C library's).
[[gnu::always_inline]] inline int64_t monotonic_ns() {
  struct {
    long sec, nsec;
  } ts{0, 0};
  call(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, reinterpret_cast<long>(&ts));
  return int64_t{ts.sec} * 1'000'000'000 + ts.nsec;
}

[[gnu::always_inline]] inline void sleep_ns(long ns) {
  struct {
    long sec, nsec;
  } ts{ns / 1'000'000'000, ns % 1'000'000'000};
  call(SYS_nanosleep, reinterpret_cast<long>(&ts), 0);
}

}  // namespace pivot::hook::sys
