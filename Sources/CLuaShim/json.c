// JSON <-> Lua codec and the validating scan used on the fast path.
//
// One recursive-descent parser serves both: with a lua_State it builds values, without one it only
// validates (and notes the top-level "model" and "stream"). Fidelity rules:
//   arrays decode to tables carrying the gw.json.array metatable, so [] and {} round-trip;
//   null decodes to gw.json.null (a NULL light userdata), so it survives in arrays and objects;
//   integer literals that fit in 64 bits stay Lua integers, everything else is a float,
//   and floats always encode with a fraction or exponent (1.0 stays 1.0);
//   strings must be valid UTF-8, \u escapes with surrogate pairs become UTF-8, lone surrogates fail;
//   nesting deeper than SB_JSON_MAX_DEPTH fails cleanly instead of overflowing a stack.
#include "CLuaShim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SB_ARRAY_MT_KEY = "switchboard.json.array";

typedef struct {
    const unsigned char *s;
    size_t len;
    size_t pos;
    lua_State *L;            // NULL: validate only
    int depth;
    const char *error;       // static message on failure
    size_t error_pos;
    sb_scan_info *info;      // scan mode: top-level facts
    luaL_Buffer *buffer;     // decode mode: scratch for strings with escapes
} parser;

#define FAIL(p, msg) do { (p)->error = (msg); (p)->error_pos = (p)->pos; return 0; } while (0)

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') p->pos++;
        else break;
    }
}

