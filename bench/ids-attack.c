/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ids-attack: the TCP half of scripts/bench-ids.sh. Each mode prints one
 * result line of key=value pairs on stdout; errors go to stderr with a
 * non-zero exit.
 *
 *   ids-attack --sink PORT MARKER
 *       a small HTTP/1.1 server on 0.0.0.0:PORT: answers every request
 *       (up to the blank line) with "200 ok", keeps the connection, and
 *       when a connection ends prints
 *       "sink: bytes=N marker=0|1 end=eof|reset"
 *       marker=1 when MARKER was among the bytes it received (found across
 *       read boundaries): the proof of what reached the service.
 *   ids-attack --attack N HOST:PORT PATH [--gap-ms MS]
 *       N times: connect, one clean "GET /" answered with 200 (the
 *       stream is up and inspected), then "GET PATH" (the attack); the
 *       time from that write until the connection ends (reset or EOF, as
 *       the client closes it after ALERT) is one sample. Prints
 *       "attack: n= ended= timeouts= clean_failed= answered= p50_ms=
 *        p99_ms= max_ms=", answered = attacks that got an HTTP answer
 *       before the teardown (the service saw them and replied).
 *
 * -t SECONDS bounds the whole run (default 300).
 */
#include "stats.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IA_BUF 65536
#define IA_MARKER_MAX 256
#define IA_ATTACK_WAIT_MS 5000
#define IA_CLEAN_WAIT_MS 15000

static const char ia_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void ia_on_alarm(int sig)
{
	static const char msg[] = "ids-attack: timeout\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static void ia_die(const char *what)
{
	fprintf(stderr, "ids-attack: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* --- sink ---------------------------------------------------------------- */

struct ia_sink_conn {
	int fd;
	const char *marker;
};

static pthread_mutex_t ia_out_lock = PTHREAD_MUTEX_INITIALIZER;

/* Counts "\r\n\r\n" request ends across reads; *state is how much of it
 * the previous bytes matched. */
static unsigned ia_count_requests(const char *p, size_t n, unsigned *state)
{
	static const char end[] = "\r\n\r\n";
	unsigned reqs = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == end[*state])
			(*state)++;
		else
			*state = p[i] == '\r' ? 1 : 0;
		if (*state == 4) {
			reqs++;
			*state = 0;
		}
	}
	return reqs;
}

static void *ia_sink_conn_run(void *arg)
{
	struct ia_sink_conn *c = arg;
	size_t mlen = strlen(c->marker);
	char *buf = malloc(IA_BUF + IA_MARKER_MAX);
	size_t keep = 0; /* bytes kept from the previous read (marker overlap) */
	unsigned long long total = 0;
	unsigned state = 0;
	bool marker = false, reset = false;
	ssize_t r;

	if (!buf)
		ia_die("malloc");
	while ((r = read(c->fd, buf + keep, IA_BUF)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			reset = true;
			break;
		}
		total += (unsigned long long)r;
		if (!marker && memmem(buf, keep + (size_t)r, c->marker, mlen))
			marker = true;
		for (unsigned q = ia_count_requests(buf + keep, (size_t)r, &state); q; q--)
			if (write(c->fd, ia_ok, sizeof(ia_ok) - 1) < 0)
				break;
		keep += (size_t)r;
		if (keep >= mlen) {
			memmove(buf, buf + keep - (mlen - 1), mlen - 1);
			keep = mlen - 1;
		}
	}
	pthread_mutex_lock(&ia_out_lock);
	printf("sink: bytes=%llu marker=%d end=%s\n", total, marker, reset ? "reset" : "eof");
	fflush(stdout);
	pthread_mutex_unlock(&ia_out_lock);
	close(c->fd);
	free(buf);
	free(c);
	return NULL;
}

static int ia_sink(const char *port, const char *marker)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int ls = socket(AF_INET, SOCK_STREAM, 0);

	if (strlen(marker) == 0 || strlen(marker) > IA_MARKER_MAX) {
		fprintf(stderr, "ids-attack: the marker must be 1..%d bytes\n", IA_MARKER_MAX);
		return 2;
	}
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 128) < 0)
		ia_die("listen");
	printf("sink: listening port=%s\n", port);
	fflush(stdout);
	for (;;) {
		struct ia_sink_conn *c;
		pthread_t t;
		int fd = accept(ls, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			ia_die("accept");
		}
		c = malloc(sizeof(*c));
		if (!c)
			ia_die("malloc");
		c->fd = fd;
		c->marker = marker;
		if (pthread_create(&t, NULL, ia_sink_conn_run, c) != 0)
			ia_die("pthread_create");
		pthread_detach(t);
	}
}

