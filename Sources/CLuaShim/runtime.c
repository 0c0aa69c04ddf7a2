#include <stddef.h>
#include "CLuaShim.h"

// The Swift runtime's hook for jobs enqueued on the global concurrent executor. The runtime is
// linked statically into the executable, where the symbol is hidden: NIO looks it up with dlsym,
// which finds only exported symbols, so its takeover of the global executor silently fails there.
// Referenced here it is resolved by the static link instead.
extern void *swift_task_enqueueGlobal_hook;

int sb_swift_install_enqueue_global_hook(void *hook) {
    void *expected = NULL;
    return __atomic_compare_exchange_n(&swift_task_enqueueGlobal_hook, &expected, hook, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
