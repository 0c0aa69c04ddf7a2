// VM creation, limits, sandbox and the host API (`gw`). See CLuaShim.h for why this is C.
#include "CLuaShim.h"
#include "sb_limits.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <malloc.h>
#include <sys/random.h>
#include "sb_crypto.h"

// The hook fires every SB_HOOK_STEP instructions; the budget is counted in these steps so that
// coroutines (which inherit the hook but count on their own) share one budget.
#define SB_HOOK_STEP 1000
// Some instructions cost time in proportion to the strings they touch (`a < b`, `a == b` compare
// whole strings; `..` copies them), so a VM holding big strings ticks more often: the step shrinks
// as the VM's memory grows past SB_HOOK_FULL_STEP_MEMORY, keeping one tick's worst case about that
// of SB_HOOK_STEP operations on a string of that size.
#define SB_HOOK_FULL_STEP_MEMORY (2u * 1024 * 1024)
// Allocations at least this big look at the clock, so a loop of big `..` or C calls stops at the
// deadline even between two hook ticks.
#define SB_ALLOC_CLOCK_CHECK (64u * 1024)

static const char *const SB_LIBS_KEY = "switchboard.libraries";  // name -> source
static const char *const SB_LOADED_KEY = "switchboard.loaded";   // name -> module value
static const char *const SB_ARRAY_MT_KEY = "switchboard.json.array";

// MARK: Allocator and hook

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    sb_vmstate *st = (sb_vmstate *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        st->memory_used -= old;
        free(ptr);
        return NULL;
    }
    if (st->enforce_memory && st->memory_limit > 0 && nsize > old &&
        st->memory_used + (nsize - old) > st->memory_limit) {
        st->memory_exceeded = 1;
        return NULL;  // Lua raises LUA_ERRMEM, caught by sb_pcall
    }
    if (st->enforce_memory && nsize >= old + SB_ALLOC_CLOCK_CHECK &&
        (st->time_exceeded || sb_now_coarse() > st->deadline_ns)) {
        // Past the deadline: refuse growth (LUA_ERRMEM); the next hook tick raises the time-limit
        // error with file:line, and sb_pcall reports the time limit whatever the script caught.
        st->time_exceeded = 1;
        return NULL;
    }
    void *result = realloc(ptr, nsize);
    if (result == NULL) {
        return NULL;
    }
    st->memory_used = st->memory_used - old + nsize;
    return result;
}

sb_vmstate *sb_state(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (sb_vmstate *)ud;
}

uint64_t sb_now_coarse(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sb_hook(lua_State *L, lua_Debug *ar);

// Instructions between two ticks for a VM using `memory` bytes.
static int sb_hook_step_for(size_t memory) {
    if (memory <= SB_HOOK_FULL_STEP_MEMORY) return SB_HOOK_STEP;
    size_t step = (size_t)SB_HOOK_STEP * SB_HOOK_FULL_STEP_MEMORY / memory;
    return step < 1 ? 1 : (int)step;
}

// "file:line: " of the innermost Lua function on L's stack (empty if none).
static void sb_where(lua_State *L, char *out, size_t size) {
    lua_Debug info;
    out[0] = 0;
    for (int level = 0; lua_getstack(L, level, &info); level++) {
        if (lua_getinfo(L, "Sl", &info) && info.currentline > 0) {
            snprintf(out, size, "%s:%d: ", info.short_src, info.currentline);
            return;
        }
    }
}

// Raises a limit error; from now on this thread raises at every instruction, so a script's own
// pcall cannot swallow the error and keep looping.
static int sb_raise_limit(lua_State *L, const char *what) {
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    char where[200];
    sb_where(L, where, sizeof where);
    lua_pushfstring(L, "%s%s", where, what);
    return lua_error(L);
}

static int sb_raise_time_limit(lua_State *L) {
    sb_vmstate *st = sb_state(L);
    st->time_exceeded = 1;
    char what[120];
    snprintf(what, sizeof what, "time limit of %llu ms exceeded (a call runs too long)",
             (unsigned long long)(st->time_limit_ns / 1000000u));
    return sb_raise_limit(L, what);
}

void sb_check_deadline(lua_State *L) {
    sb_vmstate *st = sb_state(L);
    if (st->time_exceeded || sb_now_coarse() > st->deadline_ns) sb_raise_time_limit(L);
}

static void sb_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    sb_vmstate *st = sb_state(L);
    st->instructions_used += (uint64_t)st->hook_step;
    if (st->instruction_budget > 0 && st->instructions_used > st->instruction_budget) {
        st->budget_exceeded = 1;
        char what[120];
        snprintf(what, sizeof what, "instruction budget of %llu exceeded (endless loop?)",
                 (unsigned long long)st->instruction_budget);
        sb_raise_limit(L, what);
    }
    if (st->time_exceeded || sb_now_coarse() > st->deadline_ns) sb_raise_time_limit(L);
    int step = sb_hook_step_for(st->memory_used);
    if (step != st->hook_step) {
        st->hook_step = step;
        lua_sethook(L, sb_hook, LUA_MASKCOUNT, step);
    }
}

