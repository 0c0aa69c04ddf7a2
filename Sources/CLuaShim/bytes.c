// Byte search for the gateway's scanners: glibc's memmem (a GNU extension, so not visible to
// Swift through Glibc), which scans with SIMD rather than one memchr per candidate byte.
#define _GNU_SOURCE
#include <string.h>

#include "CLuaShim.h"

const void *sb_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}
