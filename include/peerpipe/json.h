/* SPDX-License-Identifier: Apache-2.0 */
/* JSON helpers shared by every parser of network input (signaling, tunnel
 * control messages, EVE records). */
#ifndef PEERPIPE_JSON_H
#define PEERPIPE_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* False when objects and arrays nest deeper than max_depth. A linear scan
 * run before jansson, which recurses once per level. */
bool pp_json_nesting_ok(const char *text, size_t len, int max_depth);

#endif
