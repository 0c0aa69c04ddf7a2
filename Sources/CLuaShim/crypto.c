// Opens libcrypto on first use (see sb_crypto.h).
#include "sb_crypto.h"

#include <dlfcn.h>
#include <pthread.h>

static struct sb_crypto table;
static const char *failure;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void sb_crypto_open(void) {
    void *library = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        failure = "libcrypto.so.3 (OpenSSL 3) could not be loaded";
        return;
    }
#define SB_CRYPTO_RESOLVE(name) \
    if ((table.name = (__typeof__(table.name))dlsym(library, #name)) == NULL) { \
        failure = "libcrypto.so.3 has no " #name; \
        return; \
    }
    SB_CRYPTO_FUNCTIONS(SB_CRYPTO_RESOLVE)
#undef SB_CRYPTO_RESOLVE
}

const struct sb_crypto *sb_crypto(const char **why) {
    pthread_once(&once, sb_crypto_open);
    if (failure != NULL) {
        if (why != NULL) *why = failure;
        return NULL;
    }
    return &table;
}
