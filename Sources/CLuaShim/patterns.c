#define _GNU_SOURCE  // memmem
// Lua 5.4 patterns (reference manual §6.4.1) for the sandbox's string.find / match / gmatch / gsub,
// with a step budget: a backtracking matcher can take exponential time (`(".-"):rep(6) .. "b"` on
// 5,000 characters), and a C function is out of the count hook's reach. Every step counts; over
// the budget the call fails with "pattern too complex", and the call's deadline is looked at every
// SB_CLOCK_EVERY steps. Results and errors are otherwise those of the stock functions (a
// differential test in Tests/LuaRuntimeTests compares both over generated patterns).
#include "CLuaShim.h"
#include "sb_limits.h"

#include <ctype.h>
#include <string.h>

#define SB_MAX_CAPTURES 32      // as the stock library: more is "too many captures"
#define SB_MAX_DEPTH 200        // nested matching calls before "pattern too complex" (C stack)
#define SB_CAPTURE_OPEN (-1)    // a capture whose ')' is not reached yet
#define SB_CAPTURE_POSITION (-2) // `()`
// Budget of one call: a fixed allowance plus some steps per subject byte, so linear patterns on
// big subjects pass and super-linear ones fail fast.
#define SB_STEPS_BASE 1000000u
#define SB_STEPS_PER_BYTE 64u
#define SB_CLOCK_EVERY 4096u

typedef struct {
    const char *subject;    // start of the subject
    const char *subject_end;
    const char *pattern_end;
    lua_State *L;
    int depth_left;
    int captures;
    struct {
        const char *start;
        ptrdiff_t length;   // or SB_CAPTURE_OPEN / SB_CAPTURE_POSITION
    } capture[SB_MAX_CAPTURES];
    uint64_t steps;
    uint64_t step_limit;
    uint64_t next_check;    // min(step_limit, next clock look)
} Matcher;

static void matcher_init(Matcher *m, lua_State *L, const char *s, size_t len, const char *p, size_t plen) {
    m->subject = s;
    m->subject_end = s + len;
    m->pattern_end = p + plen;
    m->L = L;
    m->depth_left = SB_MAX_DEPTH;
    m->captures = 0;
    m->steps = 0;
    m->step_limit = SB_STEPS_BASE + (uint64_t)SB_STEPS_PER_BYTE * len;
    m->next_check = m->step_limit < SB_CLOCK_EVERY ? m->step_limit : SB_CLOCK_EVERY;
}

// Before each attempt at a new subject position.
static void matcher_restart(Matcher *m) {
    m->captures = 0;
    m->depth_left = SB_MAX_DEPTH;
}

static void over_budget(Matcher *m) {
    if (m->steps > m->step_limit) {
        luaL_error(m->L, "pattern too complex (over %I matching steps for a %I-byte subject)",
                   (lua_Integer)m->step_limit, (lua_Integer)(m->subject_end - m->subject));
    }
    sb_check_deadline(m->L);
    uint64_t clock = m->steps + SB_CLOCK_EVERY;
    m->next_check = clock < m->step_limit ? clock : m->step_limit + 1;
}

static inline void step(Matcher *m, uint64_t n) {
    m->steps += n;
    if (m->steps >= m->next_check) over_budget(m);
}

// %a, %d, ... (upper case: the complement); any other character stands for itself.
static inline __attribute__((always_inline)) int in_class(int c, int letter) {
    int yes;
    switch (tolower(letter)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break;  // deprecated by the manual, still accepted by Lua 5.4
    default: return letter == c;
    }
    yes = yes != 0;
    return isupper(letter) ? !yes : yes;
}

// `[...]` from `open` (the '[') to `close` (its ']').
static int in_set(int c, const char *open, const char *close) {
    const char *p = open + 1;
    int found = 1;
    if (*p == '^') {
        found = 0;
        p++;
    }
    for (; p < close; p++) {
        if (*p == '%') {
            p++;
            if (in_class(c, (unsigned char)*p)) return found;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return found;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return found;
        }
    }
    return !found;
}