/* --- attack ---------------------------------------------------------------- */

static int ia_connect(const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int fd;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
		fprintf(stderr, "ids-attack: expected HOST:PORT, got %s\n", hostport);
		exit(2);
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai) {
		fprintf(stderr, "ids-attack: cannot resolve %s\n", hostport);
		exit(2);
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
}

/* Reads until the connection ends or ms pass: 1 ended, 0 timed out;
 * *got counts the bytes read. */
static int ia_wait_end(int fd, int ms, size_t *got)
{
	uint64_t end = pp_now_ns() + (uint64_t)ms * 1000000u;
	char buf[4096];

	for (;;) {
		uint64_t now = pp_now_ns();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (now >= end)
			return 0;
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			return 1;
		*got += (size_t)r;
	}
}

/* The clean request: its whole answer (sizeof ia_ok - 1 bytes). */
static bool ia_clean(int fd)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: service\r\n\r\n";
	size_t want = sizeof(ia_ok) - 1, got = 0;
	char buf[256];
	uint64_t end = pp_now_ns() + (uint64_t)IA_CLEAN_WAIT_MS * 1000000u;

	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		return false;
	while (got < want && pp_now_ns() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return got == want;
}

static int ia_attack(long n, const char *hostport, const char *path, long gap_ms)
{
	struct pp_stats st;
	char req[1024];
	long ended = 0, timeouts = 0, clean_failed = 0, answered = 0;
	int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: service\r\n\r\n", path);

	if (len <= 0 || (size_t)len >= sizeof(req) || pp_stats_init(&st, (size_t)n) < 0) {
		fprintf(stderr, "ids-attack: path too long\n");
		return 2;
	}
	for (long i = 0; i < n; i++) {
		int fd = ia_connect(hostport);
		size_t got = 0;
		uint64_t t0;

		if (fd < 0 || !ia_clean(fd)) {
			clean_failed++;
			if (fd >= 0)
				close(fd);
			usleep((useconds_t)gap_ms * 1000);
			continue;
		}
		t0 = pp_now_ns();
		if (write(fd, req, (size_t)len) != len) {
			clean_failed++;
			close(fd);
			continue;
		}
		if (ia_wait_end(fd, IA_ATTACK_WAIT_MS, &got)) {
			pp_stats_add(&st, pp_now_ns() - t0);
			ended++;
		} else {
			timeouts++;
		}
		if (got > 0)
			answered++;
		close(fd);
		usleep((useconds_t)gap_ms * 1000);
	}
	pp_stats_sort(&st);
	printf("attack: n=%ld ended=%ld timeouts=%ld clean_failed=%ld answered=%ld "
	       "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	       n, ended, timeouts, clean_failed, answered, pp_stats_pct(&st, 50) / 1e6,
	       pp_stats_pct(&st, 99) / 1e6, st.max / 1e6);
	pp_stats_free(&st);
	return ended > 0 ? 0 : 1;
}

static void ia_usage(void)
{
	fprintf(stderr, "usage: ids-attack [-t SECONDS] --sink PORT MARKER\n"
	                "       ids-attack [-t SECONDS] [--gap-ms MS] --attack N HOST:PORT PATH\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long timeout = 300, gap_ms = 100;
	int i = 1;

	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			timeout = atol(argv[++i]);
		else if (strcmp(argv[i], "--gap-ms") == 0 && i + 1 < argc)
			gap_ms = atol(argv[++i]);
		else
			break;
	}
	if (i >= argc)
		ia_usage();
	if (strcmp(argv[i], "--sink") == 0 && argc - i == 3)
		return ia_sink(argv[i + 1], argv[i + 2]);
	if (strcmp(argv[i], "--attack") == 0 && argc - i == 4) {
		long n = atol(argv[i + 1]);
		if (n < 1 || n > 100000 || gap_ms < 0 || gap_ms > 60000)
			ia_usage();
		signal(SIGALRM, ia_on_alarm);
		alarm((unsigned)timeout);
		return ia_attack(n, argv[i + 2], argv[i + 3], gap_ms);
	}
	ia_usage();
	return 2;
}
