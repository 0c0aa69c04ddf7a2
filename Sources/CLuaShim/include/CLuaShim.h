// C glue between the Swift host and Lua 5.4.
//
// Everything here exists because Swift must never be unwound by Lua's longjmp:
// the capped allocator, the instruction hook, the sandboxed standard library,
// the host API (`gw`) and the JSON codec are all C, and every call into Lua that
// can raise goes through `sb_pcall`.
#ifndef CLUASHIM_H
#define CLUASHIM_H

#include <stddef.h>
#include <stdint.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <lua5.4/lauxlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Deepest nesting of arrays/objects the JSON codec accepts (decode, encode and scan).
#define SB_JSON_MAX_DEPTH 256

/// Called by `gw.log(level, message)`; `context` is the pointer given to `sb_newstate`.
typedef void (*sb_log_fn)(void *context, const char *level, const char *message, size_t length);

/// Called by `gw.store.get(key)`: a `malloc`ed copy of the value (the caller frees it) and its length,
/// or NULL when the key is absent or expired.
typedef char *(*sb_store_get_fn)(void *context, const char *key, size_t key_length, size_t *value_length);
/// Called by `gw.store.put(key, value, ttl_seconds)`: 0 when stored, non-zero when the value is
/// too large for the store.
typedef int (*sb_store_put_fn)(void *context, const char *key, size_t key_length,
                               const char *value, size_t value_length, double ttl_seconds);
/// Called by `gw.store.delete(key)`.
typedef void (*sb_store_delete_fn)(void *context, const char *key, size_t key_length);

/// Compiles (or finds in the VM's cache) a JavaScript regular expression for `gw.regex`: returns
/// an opaque handle valid until the next compile call of the same VM, and sets *global for the `g`
/// flag; or NULL with a NUL-terminated reason in `error`. `need_spans`: the caller wants match
/// spans (find, gsub), which a few patterns cannot give as JavaScript would.
typedef void *(*sb_regex_compile_fn)(void *context, const char *pattern, size_t pattern_length,
                                     const char *flags, size_t flags_length, int need_spans, int *global,
                                     char *error, size_t error_size);
/// Searches `text` from byte offset `from` with a handle from the compile function: 1 with the
/// match's byte offsets in *start/*end (end exclusive; only computed when `want_span`), 0 without
/// a match, -1 when CLOCK_MONOTONIC_COARSE passed `deadline_ns` first. Never raises.
typedef int (*sb_regex_exec_fn)(void *compiled, const char *text, size_t length, size_t from, int want_span,
                                uint64_t deadline_ns, size_t *start, size_t *end);

/// Per-VM limits and accounting, owned by the VM (freed by `sb_close`).
typedef struct sb_vmstate {
    size_t memory_used;
    size_t memory_limit;        ///< 0 = unlimited
    int enforce_memory;         ///< limit applies only inside sb_pcall, so host-side pushes never raise
    int memory_exceeded;        ///< set when an allocation was refused during the current call
    uint64_t instructions_used;
    uint64_t instruction_budget; ///< 0 = unlimited; counted across every coroutine of the VM
    int budget_exceeded;
    sb_log_fn log;
    void *log_context;
    uint64_t time_limit_ns;     ///< wall-clock limit of one call (sb_pcall / sb_resume); 0 = none
    uint64_t deadline_ns;       ///< CLOCK_MONOTONIC_COARSE time the current call must end by
    int time_exceeded;          ///< set when the current call ran past its deadline
    size_t max_string;          ///< largest string one C function may build; 0 = none
    int hook_step;              ///< instructions between two hook ticks (adapts to memory in use)
    sb_store_get_fn store_get;  ///< the host's shared store for `gw.store` (NULL: none)
    sb_store_put_fn store_put;
    sb_store_delete_fn store_delete;
    void *store_context;
    sb_regex_compile_fn regex_compile;  ///< the host's engine for `gw.regex` (NULL: none)
    sb_regex_exec_fn regex_exec;
    void *regex_context;
} sb_vmstate;

/// Connects `gw.regex` to the host's regular expression engine (`context`: the VM's pattern cache).
void sb_set_regex(lua_State *L, sb_regex_compile_fn compile, sb_regex_exec_fn exec, void *context);

/// Connects `gw.store` to the host's store (shared by every VM; see `ScriptStore`).
void sb_set_store(lua_State *L, sb_store_get_fn get, sb_store_put_fn put, sb_store_delete_fn del, void *context);

/// Sets the wall-clock limit of one call (milliseconds, 0 = none) and the largest string one
/// string or table function may build (bytes, 0 = none). Applies from the next call on.
void sb_set_limits(lua_State *L, uint64_t time_limit_ms, size_t max_string);

/// For tests: exposes the stock (unbounded) `string.find/match/gmatch/gsub` as the global table
/// `stock_patterns`, to compare the sandbox's bounded versions against them.
void sb_expose_stock_patterns(lua_State *L);