// Length of a valid UTF-8 sequence starting at s (n bytes available), or 0 if invalid.
static int utf8_sequence(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;   // overlong
        if (c == 0xED && s[1] >= 0xA0) return 0;  // UTF-16 surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;   // overlong
        if (c == 0xF4 && s[1] >= 0x90) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

static int hex4(parser *p, unsigned *out) {
    if (p->pos + 4 > p->len) FAIL(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p->s[p->pos + i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else { p->pos += (size_t)i; FAIL(p, "invalid hex digit in \\u escape"); }
    }
    p->pos += 4;
    *out = v;
    return 1;
}

static size_t utf8_encode(unsigned cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

// Parses a string whose opening quote is at p->pos. In decode mode pushes it.
// Skips the plain bytes of a string (printable ASCII other than '"' and '\\') eight at a time;
// returns the position of the first byte that needs a look: a quote, a backslash, a control
// character, a byte of a UTF-8 sequence, or the end.
static size_t skip_plain(const unsigned char *s, size_t pos, size_t len) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (pos + 8 <= len) {
        uint64_t v;
        memcpy(&v, s + pos, 8);
        uint64_t quote = v ^ (ones * '"'), backslash = v ^ (ones * '\\');
        // A zero byte in quote/backslash, a byte below 0x20, or a byte with the high bit set.
        uint64_t special = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((v - ones * 0x20) & ~v) | v;
        if (special & highs) break;
        pos += 8;
    }
    while (pos < len) {
        unsigned char c = s[pos];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        pos++;
    }
    return pos;
}

static int parse_string(parser *p, size_t *raw_start, size_t *raw_len, int *had_escapes) {
    p->pos++;  // opening quote
    size_t start = p->pos;
    int escapes = 0;
    // First pass: find the end, validating; strings without escapes are pushed straight from the input.
    while (1) {
        p->pos = skip_plain(p->s, p->pos, p->len);
        if (p->pos >= p->len) FAIL(p, "unterminated string");
        unsigned char c = p->s[p->pos];
        if (c == '"') break;
        if (c < 0x20) FAIL(p, "control character in string (must be escaped)");
        if (c == '\\') {
            escapes = 1;
            p->pos++;
            if (p->pos >= p->len) FAIL(p, "unterminated string");
            c = p->s[p->pos];
            if (c == 'u') {
                p->pos++;
                unsigned cp;
                if (!hex4(p, &cp)) return 0;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p->pos + 1 < p->len && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
                        p->pos += 2;
                        unsigned lo;
                        if (!hex4(p, &lo)) return 0;
                        if (lo < 0xDC00 || lo > 0xDFFF) { p->pos -= 6; FAIL(p, "invalid low surrogate in \\u escape"); }
                    } else {
                        p->pos -= 6;
                        FAIL(p, "lone high surrogate in \\u escape");
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    p->pos -= 6;
                    FAIL(p, "lone low surrogate in \\u escape");
                }
                continue;
            }
            if (strchr("\"\\/bfnrt", c) == NULL || c == 0) FAIL(p, "invalid escape in string");
            p->pos++;
            continue;
        }
        if (c < 0x80) { p->pos++; continue; }
        int n = utf8_sequence(p->s + p->pos, p->len - p->pos);
        if (n == 0) FAIL(p, "invalid UTF-8 in string");
        p->pos += (size_t)n;
    }
    size_t end = p->pos;
    p->pos++;  // closing quote
    if (raw_start) { *raw_start = start; *raw_len = end - start; *had_escapes = escapes; }
    if (p->L == NULL) return 1;
    if (!escapes) {
        lua_pushlstring(p->L, (const char *)p->s + start, end - start);
        return 1;
    }
    // Second pass: unescape (already validated).
    luaL_Buffer *b = p->buffer;
    luaL_buffinit(p->L, b);
    for (size_t i = start; i < end;) {
        unsigned char c = p->s[i];
        if (c != '\\') {
            size_t run = i;
            while (run < end && p->s[run] != '\\') run++;
            luaL_addlstring(b, (const char *)p->s + i, run - i);
            i = run;
            continue;
        }
        c = p->s[i + 1];
        i += 2;
        switch (c) {
            case 'b': luaL_addchar(b, '\b'); break;
            case 'f': luaL_addchar(b, '\f'); break;
            case 'n': luaL_addchar(b, '\n'); break;
            case 'r': luaL_addchar(b, '\r'); break;
            case 't': luaL_addchar(b, '\t'); break;
            case 'u': {
                parser tmp = *p;
                tmp.pos = i;
                unsigned cp;
                hex4(&tmp, &cp);
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    tmp.pos = i + 2;
                    hex4(&tmp, &lo);
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                char out[4];
                luaL_addlstring(b, out, utf8_encode(cp, out));
                break;
            }
            default: luaL_addchar(b, (char)c); break;
        }
    }
    luaL_pushresult(b);
    return 1;
}

static int parse_number(parser *p) {
    size_t start = p->pos;
    int is_float = 0;
    if (p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len) FAIL(p, "truncated number");
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else if (p->s[p->pos] >= '1' && p->s[p->pos] <= '9') {
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    } else {
        FAIL(p, "invalid number");
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        is_float = 1;
        p->pos++;
        if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9') FAIL(p, "expected digit after decimal point");
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        is_float = 1;
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9') FAIL(p, "expected digit in exponent");
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    }
    if (p->L == NULL) return 1;
    char tmp[64];
    size_t n = p->pos - start;
    char *text = n < sizeof tmp ? tmp : malloc(n + 1);
    if (text == NULL) FAIL(p, "out of memory");
    memcpy(text, p->s + start, n);
    text[n] = 0;
    int pushed = 0;
    if (!is_float && !(n == 2 && text[0] == '-' && text[1] == '0')) {
        errno = 0;
        char *end = NULL;
        long long v = strtoll(text, &end, 10);
        if (errno == 0 && end == text + n) {
            lua_pushinteger(p->L, (lua_Integer)v);
            pushed = 1;
        }
    }
    if (!pushed) {
        lua_pushnumber(p->L, (lua_Number)strtod(text, NULL));
    }
    if (text != tmp) free(text);
    return 1;
}

static int expect_literal(parser *p, const char *word, size_t n) {
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) FAIL(p, "invalid literal");
    p->pos += n;
    return 1;
}

static int parse_value(parser *p);

static unsigned hex_value(const unsigned char *s) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

// Whether an already validated object key (raw bytes between the quotes) reads as `word` once its
// escapes are resolved: `"mod\u0065l"` is the key "model" for the decoder, so it is for the scan too.
static int key_is(const unsigned char *s, size_t start, size_t len, int escapes, const char *word) {
    size_t wlen = strlen(word);
    if (!escapes) return len == wlen && memcmp(s + start, word, wlen) == 0;
    size_t w = 0;
    for (size_t i = start, end = start + len; i < end; w++) {
        unsigned c = s[i];
        if (c == '\\') {
            unsigned char e = s[i + 1];
            if (e == 'u') { c = hex_value(s + i + 2); i += 6; }
            else { c = (e == '"' || e == '\\' || e == '/') ? e : 0; i += 2; }  // others decode to controls
        } else {
            i++;
        }
        if (w >= wlen || c != (unsigned char)word[w]) return 0;
    }
    return w == wlen;
}