// Starts a call's accounting: fresh budget, deadline and flags.
static void sb_begin_call(sb_vmstate *st, uint64_t instruction_budget) {
    st->instructions_used = 0;
    st->instruction_budget = instruction_budget;
    st->budget_exceeded = 0;
    st->memory_exceeded = 0;
    st->time_exceeded = 0;
    st->deadline_ns = st->time_limit_ns > 0 ? sb_now_coarse() + st->time_limit_ns : UINT64_MAX;
    st->enforce_memory = 1;
    st->hook_step = sb_hook_step_for(st->memory_used);
}

static void sb_end_call(sb_vmstate *st) {
    st->enforce_memory = 0;
    st->deadline_ns = UINT64_MAX;
}

void sb_set_limits(lua_State *L, uint64_t time_limit_ms, size_t max_string) {
    sb_vmstate *st = sb_state(L);
    st->time_limit_ns = time_limit_ms * 1000000u;
    st->max_string = max_string;
}

void sb_check_string_size(lua_State *L, const char *fn, size_t size) {
    sb_vmstate *st = sb_state(L);
    if (st->max_string > 0 && size > st->max_string) {
        luaL_error(L, "%s: a result of %I bytes is over the limit of %I bytes for one string", fn,
                   (lua_Integer)(size > (size_t)LUA_MAXINTEGER ? (size_t)LUA_MAXINTEGER : size),
                   (lua_Integer)st->max_string);
    }
}

int sb_pcall(lua_State *L, int nargs, int nresults, uint64_t instruction_budget) {
    sb_vmstate *st = sb_state(L);
    sb_begin_call(st, instruction_budget);
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, st->hook_step);
    int status = lua_pcall(L, nargs, nresults, 0);
    sb_end_call(st);
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, SB_HOOK_STEP);
    return status;
}

int sb_pcall_untimed(lua_State *L, int nargs, int nresults, uint64_t instruction_budget) {
    sb_vmstate *st = sb_state(L);
    uint64_t limit = st->time_limit_ns;
    st->time_limit_ns = 0;
    int status = sb_pcall(L, nargs, nresults, instruction_budget);
    st->time_limit_ns = limit;
    return status;
}

// Resumes a coroutine under the same limits as sb_pcall (budget per resume, memory cap).
int sb_resume(lua_State *L, lua_State *co, int nargs, int *nresults, uint64_t instruction_budget) {
    sb_vmstate *st = sb_state(L);
    sb_begin_call(st, instruction_budget);
    lua_sethook(co, sb_hook, LUA_MASKCOUNT, st->hook_step);
    int status = lua_resume(co, L, nargs, nresults);
    sb_end_call(st);
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, SB_HOOK_STEP);
    return status;
}

// gw.route(request or list) / gw.fetch(request): yield to the host, which performs the call
// without blocking a thread and resumes the handler with the result.
static int gw_yield_call(lua_State *L, const char *kind) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isyieldable(L)) {
        return luaL_error(L, "gw.%s works only inside a scripted route handler (not in pcall, hooks or providers)", kind);
    }
    lua_pushstring(L, kind);
    lua_pushvalue(L, 1);
    return lua_yield(L, 2);
}
static int gw_route(lua_State *L) { return gw_yield_call(L, "route"); }
static int gw_fetch(lua_State *L) { return gw_yield_call(L, "fetch"); }

// MARK: Sandboxed base functions

// `load` that accepts only text chunks given as strings.
static int sb_lua_load(lua_State *L) {
    size_t len = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *chunkname = luaL_optstring(L, 2, "=(load)");
    int has_env = !lua_isnone(L, 4);
    int status = luaL_loadbufferx(L, s, len, chunkname, "t");
    if (status != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1)) {
            lua_pop(L, 1);
        }
    }
    return 1;
}

