/* SPDX-License-Identifier: Apache-2.0 */
/* Suricata 7 as a supervised child of the gateway (issue 5, ids and ips
 * mode).
 *
 * pp_suricata writes a minimal suricata.yaml into a private work directory
 * (0700), checks it once with `suricata -T`, binds the EVE unix stream
 * socket itself (Suricata connects to it), starts Suricata on the given
 * GMainContext and watches it:
 * - "Engine started" on Suricata's console output: READY;
 * - the child dies: DOWN, restarted after 1 s, 2 s, 4 s ... 30 s; after
 *   max_quick_failures runs in a row that each lasted less than 30 s (or
 *   never got ready within ready_timeout_ms): FAILED, no more restarts;
 * - a configuration that `suricata -T` refuses: FAILED at once, with
 *   Suricata's own error line as the reason.
 * EVE records arrive over the socket, are split with pp_eve_reader
 * (bounded) and parsed with pp_eve_parse; alert and drop records go to
 * on_alert. A bad line is logged with its reason and counted, never fatal.
 *
 * Everything runs on the context passed in; nothing blocks it (the -T check
 * is a child process too). The Suricata child gets PR_SET_PDEATHSIG
 * (SIGTERM): if the gateway dies, Suricata follows. It runs with the
 * gateway's credentials and in its network namespace.
 *
 * ips mode (PP_SURICATA_IPS): Suricata reads NFQUEUE nfq_queue (`-q`,
 * nfq mode accept, nfq fail-open as nfq_fail_open) instead of sniffing an
 * interface. At start every rule file is copied into <work_dir>/rules-ips/
 * with each rule's action `alert` turned into `rejectboth`
 * (pp_suricata_rules_ips), so the packet that matches is dropped before
 * the service gets it and both TCP ends are reset. The netfilter rules
 * that send the gateway's own connections to the queue are not made here
 * but by peerpipe/ids/nfq_rules.h.
 *
 * Sidecar (cfg.sidecar): the gateway does not run Suricata; one runs next
 * to it in the same network namespace (a second container sharing the
 * gateway's network and work_dir, mounted at the same path). At start the
 * work directory gets suricata.yaml, the rule copies (rules-ids/ verbatim,
 * or rules-ips/ rewritten) and `sidecar.args`, the command line the
 * sidecar runs: `suricata $(cat <work_dir>/sidecar.args)`. The generated
 * config adds an EVE stats record every PP_SURICATA_HEARTBEAT_S seconds:
 * it is the heartbeat, and it makes Suricata reconnect to a socket the
 * gateway re-bound after a restart (Suricata 7 reconnects only when it
 * writes). STARTING until the first EVE record arrives (READY), DOWN when
 * the sidecar's connection closes or no record came for
 * PP_SURICATA_SIDECAR_SILENCE_S seconds, READY again at its next record.
 * No restarts from here: the container runtime restarts the sidecar. */
#define PP_SURICATA_HEARTBEAT_S 2
#define PP_SURICATA_SIDECAR_SILENCE_S 10
#ifndef PEERPIPE_IDS_SURICATA_H
#define PEERPIPE_IDS_SURICATA_H

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "peerpipe/ids/eve.h"

enum pp_suricata_mode {
	PP_SURICATA_IDS = 0, /* af-packet sniffing, stream.inline, block-timeout 1 */
	PP_SURICATA_IPS,     /* NFQUEUE inline, alert rules as rejectboth */
};

enum pp_suricata_state {
	PP_SURICATA_STOPPED = 0, /* before start, after close */
	PP_SURICATA_STARTING,    /* -T check or child started, not ready */
	PP_SURICATA_READY,       /* "Engine started" seen */
	PP_SURICATA_DOWN,        /* child gone, restart scheduled */
	PP_SURICATA_FAILED,      /* given up; reason says why */
};

struct pp_suricata_config {
	enum pp_suricata_mode mode;
	const char *interface;          /* ids: af-packet interface, [A-Za-z0-9._-]{1,15};
	                                 * ips: unused (may be NULL) */
	uint16_t nfq_queue;             /* ips: the NFQUEUE number Suricata reads */
	bool nfq_fail_open;             /* ips: nfq fail-open (a full queue passes
	                                 * packets) and exception-policy ignore */
	const char *work_dir;           /* created 0700 if missing, forced to 0700 */
	const char *const *rule_files;  /* NULL-terminated absolute paths (bundled first) */
	const char *eve_socket;         /* NULL: <work_dir>/eve.sock */
	const char *binary;             /* NULL: /usr/bin/suricata */
	const char *home_net;           /* NULL: "any" (the bundled rules use any) */
	const char *ssh_ports;          /* NULL: "22" (sid 9100050 needs it) */
	unsigned max_quick_failures;    /* 0: 5 */
	unsigned ready_timeout_ms;      /* 0: 60000 (a large rule set loads slowly) */
	unsigned stop_grace_ms;         /* 0: 5000, then SIGKILL */
	bool sidecar;                   /* attach to a Suricata run by others */
};