static int parse_array(parser *p) {
    p->pos++;
    lua_Integer index = 0;
    if (p->L) {
        luaL_checkstack(p->L, 4, "JSON nesting");
        lua_newtable(p->L);
        lua_getfield(p->L, LUA_REGISTRYINDEX, SB_ARRAY_MT_KEY);
        lua_setmetatable(p->L, -2);
    }
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') { p->pos++; return 1; }
    while (1) {
        if (!parse_value(p)) return 0;
        if (p->L) lua_rawseti(p->L, -2, ++index);
        skip_ws(p);
        if (p->pos >= p->len) FAIL(p, "unterminated array");
        unsigned char c = p->s[p->pos];
        if (c == ',') { p->pos++; continue; }
        if (c == ']') { p->pos++; return 1; }
        FAIL(p, "expected ',' or ']' in array");
    }
}

static int parse_object(parser *p) {
    p->pos++;
    int top = p->depth == 1;
    if (p->L) {
        luaL_checkstack(p->L, 4, "JSON nesting");
        lua_newtable(p->L);
    }
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') { p->pos++; return 1; }
    while (1) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') FAIL(p, "expected string key in object");
        size_t kstart = 0, klen = 0;
        int kesc = 0;
        if (!parse_string(p, &kstart, &klen, &kesc)) return 0;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') FAIL(p, "expected ':' after object key");
        p->pos++;
        skip_ws(p);
        // Top-level "model" and "stream" as the decoder will see them: keys compared after their
        // escapes are resolved, and a repeated key replaces the earlier value (the last one wins,
        // also when it is not a string / not a boolean), so the gateway and the scripts agree.
        if (top && p->info) {
            if (key_is(p->s, kstart, klen, kesc, "model")) {
                p->info->model_offset = -1;
                p->info->model_length = 0;
                p->info->model_has_escapes = 0;
                if (p->pos < p->len && p->s[p->pos] == '"') {
                    size_t vstart = 0, vlen = 0;
                    int vesc = 0;
                    if (!parse_string(p, &vstart, &vlen, &vesc)) return 0;
                    p->info->model_offset = (long)vstart;
                    p->info->model_length = (long)vlen;
                    p->info->model_has_escapes = vesc;
                    goto after_value;
                }
            } else if (key_is(p->s, kstart, klen, kesc, "stream")) {
                p->info->stream = -1;
                if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "true", 4) == 0) p->info->stream = 1;
                else if (p->len - p->pos >= 5 && memcmp(p->s + p->pos, "false", 5) == 0) p->info->stream = 0;
            }
        }
        if (!parse_value(p)) return 0;
        if (p->L) lua_rawset(p->L, -3);
    after_value:
        skip_ws(p);
        if (p->pos >= p->len) FAIL(p, "unterminated object");
        unsigned char c = p->s[p->pos];
        if (c == ',') { p->pos++; continue; }
        if (c == '}') { p->pos++; return 1; }
        FAIL(p, "expected ',' or '}' in object");
    }
}

static int parse_value(parser *p) {
    skip_ws(p);
    if (p->pos >= p->len) FAIL(p, "unexpected end of input");
    unsigned char c = p->s[p->pos];
    switch (c) {
        case '{':
        case '[': {
            if (p->depth >= SB_JSON_MAX_DEPTH) FAIL(p, "nesting deeper than 256 levels");
            p->depth++;
            int ok = c == '{' ? parse_object(p) : parse_array(p);
            p->depth--;
            return ok;
        }
        case '"':
            return parse_string(p, NULL, NULL, NULL);
        case 't':
            if (!expect_literal(p, "true", 4)) return 0;
            if (p->L) lua_pushboolean(p->L, 1);
            return 1;
        case 'f':
            if (!expect_literal(p, "false", 5)) return 0;
            if (p->L) lua_pushboolean(p->L, 0);
            return 1;
        case 'n':
            if (!expect_literal(p, "null", 4)) return 0;
            if (p->L) lua_pushlightuserdata(p->L, NULL);
            return 1;
        default:
            if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p);
            FAIL(p, "unexpected character");
    }
}