static int sb_lua_print(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len = 0;
    const char *msg = lua_tolstring(L, -1, &len);
    sb_vmstate *st = sb_state(L);
    if (st->log) st->log(st->log_context, "info", msg, len);
    return 0;
}

// `require(name)`: only libraries the host registered (providers/lib/*.lua), loaded in text mode.
static int sb_lua_require(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, SB_LOADED_KEY);
    lua_getfield(L, -1, name);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, SB_LIBS_KEY);
    lua_getfield(L, -1, name);
    if (!lua_istable(L, -1)) {
        return luaL_error(L, "module '%s' not found (require loads only providers/lib/%s.lua)", name, name);
    }
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    size_t len = 0;
    const char *src = lua_tolstring(L, -2, &len);
    const char *chunkname = lua_tostring(L, -1);
    if (luaL_loadbufferx(L, src, len, chunkname, "t") != LUA_OK) {
        return lua_error(L);
    }
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -7, name);  // loaded[name] = module
    return 1;
}

void sb_register_library(lua_State *L, const char *name, const char *source, size_t length, const char *chunkname) {
    lua_getfield(L, LUA_REGISTRYINDEX, SB_LIBS_KEY);
    lua_createtable(L, 2, 0);
    lua_pushlstring(L, source, length);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, chunkname);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

// MARK: Host API (gw)

static int gw_log(lua_State *L) {
    const char *level = luaL_checkstring(L, 1);
    size_t len = 0;
    const char *msg = luaL_tolstring(L, 2, &len);
    sb_vmstate *st = sb_state(L);
    if (st->log) st->log(st->log_context, level, msg, len);
    return 0;
}

static int gw_time(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static int gw_monotonic_ms(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1e3 + (lua_Number)ts.tv_nsec / 1e6);
    return 1;
}

static int gw_uuid(lua_State *L) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        return luaL_error(L, "gw.uuid: no randomness available");
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char out[37];
    snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    lua_pushlstring(L, out, 36);
    return 1;
}

static int gw_hex(lua_State *L) {
    size_t len = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    static const char digits[] = "0123456789abcdef";
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, len * 2);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[s[i] >> 4];
        out[2 * i + 1] = digits[s[i] & 15];
    }
    luaL_pushresultsize(&b, len * 2);
    return 1;
}

static int gw_sha256(lua_State *L) {
    size_t len = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    const char *why = NULL;
    const struct sb_crypto *C = sb_crypto(&why);
    if (C == NULL) return luaL_error(L, "gw.sha256: %s", why);
    C->SHA256(s, len, digest);
    lua_pushlstring(L, (const char *)digest, sizeof digest);
    return 1;
}

int sb_sha256(const void *data, size_t len, unsigned char out[32]) {
    static const unsigned char empty = 0;
    const struct sb_crypto *C = sb_crypto(NULL);
    if (C == NULL) return -1;
    // SHA256() wants a readable pointer even for zero bytes.
    return C->SHA256(data != NULL ? data : &empty, len, out) != NULL ? 0 : -1;
}

static int gw_hmac_sha256(lua_State *L) {
    size_t klen = 0, mlen = 0;
    const char *key = luaL_checklstring(L, 1, &klen);
    const unsigned char *msg = (const unsigned char *)luaL_checklstring(L, 2, &mlen);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    const char *why = NULL;
    const struct sb_crypto *C = sb_crypto(&why);
    if (C == NULL) return luaL_error(L, "gw.hmac_sha256: %s", why);
    if (C->HMAC(C->EVP_sha256(), key, (int)klen, msg, mlen, digest, &dlen) == NULL) {
        return luaL_error(L, "gw.hmac_sha256 failed");
    }
    lua_pushlstring(L, (const char *)digest, dlen);
    return 1;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_encode_with(lua_State *L, const char *alphabet, int pad) {
    size_t len = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    size_t outlen = 4 * ((len + 2) / 3);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, outlen);
    size_t o = 0;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < len) v |= (uint32_t)s[i + 1] << 8;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < len) {
            out[o++] = alphabet[(v >> 6) & 63];
        } else if (pad) {
            out[o++] = '=';
        }
        if (pad) out[o++] = '=';
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

static int gw_b64_encode(lua_State *L) { return b64_encode_with(L, B64, 1); }
static int gw_b64url_encode(lua_State *L) { return b64_encode_with(L, B64URL, 0); }

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

