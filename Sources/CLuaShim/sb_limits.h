// Limits shared by shim.c and patterns.c (not visible to Swift).
#ifndef CLUASHIM_LIMITS_H
#define CLUASHIM_LIMITS_H

#include "CLuaShim.h"

/// CLOCK_MONOTONIC_COARSE in nanoseconds: a vDSO read of a few nanoseconds, good to a tick.
uint64_t sb_now_coarse(void);

/// Raises the call's time-limit error (with the script's file:line) if its deadline has passed.
/// For C functions that can run long without giving the count hook a chance to fire.
void sb_check_deadline(lua_State *L);

/// Raises "<fn>: result of N bytes is over the limit of M bytes for one string" when `size` is
/// over the VM's string cap.
void sb_check_string_size(lua_State *L, const char *fn, size_t size);

/// Replaces string.find/match/gmatch/gsub with the bounded matcher of patterns.c (the stock ones
/// are kept in the registry for tests). `string` table on top of the stack.
void sb_install_patterns(lua_State *L);

/// Adds gw.regex, gw.crypto and gw.base64.url_decode (gw_regex.c) to the `gw` table on top of the stack.
void sb_open_gw_regex_crypto(lua_State *L);

#endif
