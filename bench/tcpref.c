/* SPDX-License-Identifier: Apache-2.0 */
#include "tcpref.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PP_TCPREF_WARMUP 1000

struct pp_tcpref_echo {
	int fd;
	size_t size;
};

static int pp_tcpref_io(int fd, void *buf, size_t len, int wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? write(fd, (char *)buf + done, len - done)
		               : read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Echoes fixed-size messages until the peer closes. */
static void *pp_tcpref_echo_main(void *arg)
{
	struct pp_tcpref_echo *e = arg;
	char *buf = malloc(e->size);

	while (buf && pp_tcpref_io(e->fd, buf, e->size, 0) == 0 &&
	       pp_tcpref_io(e->fd, buf, e->size, 1) == 0)
		;
	free(buf);
	return NULL;
}

static int pp_tcpref_pair(int fds[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	fds[0] = fds[1] = -1;
	if (lfd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		goto fail;
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	fds[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fds[1] < 0)
		goto fail;
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(lfd);
	return 0;
fail:
	close(lfd);
	if (fds[0] >= 0)
		close(fds[0]);
	return -1;
}

int pp_tcpref_run(size_t size, size_t rounds, struct pp_stats *s)
{
	struct pp_tcpref_echo echo;
	pthread_t th;
	int fds[2];
	int rc = -1;
	char *buf = calloc(1, size);

	if (!buf || pp_tcpref_pair(fds) < 0) {
		fprintf(stderr, "signal-load: reference TCP pair: %s\n",
		        strerror(errno));
		free(buf);
		return -1;
	}
	memset(buf, 'x', size);
	echo.fd = fds[1];
	echo.size = size;
	if (pthread_create(&th, NULL, pp_tcpref_echo_main, &echo) != 0) {
		fprintf(stderr, "signal-load: reference echo thread failed\n");
		goto out;
	}
	for (size_t i = 0; i < PP_TCPREF_WARMUP + rounds; i++) {
		uint64_t t0 = pp_now_ns();
		if (pp_tcpref_io(fds[0], buf, size, 1) < 0 ||
		    pp_tcpref_io(fds[0], buf, size, 0) < 0) {
			fprintf(stderr, "signal-load: reference echo broke\n");
			break;
		}
		if (i >= PP_TCPREF_WARMUP)
			pp_stats_add(s, pp_now_ns() - t0);
		if (i + 1 == PP_TCPREF_WARMUP + rounds)
			rc = 0;
	}
	shutdown(fds[0], SHUT_RDWR);
	pthread_join(th, NULL);
out:
	close(fds[0]);
	close(fds[1]);
	free(buf);
	return rc;
}