// Accepts both alphabets, with or without padding; whitespace is skipped. Invalid input -> nil, message.
static int gw_b64_decode(lua_State *L) {
    size_t len = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, (len / 4 + 1) * 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    int padding = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') { padding++; continue; }
        int v = b64_value(c);
        if (v < 0 || padding) {
            luaL_pushresultsize(&b, 0);
            lua_pop(L, 1);
            luaL_pushfail(L);
            lua_pushfstring(L, "invalid base64 at byte %d", (int)i);
            return 2;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

static int gw_json_array(lua_State *L) {
    if (lua_isnoneornil(L, 1)) {
        lua_newtable(L);
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_settop(L, 1);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, SB_ARRAY_MT_KEY);
    lua_setmetatable(L, -2);
    return 1;
}

static int gw_json_is_array(lua_State *L) {
    int result = 0;
    if (lua_getmetatable(L, 1)) {
        lua_getfield(L, LUA_REGISTRYINDEX, SB_ARRAY_MT_KEY);
        result = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    lua_pushboolean(L, result);
    return 1;
}

// gw.store: a key-value store the host shares between every VM and every script generation
// (bounded by the host; entries expire). Values are strings (scripts encode tables with gw.json).
static sb_vmstate *sb_store_state(lua_State *L) {
    sb_vmstate *st = sb_state(L);
    if (st->store_get == NULL) luaL_error(L, "gw.store: this gateway has no store");
    return st;
}

static int gw_store_get(lua_State *L) {
    size_t key_length = 0;
    const char *key = luaL_checklstring(L, 1, &key_length);
    sb_vmstate *st = sb_store_state(L);
    size_t length = 0;
    char *value = st->store_get(st->store_context, key, key_length, &length);
    if (value == NULL) {
        lua_pushnil(L);
        return 1;
    }
    // Copied into a buffer first so a memory-cap error cannot leak the host's copy.
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, length);
    memcpy(out, value, length);
    free(value);
    luaL_pushresultsize(&b, length);
    return 1;
}

static int gw_store_put(lua_State *L) {
    size_t key_length = 0, value_length = 0;
    const char *key = luaL_checklstring(L, 1, &key_length);
    const char *value = luaL_checklstring(L, 2, &value_length);
    lua_Number ttl = luaL_checknumber(L, 3);
    if (!(ttl > 0)) return luaL_argerror(L, 3, "the time to live must be a positive number of seconds");
    sb_vmstate *st = sb_store_state(L);
    if (st->store_put(st->store_context, key, key_length, value, value_length, (double)ttl) != 0) {
        luaL_pushfail(L);
        lua_pushliteral(L, "the value is larger than a quarter of the store (store_max_bytes)");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int gw_store_delete(lua_State *L) {
    size_t key_length = 0;
    const char *key = luaL_checklstring(L, 1, &key_length);
    sb_vmstate *st = sb_store_state(L);
    st->store_delete(st->store_context, key, key_length);
    return 0;
}

void sb_set_store(lua_State *L, sb_store_get_fn get, sb_store_put_fn put, sb_store_delete_fn del, void *context) {
    sb_vmstate *st = sb_state(L);
    st->store_get = get;
    st->store_put = put;
    st->store_delete = del;
    st->store_context = context;
}

static void sb_open_gw(lua_State *L) {
    lua_newtable(L);  // gw

    static const luaL_Reg root[] = {
        {"log", gw_log},
        {"time", gw_time},
        {"monotonic_ms", gw_monotonic_ms},
        {"uuid", gw_uuid},
        {"route", gw_route},
        {"fetch", gw_fetch},
        {"hex", gw_hex},
        {"sha256", gw_sha256},
        {"hmac_sha256", gw_hmac_sha256},
        {NULL, NULL},
    };
    luaL_setfuncs(L, root, 0);

    lua_newtable(L);
    lua_pushcfunction(L, gw_b64_encode); lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, gw_b64_decode); lua_setfield(L, -2, "decode");
    lua_pushcfunction(L, gw_b64url_encode); lua_setfield(L, -2, "url_encode");
    lua_setfield(L, -2, "base64");

    lua_newtable(L);
    lua_pushcfunction(L, sb_json_encode_cfunction); lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, sb_json_decode_cfunction); lua_setfield(L, -2, "decode");
    lua_pushcfunction(L, gw_json_array); lua_setfield(L, -2, "array");
    lua_pushcfunction(L, gw_json_is_array); lua_setfield(L, -2, "is_array");
    lua_pushlightuserdata(L, NULL); lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "json");

    lua_newtable(L);
    lua_pushcfunction(L, gw_store_get); lua_setfield(L, -2, "get");
    lua_pushcfunction(L, gw_store_put); lua_setfield(L, -2, "put");
    lua_pushcfunction(L, gw_store_delete); lua_setfield(L, -2, "delete");
    lua_setfield(L, -2, "store");

    sb_open_gw_regex_crypto(L);  // gw.regex, gw.crypto, gw.base64.url_decode (gw_regex.c)

    lua_setglobal(L, "gw");
}

// MARK: Bounded standard functions

// These wrap a stock C function, kept as upvalue 1, and call it directly in their own frame, so
// its errors still name the script's file:line and the function (`bad argument #1 to 'rep'`).
#define SB_STOCK(L) lua_tocfunction((L), lua_upvalueindex(1))

// string.rep: refused before building a result over the string cap.
static int sb_string_rep(lua_State *L) {
    size_t len = 0, seplen = 0;
    luaL_checklstring(L, 1, &len);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    if (n > 0 && len + seplen > 0) {
        size_t unit = len + seplen;
        size_t total = (size_t)n > (SIZE_MAX - seplen) / unit ? SIZE_MAX : (size_t)n * unit - seplen;
        sb_check_string_size(L, "string.rep", total);
    }
    int results = SB_STOCK(L)(L);
    sb_check_deadline(L);
    return results;
}

// string.format and table.concat: the result is checked (its size is bounded by the memory cap
// while it is built; the cap makes the limit on one string the same for every function).
static int sb_checked_result(lua_State *L, const char *name) {
    int results = SB_STOCK(L)(L);
    size_t len = 0;
    if (lua_type(L, -1) == LUA_TSTRING) lua_tolstring(L, -1, &len);
    sb_check_string_size(L, name, len);
    sb_check_deadline(L);
    return results;
}
static int sb_string_format(lua_State *L) { return sb_checked_result(L, "string.format"); }
static int sb_table_concat(lua_State *L) { return sb_checked_result(L, "table.concat"); }

// table.insert / remove / move / unpack move up to a whole table's elements in one call; these and
// the others wrapped with this check the deadline once they return.
static int sb_then_check_deadline(lua_State *L) {
    int results = SB_STOCK(L)(L);
    sb_check_deadline(L);
    return results;
}

// table.sort without a comparison function compares with this one, which watches the deadline:
// one sort of many long strings would otherwise be one long, uninterruptible C call.
static int sb_sort_less(lua_State *L) {
    sb_check_deadline(L);
    lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
    return 1;
}
static int sb_table_sort(lua_State *L) {
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_pushcfunction(L, sb_sort_less);
    }
    int results = SB_STOCK(L)(L);
    sb_check_deadline(L);
    return results;
}