// The end of the single-character item at p (a character, `.`, `%x` or a set).
static inline const char *item_end(Matcher *m, const char *p) {
    char c = *p++;
    if (c == '%') {
        if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (*p == '^') p++;
        do {  // the first character of a set is never its end, even ']'
            if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing ']')");
            c = *p++;
            if (c == '%' && p < m->pattern_end) p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

// Whether the item p..end matches the character at s.
static inline __attribute__((always_inline)) int item_matches(Matcher *m, const char *s, const char *p, const char *end) {
    if (s >= m->subject_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return in_class(c, (unsigned char)p[1]);
    case '[': return in_set(c, p, end - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match_here(Matcher *m, const char *s, const char *p);

// item* / item+ (after its first): longest run first, then shorter ones.
static const char *match_greedy(Matcher *m, const char *s, const char *p, const char *end) {
    size_t run = 0;
    while (item_matches(m, s + run, p, end)) run++;
    step(m, run / 8);
    for (;;) {
        const char *rest = match_here(m, s + run, end + 1);
        if (rest != NULL) return rest;
        if (run == 0) return NULL;
        run--;
    }
}

// item-: shortest run first.
static const char *match_lazy(Matcher *m, const char *s, const char *p, const char *end) {
    for (;;) {
        const char *rest = match_here(m, s, end + 1);
        if (rest != NULL) return rest;
        if (!item_matches(m, s, p, end)) return NULL;
        s++;
    }
}

static const char *open_capture(Matcher *m, const char *s, const char *p, ptrdiff_t kind) {
    if (m->captures >= SB_MAX_CAPTURES) luaL_error(m->L, "too many captures");
    int index = m->captures++;
    m->capture[index].start = s;
    m->capture[index].length = kind;
    const char *rest = match_here(m, s, p);
    if (rest == NULL) m->captures--;
    return rest;
}

static const char *close_capture(Matcher *m, const char *s, const char *p) {
    int index = m->captures - 1;
    while (index >= 0 && m->capture[index].length != SB_CAPTURE_OPEN) index--;
    if (index < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[index].length = s - m->capture[index].start;
    const char *rest = match_here(m, s, p);
    if (rest == NULL) m->capture[index].length = SB_CAPTURE_OPEN;
    return rest;
}

// %bxy at s; p points at x.
static const char *match_balanced(Matcher *m, const char *s, const char *p) {
    if (p + 1 >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != p[0]) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    const char *start = s;
    while (++s < m->subject_end) {
        if (*s == close) {
            if (--depth == 0) {
                step(m, (size_t)(s - start) / 8);
                return s + 1;
            }
        } else if (*s == open) {
            depth++;
        }
    }
    step(m, (size_t)(s - start) / 8);
    return NULL;
}

// %1 .. %9: the text of an earlier, closed capture again.
static const char *match_backreference(Matcher *m, const char *s, int digit) {
    int index = digit - '1';
    if (index < 0 || index >= m->captures || m->capture[index].length == SB_CAPTURE_OPEN) {
        luaL_error(m->L, "invalid capture index %%%d", index + 1);
    }
    size_t length = (size_t)m->capture[index].length;  // a position capture never matches
    if ((size_t)(m->subject_end - s) >= length && memcmp(m->capture[index].start, s, length) == 0) {
        step(m, length / 8);
        return s + length;
    }
    return NULL;
}

// Matches the pattern from p at s; returns the end of the match or NULL.
static const char *match_here(Matcher *m, const char *s, const char *p) {
    if (m->depth_left-- == 0) luaL_error(m->L, "pattern too complex");
    for (;;) {
        step(m, 1);
        if (p == m->pattern_end) break;
        switch (*p) {
        case '(':
            s = p[1] == ')' ? open_capture(m, s, p + 2, SB_CAPTURE_POSITION)
                            : open_capture(m, s, p + 1, SB_CAPTURE_OPEN);
            goto done;
        case ')':
            s = close_capture(m, s, p + 1);
            goto done;
        case '$':
            if (p + 1 == m->pattern_end) {
                if (s != m->subject_end) s = NULL;
                goto done;
            }
            break;
        case '%':
            if (p[1] == 'b') {
                s = match_balanced(m, s, p + 2);
                if (s == NULL) goto done;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *end = item_end(m, p);
                int before = s == m->subject ? 0 : (unsigned char)s[-1];
                int at = s < m->subject_end ? (unsigned char)*s : 0;
                if (!in_set(before, p, end - 1) && in_set(at, p, end - 1)) {
                    p = end;
                    continue;
                }
                s = NULL;
                goto done;
            }
            if (isdigit((unsigned char)p[1])) {
                s = match_backreference(m, s, (unsigned char)p[1]);
                if (s == NULL) goto done;
                p += 2;
                continue;
            }
            break;
        default:
            break;
        }
        // A single-character item, maybe with a quantifier.
        const char *end = item_end(m, p);
        if (!item_matches(m, s, p, end)) {
            if (*end == '*' || *end == '?' || *end == '-') {  // zero repetitions are fine
                p = end + 1;
                continue;
            }
            s = NULL;
            goto done;
        }
        switch (*end) {
        case '?': {
            const char *rest = match_here(m, s + 1, end + 1);
            if (rest != NULL) {
                s = rest;
                goto done;
            }
            p = end + 1;
            continue;
        }
        case '+': s = match_greedy(m, s + 1, p, end); goto done;
        case '*': s = match_greedy(m, s, p, end); goto done;
        case '-': s = match_lazy(m, s, p, end); goto done;
        default:
            s++;
            p = end;
            continue;
        }
    }
done:
    m->depth_left++;
    return s;
}

// MARK: Captures to values

// Pushes capture i of the match s..e (capture 0 of a pattern without captures: the whole match).
// Returns the length of a string capture, or SB_CAPTURE_POSITION after pushing a position, with
// the text in *text; pushes nothing for text unless asked to by `push`.
static ptrdiff_t capture_value(Matcher *m, int i, const char *s, const char *e, const char **text) {
    if (i >= m->captures) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *text = s;
        return e - s;
    }
    ptrdiff_t length = m->capture[i].length;
    *text = m->capture[i].start;
    if (length == SB_CAPTURE_OPEN) luaL_error(m->L, "unfinished capture");
    if (length == SB_CAPTURE_POSITION) lua_pushinteger(m->L, (m->capture[i].start - m->subject) + 1);
    return length;
}

static void push_capture(Matcher *m, int i, const char *s, const char *e) {
    const char *text;
    ptrdiff_t length = capture_value(m, i, s, e, &text);
    if (length != SB_CAPTURE_POSITION) lua_pushlstring(m->L, text, (size_t)length);
}

// Pushes every capture (or the whole match s..e when there are none and s is given).
static int push_captures(Matcher *m, const char *s, const char *e) {
    int count = (m->captures == 0 && s != NULL) ? 1 : m->captures;
    luaL_checkstack(m->L, count, "too many captures");
    for (int i = 0; i < count; i++) push_capture(m, i, s, e);
    return count;
}

// MARK: The library functions

// A position argument: negative counts from the end; 0 and anything before the start mean 1.
static size_t start_position(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0) return 1;
    if (pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++) {
        switch (p[i]) {
        case '^': case '$': case '*': case '+': case '?': case '.': case '(': case '[': case '%': case '-':
            return 1;
        default:
            break;
        }
    }
    return 0;
}

static int find_or_match(lua_State *L, int find) {
    size_t len, plen;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *p = luaL_checklstring(L, 2, &plen);
    size_t init = start_position(luaL_optinteger(L, 3, 1), len) - 1;
    if (init > len) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, plen))) {
        // memmem is linear (two-way), unlike a naive search.
        const char *at = plen == 0 ? s + init : memmem(s + init, len - init, p, plen);
        if (at != NULL) {
            lua_pushinteger(L, (at - s) + 1);
            lua_pushinteger(L, (lua_Integer)((at - s) + plen));
            return 2;
        }
        sb_check_deadline(L);
    } else {
        Matcher m;
        const char *from = s + init;
        int anchored = *p == '^';
        if (anchored) {
            p++;
            plen--;
        }
        matcher_init(&m, L, s, len, p, plen);
        do {
            matcher_restart(&m);
            const char *e = match_here(&m, from, p);
            if (e != NULL) {
                if (find) {
                    lua_pushinteger(L, (from - s) + 1);
                    lua_pushinteger(L, e - s);
                    return push_captures(&m, NULL, NULL) + 2;
                }
                return push_captures(&m, from, e);
            }
        } while (from++ < m.subject_end && !anchored);
    }
    luaL_pushfail(L);
    return 1;
}

static int sb_find(lua_State *L) { return find_or_match(L, 1); }
static int sb_match(lua_State *L) { return find_or_match(L, 0); }

// gmatch's iterator state (a userdata upvalue; the subject and pattern are upvalues too, so they
// stay alive). '^' is not an anchor in gmatch: it matches itself.
typedef struct {
    size_t next;        // offset to try from
    size_t last_end;    // end offset of the last match, or SIZE_MAX
} GmatchState;

static int gmatch_next(lua_State *L) {
    size_t len, plen;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &len);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &plen);
    GmatchState *state = (GmatchState *)lua_touserdata(L, lua_upvalueindex(3));
    Matcher m;
    matcher_init(&m, L, s, len, p, plen);
    for (const char *from = s + state->next; from <= m.subject_end; from++) {
        matcher_restart(&m);
        const char *e = match_here(&m, from, p);
        if (e != NULL && (size_t)(e - s) != state->last_end) {
            state->next = state->last_end = (size_t)(e - s);
            return push_captures(&m, from, e);
        }
    }
    state->next = len + 1;
    return 0;
}

