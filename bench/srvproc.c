/* SPDX-License-Identifier: Apache-2.0 */
#include "srvproc.h"

#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PP_SRV_MAX_ARGS 64

static void pp_srvproc_child(const char *path, char **argv, int out_w,
                             int log_fd)
{
	/* The server must not outlive the benchmark, even if it crashes. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(out_w, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)
		_exit(127);
	execv(path, argv);
	fprintf(stderr, "signal-load: cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* Finds "listening on URL" in the text read so far. */
static int pp_srvproc_parse(struct pp_srvproc *p, const char *buf)
{
	const char *s = strstr(buf, "listening on ");
	if (!s)
		return 0;
	s += strlen("listening on ");
	size_t n = strcspn(s, " \r\n");
	if (s[n] == '\0' || n == 0 || n >= sizeof(p->url))
		return 0; /* line not complete yet */
	memcpy(p->url, s, n);
	p->url[n] = '\0';
	return 1;
}

static int pp_srvproc_wait_line(struct pp_srvproc *p, int timeout_ms)
{
	char buf[4096];
	size_t len = 0;
	uint64_t deadline = pp_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		uint64_t now = pp_now_ns();
		if (now >= deadline) {
			fprintf(stderr, "signal-load: server printed no "
			        "\"listening on\" line within %d ms\n", timeout_ms);
			return -1;
		}
		struct pollfd pfd = { .fd = p->out_fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(p->out_fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "signal-load: server exited before "
			        "listening\n");
			return -1;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (pp_srvproc_parse(p, buf))
			return 0;
		if (len == sizeof(buf) - 1)
			len = 0; /* noise; keep looking */
	}
}

int pp_srvproc_start(struct pp_srvproc *p, const char *path,
                     const char *secret_file, const char *tls_cert,
                     const char *tls_key, const char *const *extra,
                     size_t nextra, int timeout_ms)
{
	char *argv[PP_SRV_MAX_ARGS];
	size_t a = 0;
	int pipefd[2] = { -1, -1 };
	int log_fd;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->status = -1;
	p->out_fd = -1;
	if (nextra > PP_SRV_MAX_ARGS - 10) {
		fprintf(stderr, "signal-load: too many server arguments\n");
		return -1;
	}
	argv[a++] = (char *)path;
	argv[a++] = (char *)"--listen";
	argv[a++] = (char *)"127.0.0.1:0";
	if (tls_cert && tls_key) {
		argv[a++] = (char *)"--tls-cert";
		argv[a++] = (char *)tls_cert;
		argv[a++] = (char *)"--tls-key";
		argv[a++] = (char *)tls_key;
	} else {
		argv[a++] = (char *)"--insecure";
	}
	argv[a++] = (char *)"--jwt-secret-file";
	argv[a++] = (char *)secret_file;
	for (size_t i = 0; i < nextra; i++)
		argv[a++] = (char *)extra[i];
	argv[a] = NULL;

	snprintf(p->log_path, sizeof(p->log_path), "/tmp/signal-load-server.XXXXXX");
	log_fd = mkostemp(p->log_path, O_CLOEXEC);
	if (log_fd < 0) {
		fprintf(stderr, "signal-load: cannot create the server log: %s\n",
		        strerror(errno));
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "signal-load: pipe: %s\n", strerror(errno));
		close(log_fd);
		return -1;
	}
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		fprintf(stderr, "signal-load: fork: %s\n", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		close(log_fd);
		return -1;
	}
	if (p->pid == 0)
		pp_srvproc_child(path, argv, pipefd[1], log_fd);
	close(pipefd[1]);
	close(log_fd);
	p->out_fd = pipefd[0];
	if (pp_srvproc_wait_line(p, timeout_ms) < 0) {
		pp_srvproc_stop(p, 2000, 1);
		pp_srvproc_show_log(p);
		return -1;
	}
	fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

void pp_srvproc_drain(struct pp_srvproc *p)
{
	char buf[4096];

	if (p->out_fd < 0)
		return;
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(p->out_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
	}
}

int pp_srvproc_alive(struct pp_srvproc *p)
{
	int st;

	if (p->pid <= 0)
		return 0;
	if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
		p->pid = -1;
		p->status = st;
		return 0;
	}
	return 1;
}

int pp_srvproc_stop(struct pp_srvproc *p, int timeout_ms, int keep_log)
{
	int st = p->status;

	if (p->pid > 0) {
		uint64_t deadline = pp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
		kill(p->pid, SIGTERM);
		for (;;) {
			pid_t r = waitpid(p->pid, &st, WNOHANG);
			if (r == p->pid || (r < 0 && errno != EINTR))
				break;
			if (pp_now_ns() >= deadline) {
				fprintf(stderr, "signal-load: server ignored SIGTERM "
				        "for %d ms; killing it\n", timeout_ms);
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &st, 0);
				break;
			}
			pp_srvproc_drain(p);
			usleep(10000);
		}
		p->pid = -1;
		p->status = st;
	}
	if (p->out_fd >= 0) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	if (!keep_log && p->log_path[0])
		unlink(p->log_path);
	return st;
}

/* The last PP_LOG_KEEP lines, and before them the last PP_LOG_KEEP lines
 * that are not at info level (per-connection chatter hides the cause). */
#define PP_LOG_KEEP 12
#define PP_LOG_LINE 512

struct pp_ring {
	char l[PP_LOG_KEEP][PP_LOG_LINE];
	size_t n;
};

static void pp_ring_put(struct pp_ring *r, const char *line)
{
	snprintf(r->l[r->n++ % PP_LOG_KEEP], PP_LOG_LINE, "%s", line);
}

static void pp_ring_print(const struct pp_ring *r)
{
	size_t first = r->n > PP_LOG_KEEP ? r->n - PP_LOG_KEEP : 0;

	for (size_t i = first; i < r->n; i++) {
		const char *line = r->l[i % PP_LOG_KEEP];
		fprintf(stderr, "%s%s", line,
		        line[0] && line[strlen(line) - 1] == '\n' ? "" : "\n");
	}
}

void pp_srvproc_show_log(const struct pp_srvproc *p)
{
	static struct pp_ring all, notable;
	char line[PP_LOG_LINE];
	FILE *f;

	if (!p->log_path[0] || !(f = fopen(p->log_path, "r")))
		return;
	all.n = notable.n = 0;
	while (fgets(line, sizeof(line), f)) {
		pp_ring_put(&all, line);
		if (!strstr(line, " info: ") && !strstr(line, " debug: "))
			pp_ring_put(&notable, line);
	}
	fclose(f);
	fprintf(stderr, "signal-load: --- server log %s: last lines above "
	        "info level ---\n", p->log_path);
	pp_ring_print(&notable);
	fprintf(stderr, "signal-load: --- last lines ---\n");
	pp_ring_print(&all);
	fprintf(stderr, "signal-load: --- end of server log ---\n");
}

long pp_proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}
