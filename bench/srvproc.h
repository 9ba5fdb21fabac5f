/* SPDX-License-Identifier: Apache-2.0 */
/* The server under test as a child process: start it, learn its URL, read
 * its resident memory, stop it. */
#ifndef PEERPIPE_BENCH_SRVPROC_H
#define PEERPIPE_BENCH_SRVPROC_H

#include <stddef.h>
#include <sys/types.h>

struct pp_srvproc {
	pid_t pid;                 /* -1 once reaped */
	int status;                /* waitpid status once reaped, else -1 */
	int out_fd;                /* the child's stdout (drain it, never close early) */
	char log_path[64];         /* the child's stderr */
	char url[128];             /* ws:// or wss://127.0.0.1:PORT/v1/ws */
};

/* Runs `path --listen 127.0.0.1:0 --insecure --jwt-secret-file secret
 * [extra]...` (with tls_cert and tls_key: `--tls-cert C --tls-key K` in
 * place of --insecure) and waits up to timeout_ms for its "listening on"
 * line. 0, or -1 with a message on stderr (and the server's log shown). */
int pp_srvproc_start(struct pp_srvproc *p, const char *path,
                     const char *secret_file, const char *tls_cert,
                     const char *tls_key, const char *const *extra,
                     size_t nextra, int timeout_ms);
/* Reads and discards whatever the child printed since. */
void pp_srvproc_drain(struct pp_srvproc *p);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the exit status as
 * waitpid reports it, or -1. Removes the log unless keep_log. */
int pp_srvproc_stop(struct pp_srvproc *p, int timeout_ms, int keep_log);
/* Prints the last lines of the child's log to stderr. */
void pp_srvproc_show_log(const struct pp_srvproc *p);
/* 1 while the process exists (and is not a zombie we reaped). */
int pp_srvproc_alive(struct pp_srvproc *p);

/* VmRSS of any process in KiB, or -1. */
long pp_proc_rss_kib(pid_t pid);

#endif