static int sb_gmatch(lua_State *L) {
    size_t len;
    luaL_checklstring(L, 1, &len);
    luaL_checkstring(L, 2);
    size_t init = start_position(luaL_optinteger(L, 3, 1), len) - 1;
    if (init > len) init = len + 1;
    lua_settop(L, 2);
    GmatchState *state = (GmatchState *)lua_newuserdatauv(L, sizeof *state, 0);
    state->next = init;
    state->last_end = SIZE_MAX;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

// Appends the replacement string (argument 3) for the match s..e: %0 the match, %1-%9 captures,
// %% a '%'.
static void add_template(Matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t len;
    const char *r = lua_tolstring(L, 3, &len);
    const char *escape;
    while ((escape = memchr(r, '%', len)) != NULL) {
        luaL_addlstring(b, r, (size_t)(escape - r));
        const char *c = escape + 1;  // a '%' at the end sees the string's terminating NUL
        if (*c == '%') {
            luaL_addchar(b, '%');
        } else if (*c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*c)) {
            const char *text;
            ptrdiff_t length = capture_value(m, *c - '1', s, e, &text);
            if (length == SB_CAPTURE_POSITION) {
                luaL_addvalue(b);
            } else {
                luaL_addlstring(b, text, (size_t)length);
            }
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", '%');
        }
        len -= (size_t)(c + 1 - r);
        r = c + 1;
    }
    luaL_addlstring(b, r, len);
}

