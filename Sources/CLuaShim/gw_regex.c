// gw.regex (JavaScript regular expressions, matched by the host's linear-time engine), and the
// JWT helpers gw.base64.url_decode and gw.crypto.rsa_sha256_verify.
//
// The matching itself is Swift (LinearRegex, through the callbacks of sb_set_regex); everything
// that can raise a Lua error is here, in C, between two calls of those callbacks, so a Lua error
// never unwinds through a Swift frame: a callback reports a failure with its return value and
// this file raises it.
#include "CLuaShim.h"
#include "sb_limits.h"

#include <stdarg.h>
#include <string.h>
#include "sb_crypto.h"

void sb_set_regex(lua_State *L, sb_regex_compile_fn compile, sb_regex_exec_fn exec, void *context) {
    sb_vmstate *st = sb_state(L);
    st->regex_compile = compile;
    st->regex_exec = exec;
    st->regex_context = context;
}

// MARK: gw.regex

// Raises `message` as error() would from the calling script: "file:line: message", where the
// line is the innermost Lua function's (a tail call from Lua leaves no caller frame to name, so
// luaL_error alone would say it only sometimes).
static int sb_raise(lua_State *L, const char *format, ...) {
    lua_Debug info;
    const char *where = "";
    for (int level = 1; lua_getstack(L, level, &info); level++) {
        if (lua_getinfo(L, "Sl", &info) && info.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", info.short_src, info.currentline);
            where = lua_tostring(L, -1);
            break;
        }
    }
    va_list args;
    va_start(args, format);
    const char *message = lua_pushvfstring(L, format, args);
    va_end(args);
    lua_pushfstring(L, "%s%s", where, message);
    return lua_error(L);
}


typedef struct {
    lua_State *L;
    sb_vmstate *st;
    void *compiled;
    int global;
    const char *text;
    size_t length;
} sb_regex_call;

// Compiles (or finds in the VM's cache) the pattern at `pattern_arg` with the flags at `flags_arg`
// (a string, or nil/none for none); raises `regex: <reason>` when it cannot.
static void sb_regex_begin(sb_regex_call *call, lua_State *L, int pattern_arg, int text_arg, int flags_arg,
                           int need_spans) {
    size_t pattern_length = 0, flags_length = 0;
    const char *pattern = luaL_checklstring(L, pattern_arg, &pattern_length);
    call->text = luaL_checklstring(L, text_arg, &call->length);
    const char *flags = luaL_optlstring(L, flags_arg, "", &flags_length);
    call->L = L;
    call->st = sb_state(L);
    if (call->st->regex_compile == NULL || call->st->regex_exec == NULL) {
        sb_raise(L, "regex: this VM has no regular expression engine");
    }
    char error[400];
    error[0] = 0;
    call->global = 0;
    call->compiled = call->st->regex_compile(call->st->regex_context, pattern, pattern_length, flags, flags_length,
                                             need_spans, &call->global, error, sizeof error);
    if (call->compiled == NULL) sb_raise(L, "regex: %s", error[0] ? error : "the pattern could not be compiled");
}

// One search from byte offset `from`; 1 with the span in *start/*end, 0 without a match. Raises
// the call's time-limit error when the engine stopped at the deadline.
static int sb_regex_exec(sb_regex_call *call, size_t from, int want_span, size_t *start, size_t *end) {
    sb_vmstate *st = call->st;
    uint64_t deadline = st->time_exceeded ? 0 : st->deadline_ns;
    int result = st->regex_exec(call->compiled, call->text, call->length, from, want_span, deadline, start, end);
    if (result < 0) {
        st->time_exceeded = 1;
        sb_check_deadline(call->L);
        return 0;  // not reached
    }
    sb_check_deadline(call->L);
    return result;
}

static int gw_regex_test(lua_State *L) {
    sb_regex_call call;
    sb_regex_begin(&call, L, 1, 2, 3, 0);
    size_t start = 0, end = 0;
    lua_pushboolean(L, sb_regex_exec(&call, 0, 0, &start, &end));
    return 1;
}

// gw.regex.find(pattern, text [, flags [, init]]) -> start, end (1-based, inclusive) or nil.
static int gw_regex_find(lua_State *L) {
    sb_regex_call call;
    sb_regex_begin(&call, L, 1, 2, 3, 1);
    lua_Integer init = luaL_optinteger(L, 4, 1);
    // As string.find: a negative init counts from the end; before the start is the start.
    if (init < 0) init = (lua_Integer)call.length + init + 1;
    if (init < 1) init = 1;
    if ((lua_Unsigned)init > (lua_Unsigned)call.length + 1) {
        luaL_pushfail(L);
        return 1;
    }
    size_t start = 0, end = 0;
    if (!sb_regex_exec(&call, (size_t)init - 1, 1, &start, &end)) {
        luaL_pushfail(L);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)start + 1);
    lua_pushinteger(L, (lua_Integer)end);
    return 2;
}

