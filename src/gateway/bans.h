/* SPDX-License-Identifier: Apache-2.0 */
/* The ban store (docs/gateway.md "Sentinel"): bans_file, a JSON file that
 * the running gateway and `peerpipe-gateway bans` share.
 *
 *   {"version": 1, "bans": [{"fingerprint": "sha-256 AB:...", "identity": "alice",
 *     "reason": "Sentinel: 10 denied streams in 60 s",
 *     "since": "2026-01-02T03:04:05Z", "until": "2026-01-02T04:04:05Z"}]}
 *
 * Times are wall clock, RFC 3339 in UTC with seconds ("Z" only). A ban is
 * active while now < until; expired bans are ignored and dropped by the
 * next write.
 *
 * Every change is a read-modify-write under an exclusive flock on
 * "<bans_file>.lock", so that the gateway adding a ban and an operator
 * lifting one never lose each other's update; the new content goes to a
 * temporary file in the same directory (mode 0600), fsync, rename over the
 * old one, fsync of the directory: a reader (which takes no lock) sees the
 * old file or the new one, never a mix, and a failed write leaves the old
 * file as it was.
 *
 * The parser is strict and bounded (BANS_FILE_MAX bytes, BANS_MAX entries,
 * no unknown or duplicate keys, no fingerprint twice): a file it refuses
 * is "corrupt", and the gateway refuses to start on it rather than forget
 * bans (main.c says how to repair: `bans lift --all` keeps the corrupt file
 * aside and starts an empty one). A missing file is an empty store. */
#ifndef PP_GATEWAY_BANS_H
#define PP_GATEWAY_BANS_H

#include "peerpipe/rtc/fingerprint.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BANS_FILE_MAX (1024 * 1024) /* bytes */
#define BANS_MAX 4096               /* entries */
#define BANS_NAME_MAX 64            /* identity name, the config's rule */
#define BANS_REASON_MAX 256         /* bytes */
#define BANS_TIME_TEXT_MAX 21       /* "YYYY-MM-DDTHH:MM:SSZ" and NUL */

struct ban {
	struct pp_fingerprint fp;        /* sha-256 only */
	char fp_text[PP_FP_TEXT_MAX];    /* canonical: "sha-256 AB:..." */
	char identity[BANS_NAME_MAX + 1];
	char reason[BANS_REASON_MAX + 1];
	int64_t since, until;            /* unix seconds */
};

/* --- pure: the file format ------------------------------------------------------- */

/* text -> out (a GArray of struct ban, appended to). 0, or PP_ERR_INVALID /
 * PP_ERR_TOO_BIG with err set ("entry 3: \"until\": ..."); out unchanged
 * on error. Expired entries are kept (the caller knows the time). */
int bans_parse(const char *text, size_t len, GArray *out, char *err, size_t errlen);
/* For bans*.c: the message into err (when given), returns rc. */
int bans_fail(char *err, size_t errlen, int rc, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* The file's text for the bans still active at now (g_free it). */
char *bans_format(const struct ban *v, size_t n, int64_t now);
/* Fills b (fingerprint, identity, reason cut at a character boundary to
 * BANS_REASON_MAX); since/until as given. 0 or PP_ERR_INVALID. */
int bans_entry_set(struct ban *b, const struct pp_fingerprint *fp, const char *identity,
                   const char *reason, int64_t since, int64_t until);
/* RFC 3339 UTC text of t; "" on a time out of 1970..9999. */
void bans_time_format(int64_t t, char out[BANS_TIME_TEXT_MAX]);
/* Strict "YYYY-MM-DDTHH:MM:SSZ" -> *t. 0 or PP_ERR_INVALID. */
int bans_time_parse(const char *s, int64_t *t);

/* --- the store --------------------------------------------------------------------- */

struct bans;

/* Loads path (a missing file, or a missing directory, is an empty store).
 * 0, or a negative code with err set: the file is corrupt or unreadable. */
int bans_open(const char *path, struct bans **out, char *err, size_t errlen);
void bans_free(struct bans *b);
const char *bans_path(const struct bans *b);

/* Re-reads the file if it changed since we last read or wrote it (a stat:
 * inode, size, times). 1 reloaded, 0 nothing new, negative (err set) when
 * the new file is unreadable: the bans in memory stay, and the same file
 * is not reported again. */
int bans_refresh(struct bans *b, char *err, size_t errlen);

/* The active ban of fp at now, or NULL. Pointers into the store stay valid
 * until the next bans_refresh/add/lift on it. */
const struct ban *bans_find(const struct bans *b, const struct pp_fingerprint *fp, int64_t now);
/* Every entry in memory, expired ones included (check until). */
size_t bans_count(const struct bans *b);
const struct ban *bans_at(const struct bans *b, size_t i);

/* Adds (or extends: the later until wins) a ban, under the lock. 0, or a
 * negative code with err set when the file could not be read or written:
 * the ban is then in memory only, and still enforced by this handle. */
int bans_add(struct bans *b, const struct ban *ban, int64_t now, char *err, size_t errlen);
/* Removes the active bans that match (all with match NULL), under the
 * lock; *lifted says how many. Nothing matched: the file is not written. */
int bans_lift(struct bans *b, bool (*match)(const struct ban *ban, void *user), void *user,
              int64_t now, size_t *lifted, char *err, size_t errlen);
/* The repair for a corrupt file, under the lock: renames it to
 * "<path>.corrupt-<UTC time>" (named in aside) and writes an empty store.
 * For `bans lift --all` when bans_open refused the file. */
int bans_repair(const char *path, char *aside, size_t asidecap, char *err, size_t errlen);

#endif