// setmetatable refuses `__gc`: a finalizer runs whenever the collector gets to it, outside any
// call's time and memory limits (even while the host is pushing values).
static int sb_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int type = lua_rawget(L, 2);
        lua_pop(L, 1);
        if (type != LUA_TNIL) {
            return luaL_error(L, "setmetatable: a metatable with __gc is not allowed in the sandbox "
                                 "(finalizers would run outside the time and memory limits)");
        }
    }
    return SB_STOCK(L)(L);
}

// table[name] = wrapper closing over the stock table[name]; `table` is an absolute index.
static void sb_wrap(lua_State *L, int table, const char *name, lua_CFunction wrapper) {
    lua_getfield(L, table, name);
    lua_pushcclosure(L, wrapper, 1);
    lua_setfield(L, table, name);
}

static void sb_install_bounded_functions(lua_State *L) {
    lua_pushglobaltable(L);
    sb_wrap(L, lua_gettop(L), "setmetatable", sb_setmetatable);
    sb_wrap(L, lua_gettop(L), "collectgarbage", sb_then_check_deadline);  // a full collection is one long call
    lua_pop(L, 1);
    lua_getglobal(L, LUA_UTF8LIBNAME);
    sb_wrap(L, lua_gettop(L), "len", sb_then_check_deadline);  // reads a whole string, allocating nothing
    lua_pop(L, 1);
    lua_getglobal(L, LUA_STRLIBNAME);
    int string = lua_gettop(L);
    sb_wrap(L, string, "rep", sb_string_rep);
    sb_wrap(L, string, "format", sb_string_format);
    sb_install_patterns(L);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_TABLIBNAME);
    int table = lua_gettop(L);
    sb_wrap(L, table, "concat", sb_table_concat);
    sb_wrap(L, table, "sort", sb_table_sort);
    sb_wrap(L, table, "insert", sb_then_check_deadline);
    sb_wrap(L, table, "remove", sb_then_check_deadline);
    sb_wrap(L, table, "move", sb_then_check_deadline);
    sb_wrap(L, table, "unpack", sb_then_check_deadline);
    lua_pop(L, 1);
}