// Length of the character at s[0] as the engine reads it: a valid UTF-8 sequence, or 1 for a
// byte that does not start one (the engine reads such a byte as U+FFFD).
static size_t sb_utf8_length(const unsigned char *s, size_t available) {
    unsigned char lead = s[0];
    size_t length;
    unsigned char low = 0x80, high = 0xBF;
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead == 0xE0) { length = 3; low = 0xA0; }
    else if (lead == 0xED) { length = 3; high = 0x9F; }
    else if (lead >= 0xE1 && lead <= 0xEF) length = 3;
    else if (lead == 0xF0) { length = 4; low = 0x90; }
    else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
    else if (lead == 0xF4) { length = 4; high = 0x8F; }
    else return 1;
    if (length > available) return 1;
    for (size_t i = 1; i < length; i++) {
        unsigned char lo = i == 1 ? low : 0x80, hi = i == 1 ? high : 0xBF;
        if (s[i] < lo || s[i] > hi) return 1;
    }
    return length;
}

// Appends `replacement` with JavaScript's substitutions: `$$` is `$`, `$&` the match, `` $` `` the
// text before it, `$'` the text after it; anything else after `$` is literal.
static void sb_add_replacement(luaL_Buffer *b, const char *replacement, size_t replacement_length,
                               const char *text, size_t length, size_t start, size_t end) {
    size_t i = 0;
    while (i < replacement_length) {
        const char *dollar = memchr(replacement + i, '$', replacement_length - i);
        if (dollar == NULL) {
            luaL_addlstring(b, replacement + i, replacement_length - i);
            return;
        }
        size_t at = (size_t)(dollar - replacement);
        luaL_addlstring(b, replacement + i, at - i);
        char next = at + 1 < replacement_length ? replacement[at + 1] : 0;
        switch (next) {
        case '$': luaL_addchar(b, '$'); i = at + 2; break;
        case '&': luaL_addlstring(b, text + start, end - start); i = at + 2; break;
        case '`': luaL_addlstring(b, text, start); i = at + 2; break;
        case '\'': luaL_addlstring(b, text + end, length - end); i = at + 2; break;
        default: luaL_addchar(b, '$'); i = at + 1; break;
        }
    }
}

