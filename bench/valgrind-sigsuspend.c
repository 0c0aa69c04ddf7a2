/* Preloaded into the gateway when bench/instructions runs it under valgrind (3.19).
 *
 * libdispatch, under Swift's runtime, calls sigsuspend() with a signal mask that lives in read-only
 * memory. valgrind's emulation of rt_sigsuspend writes into the mask it is given, so the gateway
 * dies with SIGSEGV before it serves anything. This sigsuspend passes the kernel a writable copy
 * instead; the behaviour is otherwise the same. bench/instructions compiles it with
 * `gcc -O2 -shared -fPIC` into a temporary folder and sets LD_PRELOAD for the gateway only. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