// MARK: State

static void sb_remove_global(lua_State *L, const char *name) {
    lua_pushnil(L);
    lua_setglobal(L, name);
}

static int sb_open_all(lua_State *L) {
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},
        {LUA_COLIBNAME, luaopen_coroutine},
        {NULL, NULL},
    };
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    sb_remove_global(L, "dofile");
    sb_remove_global(L, "loadfile");
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_register(L, "load", sb_lua_load);
    lua_register(L, "print", sb_lua_print);
    lua_register(L, "require", sb_lua_require);
    sb_install_bounded_functions(L);

    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, SB_LIBS_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, SB_LOADED_KEY);
    lua_newtable(L);
    lua_pushstring(L, "json.array");
    lua_setfield(L, -2, "__name");
    // Protected, so no script can add a __gc to the metatable the host gives every array.
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, SB_ARRAY_MT_KEY);

    sb_open_gw(L);
    return 0;
}

lua_State *sb_newstate(size_t memory_limit, sb_log_fn log, void *log_context) {
    sb_vmstate *st = calloc(1, sizeof *st);
    if (st == NULL) return NULL;
    st->memory_limit = memory_limit;
    st->deadline_ns = UINT64_MAX;
    st->hook_step = SB_HOOK_STEP;
    st->log = log;
    st->log_context = log_context;
    lua_State *L = lua_newstate(sb_alloc, st);
    if (L == NULL) {
        free(st);
        return NULL;
    }
    lua_gc(L, LUA_GCGEN, 0, 0);
    lua_pushcfunction(L, sb_open_all);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lua_close(L);
        free(st);
        return NULL;
    }
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, SB_HOOK_STEP);
    return L;
}

void sb_close(lua_State *L) {
    if (L == NULL) return;
    sb_vmstate *st = sb_state(L);
    lua_close(L);
    free(st);
}

int sb_load(lua_State *L, const char *source, size_t length, const char *chunkname) {
    sb_vmstate *st = sb_state(L);
    st->enforce_memory = 1;
    int status = luaL_loadbufferx(L, source, length, chunkname, "t");
    st->enforce_memory = 0;
    return status;
}

// MARK: Stack helpers

void sb_pop(lua_State *L, int n) { lua_pop(L, n); }
void sb_newtable(lua_State *L) { lua_newtable(L); }
int sb_isnil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
int sb_istable(lua_State *L, int idx) { return lua_istable(L, idx); }
int sb_isstring_exact(lua_State *L, int idx) { return lua_type(L, idx) == LUA_TSTRING; }
const char *sb_tolstring(lua_State *L, int idx, size_t *len) { return lua_tolstring(L, idx, len); }
int sb_upvalueindex(int i) { return lua_upvalueindex(i); }
int sb_registryindex(void) { return LUA_REGISTRYINDEX; }

int sb_rawgetfield(lua_State *L, int idx, const char *key) {
    idx = lua_absindex(L, idx);
    lua_pushstring(L, key);
    return lua_rawget(L, idx);
}

void sb_rawsetfield(lua_State *L, int idx, const char *key) {
    idx = lua_absindex(L, idx);
    lua_pushstring(L, key);
    lua_insert(L, -2);
    lua_rawset(L, idx);
}

void sb_pushnull(lua_State *L) { lua_pushlightuserdata(L, NULL); }
int sb_isnull(lua_State *L, int idx) {
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

void sb_newarray(lua_State *L) {
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, SB_ARRAY_MT_KEY);
    lua_setmetatable(L, -2);
}

void sb_gc_collect(lua_State *L) {
    lua_gc(L, LUA_GCCOLLECT);
}

int sb_release_free_memory(void) {
    return malloc_trim(0);
}