/// Creates a sandboxed VM: base (without dofile/loadfile, `load` text-only), string (without dump),
/// table, math, utf8, coroutine, the `gw` host table and a `require` that loads only registered
/// library sources. Returns NULL if memory could not be allocated.
lua_State *sb_newstate(size_t memory_limit, sb_log_fn log, void *log_context);
void sb_close(lua_State *L);
sb_vmstate *sb_state(lua_State *L);

/// Loads a text chunk (binary chunks are refused) and leaves the function (or an error message)
/// on the stack. Returns a LUA_* status.
int sb_load(lua_State *L, const char *source, size_t length, const char *chunkname);

/// Registers `source` as the library `name` for the sandboxed `require`.
void sb_register_library(lua_State *L, const char *name, const char *source, size_t length, const char *chunkname);

/// `lua_pcall` with the memory cap enforced and a fresh instruction budget for this call.
/// On error the error value is on the stack; `sb_vmstate` says whether a limit caused it.
int sb_pcall(lua_State *L, int nargs, int nresults, uint64_t instruction_budget);
/// `sb_pcall` without the time limit, for the host's own JSON decode/encode of bodies: one linear C
/// call bounded by the body size and the memory cap, which a deadline could only waste.
int sb_pcall_untimed(lua_State *L, int nargs, int nresults, uint64_t instruction_budget);

// MARK: JSON

/// What the validating scan learned about a top-level JSON object, without building a tree.
typedef struct sb_scan_info {
    int is_object;            ///< the document is an object
    long model_offset;        ///< byte offset of the top-level "model" string contents, or -1
    long model_length;        ///< raw (still escaped) length of that string
    int model_has_escapes;
    int stream;               ///< -1 absent, 0 false, 1 true (top-level "stream")
    long error_offset;        ///< where validation failed
    char error[160];          ///< why it failed (empty when valid)
} sb_scan_info;

/// Validates a whole JSON document (grammar, UTF-8, nesting depth). Returns 0 if valid.
int sb_json_scan(const char *buffer, size_t length, sb_scan_info *info);

/// Decodes JSON into Lua values and pushes the result. Raises a Lua error on invalid input;
/// call it under `sb_pcall` through `sb_json_decode_cfunction`.
int sb_json_decode_cfunction(lua_State *L);
/// Encodes the value at index 1 and pushes a string. Raises on unencodable values.
int sb_json_encode_cfunction(lua_State *L);
/// Formats a decode/scan failure position as "line L, column C (byte B)".
void sb_json_position(const char *buffer, size_t length, long offset, char *out, size_t out_size);

// MARK: Stack helpers (Lua's macros are not visible to Swift)

void sb_pop(lua_State *L, int n);
void sb_newtable(lua_State *L);
int sb_isnil(lua_State *L, int idx);
int sb_istable(lua_State *L, int idx);
int sb_isstring_exact(lua_State *L, int idx);
const char *sb_tolstring(lua_State *L, int idx, size_t *len);
int sb_upvalueindex(int i);
int sb_registryindex(void);
/// Raw field access that never runs metamethods (safe outside a protected call).
int sb_rawgetfield(lua_State *L, int idx, const char *key);
void sb_rawsetfield(lua_State *L, int idx, const char *key);
void sb_pushnull(lua_State *L);
int sb_isnull(lua_State *L, int idx);
/// Pushes a fresh table marked as a JSON array.
void sb_newarray(lua_State *L);

// MARK: Bytes

/// The first occurrence of `needle` in `haystack` (glibc memmem), or NULL.
const void *sb_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);

// MARK: Swift runtime

/// Sets the Swift runtime's global-executor enqueue hook to `hook` if none is set (atomically);
/// returns 1 when it was set. See runtime.c for why this is not done with dlsym.
int sb_swift_install_enqueue_global_hook(void *hook);

// MARK: Process memory

/// Returns freed heap memory to the kernel (glibc's malloc_trim), so RSS falls back after a load
/// spike instead of staying at its peak. Returns 1 if memory was released.
int sb_release_free_memory(void);
/// Resumes coroutine `co` of state `L` with the same limits as `sb_pcall`.
int sb_resume(lua_State *L, lua_State *co, int nargs, int *nresults, uint64_t instruction_budget);
/// A full garbage collection of one state (lua_gc is variadic, which Swift cannot call).
void sb_gc_collect(lua_State *L);

// MARK: Hashing

/// SHA-256 of `len` bytes at `data` into `out` (32 bytes), for the host (cache keys), with the same
/// libcrypto the `gw.sha256` Lua function uses. Returns 0 on success, -1 on failure.
int sb_sha256(const void *data, size_t len, unsigned char out[32]);

#ifdef __cplusplus
}
#endif
#endif