// gw.regex.gsub(pattern, text, replacement [, flags]) -> new text, count (JavaScript's
// String.prototype.replace: every match with the g flag, the first otherwise).
static int gw_regex_gsub(lua_State *L) {
    size_t replacement_length = 0;
    const char *replacement = luaL_checklstring(L, 3, &replacement_length);
    for (size_t i = 0; i + 1 < replacement_length; i++) {
        if (replacement[i] == '$') {
            char next = replacement[i + 1];
            if (next >= '0' && next <= '9') {
                return sb_raise(L, "regex: group references in replacements are not supported ($%c)", next);
            }
            if (next == '$') i++;  // "$$1" is a literal "$1"
        }
    }
    sb_regex_call call;
    sb_regex_begin(&call, L, 1, 2, 4, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t from = 0, copied = 0;
    lua_Integer count = 0;
    while (from <= call.length) {
        size_t start = 0, end = 0;
        if (!sb_regex_exec(&call, from, 1, &start, &end)) break;
        luaL_addlstring(&b, call.text + copied, start - copied);
        sb_add_replacement(&b, replacement, replacement_length, call.text, call.length, start, end);
        sb_check_string_size(L, "gw.regex.gsub", luaL_bufflen(&b));
        copied = end;
        count++;
        if (!call.global) break;
        if (end == start) {
            // An empty match: the next search starts one character later (JavaScript).
            if (end >= call.length) break;
            from = end + sb_utf8_length((const unsigned char *)call.text + end, call.length - end);
        } else {
            from = end;
        }
    }
    luaL_addlstring(&b, call.text + copied, call.length - copied);
    sb_check_string_size(L, "gw.regex.gsub", luaL_bufflen(&b));
    luaL_pushresult(&b);
    lua_pushinteger(L, count);
    return 2;
}

// MARK: gw.base64.url_decode

// Decodes base64url (RFC 4648 §5; '=' padding optional, only at the end) into `out`, which has
// room for len * 3 / 4 + 3 bytes. Returns the decoded length, or -1 with the offending byte's
// offset in *bad.
static long sb_b64url_decode(const unsigned char *s, size_t len, unsigned char *out, size_t *bad) {
    size_t end = len;
    while (end > 0 && s[end - 1] == '=' && len - end < 2) end--;
    if (end % 4 == 1) {
        *bad = end - 1;
        return -1;
    }
    long o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < end; i++) {
        unsigned char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else {
            *bad = i;
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    return o;
}

// gw.base64.url_decode(text) -> bytes, or nil and a reason.
static int gw_b64url_decode(lua_State *L) {
    size_t len = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, len / 4 * 3 + 3);
    size_t bad = 0;
    long decoded = sb_b64url_decode(s, len, out, &bad);
    if (decoded < 0) {
        luaL_pushresultsize(&b, 0);
        lua_pop(L, 1);
        luaL_pushfail(L);
        lua_pushfstring(L, "invalid base64url at byte %d", (int)bad + 1);
        return 2;
    }
    luaL_pushresultsize(&b, (size_t)decoded);
    return 1;
}

// MARK: gw.crypto.rsa_sha256_verify

// Decodes the base64url string field `name` of the JWK table at index 1 into a new userdata left
// on the stack (owned by Lua, so an error cannot leak it); raises `crypto: ...` when it is not one.
static const unsigned char *sb_jwk_field(lua_State *L, const char *name, size_t *out_length) {
    lua_pushstring(L, name);
    if (lua_rawget(L, 1) != LUA_TSTRING) {
        sb_raise(L, "crypto: the RSA key table has no base64url string '%s' (a JWK has n and e)", name);
    }
    size_t len = 0;
    const unsigned char *s = (const unsigned char *)lua_tolstring(L, -1, &len);
    unsigned char *out = lua_newuserdatauv(L, len / 4 * 3 + 3, 0);
    size_t bad = 0;
    long decoded = sb_b64url_decode(s, len, out, &bad);
    if (decoded <= 0) {
        sb_raise(L, "crypto: the RSA key's '%s' is not base64url%s", name, decoded == 0 ? " (it is empty)" : "");
    }
    *out_length = (size_t)decoded;
    return out;
}

// An RSA public key from {n =, e =}; NULL with a reason in `why`.
static EVP_PKEY *sb_rsa_from_jwk(const struct sb_crypto *C, const unsigned char *n, size_t n_length,
                                 const unsigned char *e, size_t e_length, const char **why) {
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn_n = C->BN_bin2bn(n, (int)n_length, NULL);
    BIGNUM *bn_e = C->BN_bin2bn(e, (int)e_length, NULL);
    OSSL_PARAM_BLD *builder = C->OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = C->EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    *why = "the RSA key (n, e) could not be built";
    if (bn_n && bn_e && builder && ctx &&
        C->OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
        C->OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e) &&
        (params = C->OSSL_PARAM_BLD_to_param(builder)) != NULL &&
        C->EVP_PKEY_fromdata_init(ctx) > 0) {
        if (C->EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) pkey = NULL;
    }
    C->OSSL_PARAM_free(params);
    C->OSSL_PARAM_BLD_free(builder);
    C->EVP_PKEY_CTX_free(ctx);
    C->BN_free(bn_n);
    C->BN_free(bn_e);
    return pkey;
}

// An RSA public key from PEM ("PUBLIC KEY", or PKCS#1 "RSA PUBLIC KEY"), or with `selection`
// EVP_PKEY_KEYPAIR a private key ("PRIVATE KEY" PKCS#8, "RSA PRIVATE KEY"); NULL when it is not one.
static EVP_PKEY *sb_rsa_from_pem_as(const struct sb_crypto *C, const char *pem, size_t length, int selection) {
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *decoder = C->OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA", selection, NULL, NULL);
    if (decoder == NULL) return NULL;
    const unsigned char *data = (const unsigned char *)pem;
    size_t left = length;
    if (!C->OSSL_DECODER_from_data(decoder, &data, &left)) {
        C->EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    C->OSSL_DECODER_CTX_free(decoder);
    return pkey;
}

static EVP_PKEY *sb_rsa_from_pem(const struct sb_crypto *C, const char *pem, size_t length) {
    return sb_rsa_from_pem_as(C, pem, length, EVP_PKEY_PUBLIC_KEY);
}

// gw.crypto.rsa_sha256_sign(private_key_pem, data) -> signature bytes (RS256: RSASSA-PKCS1-v1_5
// with SHA-256), for providers that authenticate with a signed assertion (a Google service
// account's JWT). The key is PEM: PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY". Raises
// `crypto: ...` (the script's error, never the key's text) when the key is not one.
static int gw_rsa_sha256_sign(lua_State *L) {
    size_t pem_length = 0, data_length = 0;
    const char *pem = luaL_checklstring(L, 1, &pem_length);
    const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 2, &data_length);
    const char *why = "libcrypto is not available";
    const struct sb_crypto *C = sb_crypto(&why);
    if (C == NULL) return sb_raise(L, "crypto: %s", why);
    EVP_PKEY *pkey = sb_rsa_from_pem_as(C, pem, pem_length, EVP_PKEY_KEYPAIR);
    if (pkey == NULL) {
        C->ERR_clear_error();
        return sb_raise(L, "crypto: the key is not a PEM RSA private key");
    }
    // 16384-bit keys sign 2048 bytes; nothing larger is an RSA key in use.
    unsigned char signature[2048];
    size_t signature_length = sizeof signature;
    EVP_MD_CTX *md = C->EVP_MD_CTX_new();
    int signed_ok = md != NULL && C->EVP_DigestSignInit(md, NULL, C->EVP_sha256(), NULL, pkey) == 1
        && C->EVP_DigestSign(md, signature, &signature_length, data, data_length) == 1;
    C->EVP_MD_CTX_free(md);
    C->EVP_PKEY_free(pkey);
    C->ERR_clear_error();
    if (!signed_ok) return sb_raise(L, "crypto: RSA signing failed (is the key valid?)");
    sb_check_deadline(L);
    lua_pushlstring(L, (const char *)signature, signature_length);
    return 1;
}