static int parse_document(parser *p) {
    if (!parse_value(p)) return 0;
    skip_ws(p);
    if (p->pos != p->len) FAIL(p, "unexpected data after the JSON value");
    return 1;
}

void sb_json_position(const char *buffer, size_t length, long offset, char *out, size_t out_size) {
    long line = 1, column = 1;
    for (long i = 0; i < offset && (size_t)i < length; i++) {
        if (buffer[i] == '\n') { line++; column = 1; } else { column++; }
    }
    snprintf(out, out_size, "line %ld, column %ld (byte %ld)", line, column, offset);
}

int sb_json_scan(const char *buffer, size_t length, sb_scan_info *info) {
    memset(info, 0, sizeof *info);
    info->model_offset = -1;
    info->stream = -1;
    parser p = {.s = (const unsigned char *)buffer, .len = length, .info = info};
    skip_ws(&p);
    info->is_object = p.pos < length && buffer[p.pos] == '{';
    if (parse_document(&p)) return 0;
    info->error_offset = (long)p.error_pos;
    snprintf(info->error, sizeof info->error, "%s", p.error);
    return 1;
}

int sb_json_decode_cfunction(lua_State *L) {
    size_t len = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    luaL_Buffer buffer;
    parser p = {.s = (const unsigned char *)s, .len = len, .L = L, .buffer = &buffer};
    int base = lua_gettop(L);
    if (!parse_document(&p)) {
        lua_settop(L, base);
        char where[96];
        sb_json_position(s, len, (long)p.error_pos, where, sizeof where);
        return luaL_error(L, "invalid JSON at %s: %s", where, p.error);
    }
    return 1;
}

// MARK: Encoder

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} growbuf;

static int growbuf_gc(lua_State *L) {
    growbuf *g = lua_touserdata(L, 1);
    free(g->data);
    g->data = NULL;
    return 0;
}

static void gb_reserve(lua_State *L, growbuf *g, size_t extra) {
    if (g->len + extra <= g->cap) return;
    size_t cap = g->cap ? g->cap : 256;
    while (cap < g->len + extra) cap *= 2;
    char *data = realloc(g->data, cap);
    if (data == NULL) luaL_error(L, "gw.json.encode: out of memory");
    g->data = data;
    g->cap = cap;
}

static void gb_add(lua_State *L, growbuf *g, const char *s, size_t n) {
    gb_reserve(L, g, n);
    memcpy(g->data + g->len, s, n);
    g->len += n;
}

static void gb_char(lua_State *L, growbuf *g, char c) {
    gb_reserve(L, g, 1);
    g->data[g->len++] = c;
}

static void encode_string(lua_State *L, growbuf *g, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    gb_reserve(L, g, n + 2);
    g->data[g->len++] = '"';
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            int k = utf8_sequence((const unsigned char *)s + i, n - i);
            if (k == 0) luaL_error(L, "gw.json.encode: string is not valid UTF-8 (byte %d)", (int)i);
            gb_add(L, g, s + i, (size_t)k);
            i += (size_t)k;
            continue;
        }
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            gb_add(L, g, esc, 2);
        } else if (c < 0x20) {
            char esc[6];
            switch (c) {
                case '\n': gb_add(L, g, "\\n", 2); break;
                case '\r': gb_add(L, g, "\\r", 2); break;
                case '\t': gb_add(L, g, "\\t", 2); break;
                case '\b': gb_add(L, g, "\\b", 2); break;
                case '\f': gb_add(L, g, "\\f", 2); break;
                default:
                    esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
                    esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
                    gb_add(L, g, esc, 6);
            }
        } else {
            gb_char(L, g, (char)c);
        }
        i++;
    }
    gb_char(L, g, '"');
}

static void encode_number(lua_State *L, growbuf *g, int idx) {
    char tmp[64];
    int n;
    if (lua_isinteger(L, idx)) {
        n = snprintf(tmp, sizeof tmp, "%lld", (long long)lua_tointeger(L, idx));
    } else {
        double d = (double)lua_tonumber(L, idx);
        if (!isfinite(d)) luaL_error(L, "gw.json.encode: cannot encode %s", isnan(d) ? "NaN" : "infinity");
        // Shortest representation that reads back to the same double.
        for (int precision = 15; precision <= 17; precision++) {
            n = snprintf(tmp, sizeof tmp, "%.*g", precision, d);
            if (strtod(tmp, NULL) == d) break;
        }
        if (strpbrk(tmp, ".eE") == NULL) {
            tmp[n++] = '.';
            tmp[n++] = '0';
            tmp[n] = 0;
        }
    }
    gb_add(L, g, tmp, (size_t)n);
}