struct pp_suricata_callbacks {
	/* Every state change; reason is a short text (static or valid only
	 * during the call), never NULL. */
	void (*on_state)(void *user, enum pp_suricata_state state, const char *reason);
	/* PP_EVE_ALERT and PP_EVE_DROP records; e valid only during the call. */
	void (*on_alert)(void *user, const struct pp_eve *e);
};

struct pp_suricata_stats {
	uint64_t alerts, drops;  /* records passed to on_alert */
	uint64_t other;          /* well-formed records of other types */
	uint64_t bad_lines;      /* refused by the parser or the splitter */
	uint64_t starts;         /* Suricata children started (not counting -T) */
	uint64_t eve_connections;
};

struct pp_suricata;

/* Checks the config (names, paths, lengths), creates the work directory and
 * binds the EVE socket (a stale socket file there is replaced). Nothing is
 * started yet. 0, PP_ERR_INVALID (with *why), PP_ERR_NOMEM or -errno.
 * ctx NULL: the global default context. */
int pp_suricata_new(GMainContext *ctx, const struct pp_suricata_config *cfg,
                    const struct pp_suricata_callbacks *cb, void *user,
                    struct pp_suricata **out, const char **why);

/* Writes suricata.yaml (ips mode: and the rewritten rule copies), runs
 * `suricata -T` and then Suricata itself, all asynchronously; the outcome
 * comes through on_state: a rule file that cannot be copied (missing,
 * not a regular file, over PP_SURICATA_RULES_FILE_MAX) is FAILED at once
 * with a reason naming it. 0 or PP_ERR_STATE (already started). */
int pp_suricata_start(struct pp_suricata *s);

/* Stops Suricata (SIGTERM, SIGKILL after stop_grace_ms), reaps it, closes
 * the socket, removes the socket file and frees s; then calls done (may be
 * NULL) from the context. No callbacks after this call. */
void pp_suricata_close(struct pp_suricata *s, void (*done)(void *user), void *user);

enum pp_suricata_state pp_suricata_state(const struct pp_suricata *s);
/* The running child's pid, or 0. */
pid_t pp_suricata_pid(const struct pp_suricata *s);
void pp_suricata_get_stats(const struct pp_suricata *s, struct pp_suricata_stats *out);
const char *pp_suricata_state_name(enum pp_suricata_state st);

/* The generated suricata.yaml for cfg (for --check-config and tests);
 * eve_socket and log_dir are the paths written into it. g_free() it.
 * NULL with *why when cfg is invalid. */
char *pp_suricata_config_yaml(const struct pp_suricata_config *cfg, const char *eve_socket,
                              const char **why);
/* Checks cfg's fields (no I/O): 0 or PP_ERR_INVALID with *why. */
int pp_suricata_config_check(const struct pp_suricata_config *cfg, const char **why);

/* ips mode: rule files bigger than this are refused (the whole file is
 * read to be rewritten). The ET Open set's largest file is far below. */
#define PP_SURICATA_RULES_FILE_MAX (64u * 1024 * 1024)

/* The ips copy of one rule file's text: on every rule line (the first
 * non-blank token of a line that is not a comment and does not continue
 * the previous line's trailing backslash) the action `alert` (any case,
 * as Suricata reads it) becomes `rejectboth`. Everything else is kept
 * byte for byte: comments, blank lines, leading whitespace, other actions
 * (pass, drop, reject...), line ends. Rules with the `noalert` keyword
 * (flowbits setters) stay `alert`: they never alert, so they must not
 * block either. Appends to out; *rewritten (may be NULL) counts the rules
 * changed. 0, or PP_ERR_TOO_BIG over PP_SURICATA_RULES_FILE_MAX,
 * PP_ERR_INVALID for a NUL byte (not a text file); *why says which. */
int pp_suricata_rules_ips(const char *in, size_t len, GString *out, size_t *rewritten,
                          const char **why);

/* Where the ips copy of rule file number i (0-based, config order) goes:
 * <work_dir>/rules-ips/NN-<basename>. g_free() it. */
char *pp_suricata_rules_ips_path(const char *work_dir, size_t i, const char *src);

#endif
