// libFuzzer target `json`: the JSON <-> Lua codec and the validating scan (Sources/CLuaShim/json.c),
// compiled in with shim.c and Debian's liblua5.4. Built and run by bench/fuzz.
//
// Invariants checked on every input (any violation aborts, which libFuzzer reports as a crash):
//  1. the scan and the decoder agree on validity (one grammar, two modes);
//  2. what the scan notes about a top-level object agrees with the decoded value: "model" (when a
//     string) and "stream" (when a boolean), whatever the spelling of the key (escapes) and however
//     often it repeats (the last one wins, as in the decoded table the provider scripts see);
//  3. a decoded value without infinities encodes; the encoding scans as valid JSON and decodes to a
//     value deep-equal to the first (integer/float kind, array/object marks, null, strings byte for
//     byte); encoding that value again gives a text of the same length (key order may differ);
//     a value holding an infinity (e.g. 1e400) is refused by the encoder with an error, not a crash.
#include "CLuaShim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lua_State *L;

static void fail(const char *what, const uint8_t *data, size_t size) {
    fprintf(stderr, "json invariant violated: %s (input %zu bytes)\n", what, size);
    (void)data;
    abort();
}

// Deep equality of two decoded values at absolute indices a and b.
static int deep_equal(int a, int b, int depth) {
    if (depth > 300) return 0;
    int ta = lua_type(L, a), tb = lua_type(L, b);
    if (ta != tb) return 0;
    switch (ta) {
        case LUA_TNUMBER:
            if (lua_isinteger(L, a) != lua_isinteger(L, b)) return 0;
            if (lua_isinteger(L, a)) return lua_tointeger(L, a) == lua_tointeger(L, b);
            {
                double x = lua_tonumber(L, a), y = lua_tonumber(L, b);
                return x == y && signbit(x) == signbit(y);
            }
        case LUA_TSTRING: {
            size_t la, lb;
            const char *sa = lua_tolstring(L, a, &la), *sb = lua_tolstring(L, b, &lb);
            return la == lb && memcmp(sa, sb, la) == 0;
        }
        case LUA_TTABLE: {
            luaL_checkstack(L, 8, "deep_equal");
            int ma = lua_getmetatable(L, a);
            int mb = lua_getmetatable(L, b);
            int same = ma == mb && (!ma || lua_rawequal(L, -1, -2));
            lua_pop(L, ma + mb);
            if (!same) return 0;
            lua_Integer count = 0;
            lua_pushnil(L);
            while (lua_next(L, a)) {
                count++;
                lua_pushvalue(L, -2);
                lua_rawget(L, b);
                int ok = deep_equal(lua_gettop(L) - 1, lua_gettop(L), depth + 1);
                lua_pop(L, 2);
                if (!ok) { lua_pop(L, 1); return 0; }
            }
            lua_pushnil(L);
            while (lua_next(L, b)) { count--; lua_pop(L, 1); }
            return count == 0;
        }
        default:
            return lua_rawequal(L, a, b);
    }
}

static int has_infinity(int idx, int depth) {
    if (depth > 300) return 0;
    if (lua_type(L, idx) == LUA_TNUMBER) return !lua_isinteger(L, idx) && !isfinite(lua_tonumber(L, idx));
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    luaL_checkstack(L, 4, "has_infinity");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (has_infinity(lua_gettop(L), depth + 1)) { lua_pop(L, 2); return 1; }
        lua_pop(L, 1);
    }
    return 0;
}

// Calls decode (or encode) on the value/string at `arg`; on success leaves the result on the
// stack and returns 1, on failure pops the error and returns 0.
static int call(lua_CFunction f, int arg) {
    lua_pushcfunction(L, f);
    lua_pushvalue(L, arg);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    L = sb_newstate(0, NULL, NULL);
    if (L == NULL) abort();
    lua_sethook(L, NULL, 0, 0);  // no instruction budget here: only C functions run
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int base = lua_gettop(L);
    sb_scan_info info;
    int scan_ok = sb_json_scan((const char *)data, size, &info) == 0;

    lua_pushlstring(L, (const char *)data, size);
    int input = lua_gettop(L);
    int decode_ok = call(sb_json_decode_cfunction, input);
    if (scan_ok != decode_ok) fail(scan_ok ? "scan accepts what decode refuses" : "decode accepts what scan refuses", data, size);
    if (!decode_ok) {
        if (info.error_offset < 0 || (size_t)info.error_offset > size) fail("error offset outside the input", data, size);
        lua_settop(L, base);
        return 0;
    }
    int value = lua_gettop(L);

    // 2. scan facts against the decoded table.
    int plain_table = lua_type(L, value) == LUA_TTABLE;
    if (plain_table && lua_getmetatable(L, value)) { lua_pop(L, 1); plain_table = 0; }
    if (info.is_object != plain_table) fail("is_object disagrees with the decoded value", data, size);
    if (info.is_object) {
        lua_getfield(L, value, "model");
        if (lua_type(L, -1) == LUA_TSTRING) {
            if (info.model_offset < 0) fail("scan missed a string \"model\"", data, size);
            if ((size_t)(info.model_offset + info.model_length) > size) fail("model slice outside the input", data, size);
            size_t n;
            const char *m = lua_tolstring(L, -1, &n);
            if (!info.model_has_escapes &&
                (n != (size_t)info.model_length || memcmp(m, data + info.model_offset, n) != 0))
                fail("scan's model differs from the decoded model", data, size);
        } else if (info.model_offset >= 0) {
            fail("scan noted a model that the decoded object does not have as a string", data, size);
        }
        lua_pop(L, 1);
        lua_getfield(L, value, "stream");
        int expected = lua_type(L, -1) == LUA_TBOOLEAN ? lua_toboolean(L, -1) : -1;
        if (info.stream != expected) fail("scan's stream differs from the decoded stream", data, size);
        lua_pop(L, 1);
    }

    // 3. round trip.
    int infinite = has_infinity(value, 0);
    int encode_ok = call(sb_json_encode_cfunction, value);
    if (infinite) {
        if (encode_ok) fail("encoded a value holding an infinity", data, size);
        lua_settop(L, base);
        return 0;
    }
    if (!encode_ok) fail("could not encode a decoded value", data, size);
    int encoded = lua_gettop(L);
    size_t elen;
    const char *etext = lua_tolstring(L, encoded, &elen);
    sb_scan_info info2;
    if (sb_json_scan(etext, elen, &info2) != 0) fail("the encoding does not scan", data, size);
    if (!call(sb_json_decode_cfunction, encoded)) fail("the encoding does not decode", data, size);
    int value2 = lua_gettop(L);
    if (!deep_equal(value, value2, 0)) fail("decode(encode(decode(x))) differs from decode(x)", data, size);
    if (!call(sb_json_encode_cfunction, value2)) fail("could not encode the round-tripped value", data, size);
    size_t elen2;
    lua_tolstring(L, -1, &elen2);
    if (elen2 != elen) fail("second encoding has a different length", data, size);
    lua_settop(L, base);
    return 0;
}
