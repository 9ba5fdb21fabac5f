/* SPDX-License-Identifier: Apache-2.0 */
/* Runs peerpipe-signal (path in $PP_SIGNAL_BIN) as a child process on
 * 127.0.0.1 port 0 for network tests, and mints good and bad JWTs. */
#ifndef PP_TEST_SIGSERVER_H
#define PP_TEST_SIGSERVER_H

#include <glib.h>
#include <sys/types.h>

typedef struct SigServer SigServer;

/* A server not started yet: a private temp dir and a fresh 64-character
 * JWT secret file (written with a trailing newline, which the server drops).
 * By default it will be started with
 *   --listen 127.0.0.1:0 --insecure --jwt-secret-file <tmp>/jwt.secret */
SigServer *sig_server_new(void);
/* Makes s use the same JWT secret as `from` (call before sig_server_run):
 * for several instances of one deployment. */
void sig_server_share_secret(SigServer *s, SigServer *from);
/* Appends arguments (NULL-terminated list). */
void sig_server_add_args(SigServer *s, const char *arg, ...) G_GNUC_NULL_TERMINATED;
/* Serve wss with this certificate and key instead of --insecure. */
void sig_server_set_tls(SigServer *s, const char *cert, const char *key);
/* Writes a file in the server's temp dir; returns its path (owned by s). */
const char *sig_server_write_file(SigServer *s, const char *name,
                                  const void *data, gssize len);
const char *sig_server_dir(SigServer *s);
/* Starts it and waits (10 s at most) for the "listening on" line, asserting
 * its exact form. */
void sig_server_run(SigServer *s);
/* new + add_args + run. */
/* The argument list ends with NULL (may be just NULL). */
SigServer *sig_server_start(const char *arg, ...);

guint16 sig_server_port(SigServer *s);
GPid sig_server_pid(SigServer *s);
/* The "listening on" line as printed (without the newline). */
const char *sig_server_listen_line(SigServer *s);
/* A copy of what the server wrote to stderr so far (also echoed to ours). */
char *sig_server_log(SigServer *s);
/* TRUE while the process has not exited. */
gboolean sig_server_alive(SigServer *s);

/* SIGTERM, then waits up to timeout_ms; returns the wait status, or -1 if
 * it had to be killed with SIGKILL. */
int sig_server_stop(SigServer *s, int timeout_ms);
/* Waits up to timeout_ms for the process to exit by itself (no signal);
 * returns the wait status or -1. */
int sig_server_wait(SigServer *s, int timeout_ms);
/* SIGTERM and asserts a clean exit (status 0 within 10 s); frees. */
void sig_server_stop_clean(SigServer *s);
/* Kills (if still running) and frees. */
void sig_server_free(SigServer *s);

/* Runs the server binary with exactly these arguments (no defaults added)
 * and waits up to timeout_ms for it to exit. Returns the wait status or -1
 * on timeout (the process is then killed). out and err (optional) get what it
 * printed. */
int sig_run_sync(const char *const *argv, int timeout_ms, char **out, char **err);

/* The JWT secret (the file content less its newline). */
const char *sig_server_secret(SigServer *s);
const char *sig_server_secret_path(SigServer *s);

/* A valid HS256 token minted with pp_jwt_sign: exp now+600, iat now. */
char *sig_token(SigServer *s, const char *sub, const char *room, const char *role);
/* Same with explicit times (0 = claim absent for nbf/iat). */
char *sig_token_times(SigServer *s, const char *sub, const char *room,
                      const char *role, gint64 exp, gint64 nbf, gint64 iat);

/* Hand-made token: base64url(header).base64url(payload).base64url(HMAC)
 * with digest "sha256"/"sha512", or an empty signature when md is NULL. */
char *sig_token_craft(const void *key, gsize keylen, const char *header_json,
                      const char *payload_json, const char *md);
char *sig_b64url(const void *data, gsize len);

typedef enum {
	SIG_BAD_ALG_NONE,     /* {"alg":"none"}, empty signature */
	SIG_BAD_WRONG_SECRET, /* HS256 with another secret */
	SIG_BAD_EXPIRED,      /* exp an hour ago */
	SIG_BAD_NBF_FUTURE,   /* nbf in an hour */
	SIG_BAD_OTHER_ROOM,   /* valid, but for room "elsewhere" */
	SIG_BAD_ROLE,         /* role "admin" */
	SIG_BAD_HS512,        /* {"alg":"HS512"} signed with the right secret */
	SIG_BAD_NO_EXP,       /* exp missing */
	SIG_BAD_SUB_CHARS,    /* sub with a space and a slash */
	SIG_BAD_SIG_TAMPERED, /* valid token with one payload claim changed */
	SIG_BAD_GARBAGE,      /* not a JWT at all */
	SIG_BAD_COUNT
} SigBadToken;

const char *sig_bad_token_name(SigBadToken kind);
/* A token that must be refused when used to join `room` as `sub`/`role`. */
char *sig_token_bad(SigServer *s, SigBadToken kind, const char *sub,
                    const char *room, const char *role);

/* Makes a self-signed ECDSA P-256 certificate for IP:127.0.0.1 with the
 * openssl command in dir; cert and key get the paths (g_free). */
void sig_make_cert(const char *dir, const char *stem, char **cert, char **key);

#endif