// Returns the array length if the table encodes as an array, or -1 for an object.
static lua_Integer array_length(lua_State *L, int idx) {
    if (lua_getmetatable(L, idx)) {
        lua_getfield(L, LUA_REGISTRYINDEX, SB_ARRAY_MT_KEY);
        int marked = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (marked) return (lua_Integer)lua_rawlen(L, idx);
    }
    lua_Integer count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) { lua_pop(L, 1); return -1; }
        lua_Integer k = lua_tointeger(L, -1);
        if (k < 1) { lua_pop(L, 1); return -1; }
        if (k > max) max = k;
        count++;
    }
    if (count == 0 || max != count) return -1;  // empty or sparse -> object
    return count;
}

static void encode_value(lua_State *L, growbuf *g, int idx, int depth);

static void encode_table(lua_State *L, growbuf *g, int idx, int depth) {
    if (depth >= SB_JSON_MAX_DEPTH) luaL_error(L, "gw.json.encode: nesting deeper than 256 levels (a cycle?)");
    luaL_checkstack(L, 6, "gw.json.encode nesting");
    lua_Integer n = array_length(L, idx);
    if (n >= 0) {
        gb_char(L, g, '[');
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1) gb_char(L, g, ',');
            lua_rawgeti(L, idx, i);
            encode_value(L, g, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        gb_char(L, g, ']');
        return;
    }
    gb_char(L, g, '{');
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int vidx = lua_gettop(L);
        int ktype = lua_type(L, vidx - 1);
        if (!first) gb_char(L, g, ',');
        first = 0;
        if (ktype == LUA_TSTRING) {
            size_t klen = 0;
            const char *k = lua_tolstring(L, vidx - 1, &klen);
            encode_string(L, g, k, klen);
        } else if (ktype == LUA_TNUMBER) {
            char tmp[64];
            int kn = lua_isinteger(L, vidx - 1)
                ? snprintf(tmp, sizeof tmp, "%lld", (long long)lua_tointeger(L, vidx - 1))
                : snprintf(tmp, sizeof tmp, "%.17g", (double)lua_tonumber(L, vidx - 1));
            encode_string(L, g, tmp, (size_t)kn);
        } else {
            luaL_error(L, "gw.json.encode: object keys must be strings or numbers, got %s", luaL_typename(L, vidx - 1));
        }
        gb_char(L, g, ':');
        encode_value(L, g, vidx, depth + 1);
        lua_pop(L, 1);
    }
    gb_char(L, g, '}');
}

static void encode_value(lua_State *L, growbuf *g, int idx, int depth) {
    switch (lua_type(L, idx)) {
        case LUA_TNIL: gb_add(L, g, "null", 4); break;
        case LUA_TBOOLEAN:
            if (lua_toboolean(L, idx)) gb_add(L, g, "true", 4); else gb_add(L, g, "false", 5);
            break;
        case LUA_TNUMBER: encode_number(L, g, idx); break;
        case LUA_TSTRING: {
            size_t n = 0;
            const char *s = lua_tolstring(L, idx, &n);
            encode_string(L, g, s, n);
            break;
        }
        case LUA_TTABLE: encode_table(L, g, idx, depth); break;
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, idx) == NULL) { gb_add(L, g, "null", 4); break; }
            /* fallthrough */
        default:
            luaL_error(L, "gw.json.encode: cannot encode a %s", luaL_typename(L, idx));
    }
}

int sb_json_encode_cfunction(lua_State *L) {
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    growbuf *g = lua_newuserdatauv(L, sizeof(growbuf), 0);
    memset(g, 0, sizeof *g);
    lua_newtable(L);
    lua_pushcfunction(L, growbuf_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);  // the buffer is freed even if encoding raises
    encode_value(L, g, 1, 0);
    lua_pushlstring(L, g->data ? g->data : "", g->len);
    free(g->data);
    g->data = NULL;
    return 1;
}