// Appends the replacement for the match s..e; returns whether it differs from the match.
static int add_replacement(Matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {  // nil or false: keep the match
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1)) {
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
    return 1;
}

static int sb_gsub(lua_State *L) {
    size_t len, plen;
    const char *src = luaL_checklstring(L, 1, &len);
    const char *p = luaL_checklstring(L, 2, &plen);
    int kind = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)len + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                     3, "string/function/table");
    int anchored = *p == '^';
    if (anchored) {
        p++;
        plen--;
    }
    Matcher m;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    matcher_init(&m, L, src, len, p, plen);
    const char *last = NULL;
    lua_Integer count = 0;
    int changed = 0;
    while (count < max) {
        matcher_restart(&m);
        const char *e = match_here(&m, src, p);
        if (e != NULL && e != last) {
            count++;
            changed |= add_replacement(&m, &b, src, e, kind);
            src = last = e;
            sb_check_string_size(L, "string.gsub", luaL_bufflen(&b));
        } else if (src < m.subject_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchored) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.subject_end - src));
        sb_check_string_size(L, "string.gsub", luaL_bufflen(&b));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, count);
    return 2;
}

// MARK: Installing

static const char *const SB_STOCK_PATTERNS_KEY = "switchboard.stock_patterns";

void sb_install_patterns(lua_State *L) {
    int string = lua_gettop(L);
    static const char *const names[] = {"find", "match", "gmatch", "gsub"};
    static const lua_CFunction bounded[] = {sb_find, sb_match, sb_gmatch, sb_gsub};
    lua_createtable(L, 0, 4);
    for (int i = 0; i < 4; i++) {
        lua_getfield(L, string, names[i]);
        lua_setfield(L, -2, names[i]);
        lua_pushcfunction(L, bounded[i]);
        lua_setfield(L, string, names[i]);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, SB_STOCK_PATTERNS_KEY);
}

void sb_expose_stock_patterns(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, SB_STOCK_PATTERNS_KEY);
    lua_setglobal(L, "stock_patterns");
}