// gw.crypto.rsa_sha256_verify(key, data, signature) -> boolean (RS256: RSASSA-PKCS1-v1_5 with
// SHA-256). `key` is a PEM public key or a JWK-style table {n =, e =} (base64url).
static int gw_rsa_sha256_verify(lua_State *L) {
    int key_type = lua_type(L, 1);
    if (key_type != LUA_TSTRING && key_type != LUA_TTABLE) {
        return sb_raise(L, "crypto: the RSA key must be a PEM string or a table {n =, e =}, not %s", luaL_typename(L, 1));
    }
    size_t data_length = 0, signature_length = 0;
    const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 2, &data_length);
    const unsigned char *signature = (const unsigned char *)luaL_checklstring(L, 3, &signature_length);
    // Everything that can raise happens before OpenSSL allocates anything.
    const unsigned char *n = NULL, *e = NULL;
    size_t n_length = 0, e_length = 0;
    size_t pem_length = 0;
    const char *pem = NULL;
    if (key_type == LUA_TTABLE) {
        lua_pushstring(L, "kty");
        if (lua_rawget(L, 1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "RSA") != 0) {
            return sb_raise(L, "crypto: the key is a '%s' key, not RSA", lua_tostring(L, -1));
        }
        lua_pop(L, 1);
        n = sb_jwk_field(L, "n", &n_length);
        e = sb_jwk_field(L, "e", &e_length);
    } else {
        pem = lua_tolstring(L, 1, &pem_length);
    }
    const char *why = "the key is not a PEM RSA public key";
    const struct sb_crypto *C = sb_crypto(&why);
    if (C == NULL) return sb_raise(L, "crypto: %s", why);
    EVP_PKEY *pkey = key_type == LUA_TTABLE ? sb_rsa_from_jwk(C, n, n_length, e, e_length, &why)
                                            : sb_rsa_from_pem(C, pem, pem_length);
    if (pkey == NULL) {
        C->ERR_clear_error();
        return sb_raise(L, "crypto: %s", why);
    }
    EVP_MD_CTX *md = C->EVP_MD_CTX_new();
    int verified = -1;
    if (md != NULL && C->EVP_DigestVerifyInit(md, NULL, C->EVP_sha256(), NULL, pkey) == 1) {
        verified = C->EVP_DigestVerify(md, signature, signature_length, data, data_length) == 1;
    }
    C->EVP_MD_CTX_free(md);
    C->EVP_PKEY_free(pkey);
    C->ERR_clear_error();
    if (verified < 0) return sb_raise(L, "crypto: RSA verification could not be set up (is the key valid?)");
    sb_check_deadline(L);
    lua_pushboolean(L, verified);
    return 1;
}

// MARK: Registration

void sb_open_gw_regex_crypto(lua_State *L) {
    lua_newtable(L);
    lua_pushcfunction(L, gw_regex_test); lua_setfield(L, -2, "test");
    lua_pushcfunction(L, gw_regex_find); lua_setfield(L, -2, "find");
    lua_pushcfunction(L, gw_regex_gsub); lua_setfield(L, -2, "gsub");
    lua_setfield(L, -2, "regex");

    lua_newtable(L);
    lua_pushcfunction(L, gw_rsa_sha256_verify); lua_setfield(L, -2, "rsa_sha256_verify");
    lua_pushcfunction(L, gw_rsa_sha256_sign); lua_setfield(L, -2, "rsa_sha256_sign");
    lua_setfield(L, -2, "crypto");

    lua_getfield(L, -1, "base64");
    lua_pushcfunction(L, gw_b64url_decode); lua_setfield(L, -2, "url_decode");
    lua_pop(L, 1);
}
