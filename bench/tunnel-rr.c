/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tunnel-rr: the small TCP tools behind scripts/bench-tunnel.sh. Each mode
 * prints one result line of key=value pairs on stdout (prefixed by the mode
 * name); errors go to stderr with a non-zero exit.
 *
 *   tunnel-rr --serve PORT
 *       echo server on 0.0.0.0:PORT (one epoll thread, any sizes).
 *   tunnel-rr --serve-file PORT FILE
 *       per connection, after one request byte: 'G' sends FILE and
 *       half-closes; 'P' receives size(FILE) bytes, compares them with FILE
 *       and answers 'K' (equal) or 'X'.
 *   tunnel-rr --gen-sql FILE MB [SEED]
 *       writes MB (10^6 bytes) of deterministic mysqldump-like text.
 *   tunnel-rr [-n N] [-w WARMUP] [-s SIZE] HOST:PORT [REF_HOST:PORT]
 *       one connection, N request/response round trips of SIZE bytes after
 *       WARMUP ones: "rr: ... p50_us= p99_us= p999_us=". With a reference
 *       address, blocks of 1000 round trips alternate between the two
 *       connections (same load for both) and "rr-ref:" gives the
 *       reference's figures.
 *   tunnel-rr [--gap-us US] --connect-cost N HOST:PORT [REF_HOST:PORT]
 *       N fresh connections (after 20 warm-up ones), each timed from
 *       socket()+connect() to the end of its first SIZE-byte echo;
 *       in blocks of 50 alternating with the reference ("connect-ref:").
 *       Back to back by default (the tunnel's CPU per connection decides);
 *       --gap-us waits that long after each one (an idle tunnel: the
 *       latency of a lone connection).
 *   tunnel-rr --wait HOST:PORT
 *       retries (connect, one echo) until it succeeds or the timeout.
 *   tunnel-rr --first-byte HOST:PORT [--log FILE] -- CMD [ARGS...]
 *       starts CMD, then connects to HOST:PORT in a loop and sends a request
 *       until the first response byte arrives; prints the time from the
 *       fork of CMD; then stops CMD (SIGTERM, SIGKILL after 3 s).
 *   tunnel-rr --fetch HOST:PORT FILE
 *       sends one request byte, receives size(FILE) bytes, compares them with
 *       FILE and prints the rate (MB = 10^6 bytes).
 *   tunnel-rr --push HOST:PORT FILE
 *       sends FILE to a --serve-file server, which checks it; prints the
 *       rate up to the server's verdict.
 *
 * Common: -t SECONDS bounds the whole run (default 120): a stalled tunnel
 * ends the tool with an error instead of hanging the benchmark.
 */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RR_CONNECT_WARMUP 20
#define RR_MAX_SIZE 65536

static volatile pid_t rr_child = -1;

static void rr_on_alarm(int sig)
{
	static const char msg[] = "tunnel-rr: timeout\n";

	(void)sig;
	if (rr_child > 0)
		kill(rr_child, SIGKILL);
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static void rr_die(const char *what)
{
	fprintf(stderr, "tunnel-rr: %s: %s\n", what, strerror(errno));
	if (rr_child > 0)
		kill(rr_child, SIGKILL);
	exit(1);
}

static int rr_io(int fd, void *buf, size_t len, int wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
		               : read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ECONNRESET;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int rr_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	size_t hl;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && colon[-1] == ']') {
		memcpy(host, s + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void rr_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A connected, TCP_NODELAY socket, or -1 with errno. */
static int rr_connect(const struct sockaddr_storage *ss, socklen_t sl)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	rr_nodelay(fd);
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int rr_listen(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long p = strtol(port, NULL, 10);

	if (p <= 0 || p > 65535) {
		fprintf(stderr, "tunnel-rr: bad port %s\n", port);
		exit(2);
	}
	if (fd < 0)
		rr_die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)p);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0)
		rr_die("bind/listen");
	return fd;
}

/* ---- servers ---- */

struct rr_file {
	const char *data;
	size_t size;
};

static struct rr_file rr_served;

/* The echo server is one epoll thread: a new connection is served by a
 * thread that is already running (a thread created per connection waits
 * for a CPU on a busy machine, which would be charged to connect()). */
struct rr_echo_conn {
	int fd;
	size_t len, off;
	char buf[RR_MAX_SIZE];
};

static void rr_echo_close(int ep, struct rr_echo_conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Reads what is there and echoes it; waits for EPOLLOUT when the socket
 * does not take it all. Returns -1 when the connection is done. */
static int rr_echo_step(int ep, struct rr_echo_conn *c)
{
	for (;;) {
		while (c->off < c->len) {
			ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			if (n < 0)
				return -1;
			c->off += (size_t)n;
		}
		if (c->len) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
			c->len = c->off = 0;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
		ssize_t n = read(c->fd, c->buf, sizeof(c->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->len = (size_t)n;
		c->off = 0;
	}
}

static __attribute__((noreturn)) void rr_serve_echo(const char *port)
{
	int lfd = rr_listen(port);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct epoll_event evs[64];

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		rr_die("epoll");
	printf("serve: listening port=%s\n", port);
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			rr_die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct rr_echo_conn *c = evs[i].data.ptr;
			if (!c) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd < 0)
					continue;
				rr_nodelay(fd);
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
					close(fd);
					free(c);
					continue;
				}
			}
			if (rr_echo_step(ep, c) < 0)
				rr_echo_close(ep, c);
		}
	}
}

/* 'G': send the file and half-close. 'P': receive the file's size in bytes,
 * compare them with the file and answer 'K' (equal) or 'X'. */
static void *rr_file_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char c, *buf = NULL;
	size_t off = 0;

	if (rr_io(fd, &c, 1, 0) == 0 && c == 'G') {
		while (off < rr_served.size) {
			size_t chunk = rr_served.size - off;
			if (chunk > 256 * 1024)
				chunk = 256 * 1024;
			if (rr_io(fd, (char *)rr_served.data + off, chunk, 1) < 0)
				break;
			off += chunk;
		}
		shutdown(fd, SHUT_WR);
		/* Close once the client has closed, so that nothing unread
		 * turns our close into a reset that discards the tail. */
		while (read(fd, &c, 1) > 0)
			;
	} else if (c == 'P' && (buf = malloc(1 << 20)) != NULL) {
		char verdict = 'K';
		while (off < rr_served.size) {
			size_t want = rr_served.size - off < (1 << 20) ? rr_served.size - off : (1 << 20);
			ssize_t n = read(fd, buf, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (verdict == 'K' && memcmp(buf, rr_served.data + off, (size_t)n) != 0)
				verdict = 'X';
			off += (size_t)n;
		}
		if (off == rr_served.size && rr_io(fd, &verdict, 1, 1) == 0) {
			shutdown(fd, SHUT_WR);
			while (read(fd, &c, 1) > 0)
				;
		}
	}
	free(buf);
	close(fd);
	return NULL;
}

static const char *rr_map_file(const char *path, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0 || fstat(fd, &st) < 0)
		rr_die(path);
	if (st.st_size == 0) {
		fprintf(stderr, "tunnel-rr: %s is empty\n", path);
		exit(1);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		rr_die("mmap");
	close(fd);
	*size = (size_t)st.st_size;
	return p;
}

static __attribute__((noreturn)) void rr_serve(const char *port, void *(*fn)(void *))
{
	int lfd = rr_listen(port);
	pthread_attr_t attr;

	signal(SIGPIPE, SIG_IGN);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	printf("serve: listening port=%s\n", port);
	fflush(stdout);
	for (;;) {
		pthread_t t;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			rr_die("accept");
		}
		rr_nodelay(fd);
		if (pthread_create(&t, &attr, fn, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}

/* ---- SQL dump generator (deterministic: splitmix64) ---- */

static uint64_t rr_seed;

static uint64_t rr_rand(void)
{
	uint64_t z = (rr_seed += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rr_below(unsigned n)
{
	return (unsigned)(rr_rand() % n);
}

#define RR_PICK(arr) (arr[rr_below(sizeof(arr) / sizeof(arr[0]))])

static const char *const rr_first[] = {
	"Maria", "Ivan", "Olga", "Dmitry", "Anna", "Sergey", "Elena", "Alexey", "Natalia",
	"Pavel", "Irina", "Nikolai", "Tatiana", "Andrei", "Svetlana", "Mikhail", "Julia",
	"John", "Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia",
	"Ahmed", "Fatima", "Wei", "Mei", "Hiroshi", "Yuki", "Carlos", "Lucia", "Pierre",
	"Claire", "Hans", "Greta", "Marco", "Giulia", "Piotr", "Agnieszka", "Oleg", "Vera",
};
static const char *const rr_last[] = {
	"Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov",
	"Mikhailov", "Novikov", "Fedorov", "Morozov", "Volkov", "Alekseev", "Lebedev",
	"Semenov", "Egorov", "Pavlov", "Kozlov", "Stepanov", "Nikolaev", "Smith", "Johnson",
	"Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Muller",
	"Schmidt", "Rossi", "Bianchi", "Dubois", "Kowalski", "Nowak", "Tanaka", "Wang", "Li",
};
static const char *const rr_city[] = {
	"Moscow", "Saint Petersburg", "Novosibirsk", "Yekaterinburg", "Kazan", "Nizhny Novgorod",
	"Samara", "Omsk", "Rostov-on-Don", "Ufa", "Krasnoyarsk", "Voronezh", "Perm", "Berlin",
	"Paris", "Madrid", "Rome", "Warsaw", "Prague", "Vienna", "London", "Amsterdam",
	"New York", "Chicago", "Toronto", "Tokyo", "Seoul", "Singapore", "Dubai", "Istanbul",
};
static const char *const rr_street[] = {
	"Lenina", "Pushkina", "Gagarina", "Sovetskaya", "Mira", "Kirova", "Tverskaya",
	"Main St", "Oak Ave", "Park Lane", "High Street", "Rue de Rivoli", "Hauptstrasse",
	"Via Roma", "Gran Via", "Nevsky Prospekt", "Arbat", "Sadovaya", "Lesnaya", "Zelenaya",
};
static const char *const rr_domain[] = {
	"example.com", "mail.example.org", "corp.example.net", "example.ru", "inbox.example",
	"post.example.de", "example.co.uk",
};
static const char *const rr_status[] = {
	"new", "paid", "shipped", "delivered", "cancelled", "refunded", "on_hold",
};
static const char *const rr_product[] = {
	"USB-C cable 1m", "Wireless mouse", "Mechanical keyboard", "27\" monitor",
	"Laptop stand", "Noise cancelling headphones", "Webcam 1080p", "SSD 1TB NVMe",
	"RAM DDR4 16GB", "Power bank 20000mAh", "HDMI adapter", "Office chair",
	"Desk lamp LED", "Printer paper A4 500", "Toner cartridge", "Ethernet switch 8p",
	"Wi-Fi router AX3000", "External HDD 4TB", "Smartphone case", "Screen protector",
};
static const char *const rr_event[] = {
	"login", "logout", "view_product", "add_to_cart", "remove_from_cart", "checkout",
	"payment_failed", "password_reset", "search", "update_profile",
};
static const char *const rr_agent[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	"curl/7.88.1",
};

static void rr_lower(char *d, size_t dl, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < dl; i++)
		d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	d[i] = '\0';
}

/* Rows are stored in insertion order, so their times grow with the id. */
static void rr_ts(char *d, size_t dl, int table, unsigned long long id)
{
	static const unsigned step[] = { 300, 60, 20, 5 };
	time_t t = (time_t)(1546300800ull + id * step[table] + rr_below(step[table]));
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(d, dl, "%Y-%m-%d %H:%M:%S", &tm);
}

static long long rr_gen_table(FILE *f, int table, unsigned long long *id)
{
	static const char *const hdr[] = {
		"INSERT INTO `customers` VALUES ",
		"INSERT INTO `orders` VALUES ",
		"INSERT INTO `order_items` VALUES ",
		"INSERT INTO `events` VALUES ",
	};
	long long w = 0;
	char a[64], b[64], ts[32];
	int rows = 60 + (int)rr_below(60);

	w += fprintf(f, "%s", hdr[table]);
	for (int r = 0; r < rows; r++) {
		unsigned long long i = ++id[table];
		const char *sep = r ? "," : "";
		rr_ts(ts, sizeof(ts), table, i);
		switch (table) {
		case 0: {
			const char *fn = RR_PICK(rr_first), *ln = RR_PICK(rr_last);
			rr_lower(a, sizeof(a), fn);
			rr_lower(b, sizeof(b), ln);
			w += fprintf(f,
			             "%s(%llu,'%s','%s','%s.%s%u@%s','+7 9%02u %03u-%02u-%02u','%s',"
			             "'%s, %u','%s',%u.%02u,'%s',%s)",
			             sep, i, fn, ln, a, b, rr_below(1000), RR_PICK(rr_domain),
			             rr_below(100), rr_below(1000), rr_below(100), rr_below(100),
			             RR_PICK(rr_city), RR_PICK(rr_street), 1 + rr_below(200), ts,
			             rr_below(100000), rr_below(100), rr_below(10) ? "active" : "blocked",
			             rr_below(4) ? "NULL" : "'VIP customer, call before delivery'");
			break;
		}
		case 1:
			w += fprintf(f, "%s(%llu,%llu,'%s','%s',%u.%02u,'%s','%s','%s, %u, apt. %u',%s)",
			             sep, i, 1 + (id[0] ? rr_rand() % id[0] : 0), ts,
			             RR_PICK(rr_status), rr_below(50000), rr_below(100),
			             rr_below(5) ? "RUB" : "EUR", RR_PICK(rr_city), RR_PICK(rr_street),
			             1 + rr_below(200), 1 + rr_below(300),
			             rr_below(3) ? "NULL" : "'leave at the door'");
			break;
		case 2:
			w += fprintf(f, "%s(%llu,%llu,'SKU-%05u','%s',%u,%u.%02u)", sep, i,
			             1 + (id[1] ? rr_rand() % id[1] : 0), rr_below(20000),
			             RR_PICK(rr_product), 1 + rr_below(5), rr_below(20000), rr_below(100));
			break;
		default:
			w += fprintf(f,
			             "%s(%llu,%llu,'%s','%s','10.%u.%u.%u','%s',"
			             "'{\\\"session\\\":\\\"%08x%08x\\\",\\\"page\\\":%u,\\\"ok\\\":%s}')",
			             sep, i, 1 + (id[0] ? rr_rand() % id[0] : 0), RR_PICK(rr_event), ts,
			             rr_below(256), rr_below(256), rr_below(256), RR_PICK(rr_agent),
			             (unsigned)rr_rand(), (unsigned)rr_rand(), rr_below(50),
			             rr_below(10) ? "true" : "false");
			break;
		}
	}
	w += fprintf(f, ";\n");
	return w;
}

static int rr_gen_sql(const char *path, const char *mb, const char *seed)
{
	static const char *const create[] = {
		"CREATE TABLE `customers` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n"
		"  `first_name` varchar(64) NOT NULL,\n  `last_name` varchar(64) NOT NULL,\n"
		"  `email` varchar(255) NOT NULL,\n  `phone` varchar(32) DEFAULT NULL,\n"
		"  `city` varchar(64) DEFAULT NULL,\n  `address` varchar(255) DEFAULT NULL,\n"
		"  `created_at` datetime NOT NULL,\n  `balance` decimal(12,2) NOT NULL DEFAULT '0.00',\n"
		"  `status` enum('active','blocked') NOT NULL,\n  `notes` text,\n  PRIMARY KEY (`id`),\n"
		"  UNIQUE KEY `email` (`email`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
		"CREATE TABLE `orders` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n"
		"  `customer_id` bigint NOT NULL,\n  `created_at` datetime NOT NULL,\n"
		"  `status` varchar(16) NOT NULL,\n  `total` decimal(12,2) NOT NULL,\n"
		"  `currency` char(3) NOT NULL,\n  `city` varchar(64) NOT NULL,\n"
		"  `shipping_address` varchar(255) NOT NULL,\n  `comment` text,\n  PRIMARY KEY (`id`),\n"
		"  KEY `customer_id` (`customer_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
		"CREATE TABLE `order_items` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n"
		"  `order_id` bigint NOT NULL,\n  `sku` varchar(16) NOT NULL,\n"
		"  `title` varchar(255) NOT NULL,\n  `qty` int NOT NULL,\n  `price` decimal(12,2) NOT NULL,\n"
		"  PRIMARY KEY (`id`),\n  KEY `order_id` (`order_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
		"CREATE TABLE `events` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n"
		"  `customer_id` bigint NOT NULL,\n  `kind` varchar(32) NOT NULL,\n"
		"  `at` datetime NOT NULL,\n  `ip` varchar(45) NOT NULL,\n  `user_agent` text,\n"
		"  `payload` json DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
	};
	static const char *const names[] = { "customers", "orders", "order_items", "events" };
	long long target = (long long)(strtod(mb, NULL) * 1e6);
	unsigned long long id[4] = { 0 };
	long long w = 0;
	FILE *f = fopen(path, "w");

	if (!f)
		rr_die(path);
	if (target <= 0) {
		fprintf(stderr, "tunnel-rr: bad size %s\n", mb);
		exit(2);
	}
	rr_seed = seed ? strtoull(seed, NULL, 10) : 20240601;
	w += fprintf(f, "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n"
	                "-- Host: db1.internal    Database: shop\n"
	                "-- ------------------------------------------------------\n"
	                "-- Server version\t8.0.36\n\n"
	                "/*!40101 SET NAMES utf8mb4 */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n"
	                "/*!40014 SET FOREIGN_KEY_CHECKS=0 */;\n\n");
	/* Tables in turn, a few hundred rows each, like a dump of several
	 * tables that grow together (ids in later tables refer to earlier). */
	for (int round = 0; w < target; round++) {
		for (int t = 0; t < 4 && w < target; t++) {
			if (round == 0)
				w += fprintf(f,
				             "\n--\n-- Table structure for table `%s`\n--\n\n"
				             "DROP TABLE IF EXISTS `%s`;\n%s\n"
				             "LOCK TABLES `%s` WRITE;\n",
				             names[t], names[t], create[t], names[t]);
			for (int k = 0; k < 4 && w < target; k++)
				w += rr_gen_table(f, t, id);
		}
	}
	if (fclose(f) != 0)
		rr_die(path);
	/* The file ends where the target was passed: cut it to the byte. */
	if (truncate(path, target) < 0)
		rr_die("truncate");
	printf("gen-sql: file=%s bytes=%lld seed=%llu\n", path, target,
	       seed ? strtoull(seed, NULL, 10) : 20240601ull);
	return 0;
}

/* ---- clients ---- */

static void rr_fill(char *buf, size_t size, uint64_t seq)
{
	memset(buf, 'a' + (int)(seq % 26), size);
	memcpy(buf, &seq, size < sizeof(seq) ? size : sizeof(seq));
}

/* One request and its answer on fd; -1 on error or a wrong answer. */
static int rr_round(int fd, char *req, char *ans, size_t size, uint64_t seq)
{
	rr_fill(req, size, seq);
	if (rr_io(fd, req, size, 1) < 0 || rr_io(fd, ans, size, 0) < 0)
		return -1;
	if (memcmp(req, ans, size) != 0) {
		fprintf(stderr, "tunnel-rr: answer %llu differs from the request\n",
		        (unsigned long long)seq);
		exit(1);
	}
	return 0;
}

static void rr_print_stats(const char *mode, struct pp_stats *st, size_t size)
{
	double sum = 0;

	for (size_t i = 0; i < st->n; i++)
		sum += (double)st->v[i];
	pp_stats_sort(st);
	printf("%s: n=%zu size=%zu min_us=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	       "p999_us=%.1f max_us=%.1f mean_us=%.1f\n",
	       mode, st->n, size, (double)pp_stats_pct(st, 0) / 1e3,
	       (double)pp_stats_pct(st, 50) / 1e3, (double)pp_stats_pct(st, 90) / 1e3,
	       (double)pp_stats_pct(st, 99) / 1e3, (double)pp_stats_pct(st, 99.9) / 1e3,
	       (double)st->max / 1e3, st->n ? sum / (double)st->n / 1e3 : 0.0);
}

struct rr_target {
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;
	struct pp_stats st;
};

/* With two targets the measurement alternates between them in blocks
 * (A B, B A, ...), so that slow changes of a noisy machine's load reach both
 * alike, while each block still runs warm, as a path alone would: the
 * first round trips of a block are not counted. The second target is the
 * reference the first is compared with. */
#define RR_BLOCK 1000
#define RR_BLOCK_WARM 20
#define RR_CONN_BLOCK 50
#define RR_CONN_BLOCK_WARM 2

static int rr_latency(struct rr_target *t, int nt, long n, long warm, size_t size)
{
	char req[RR_MAX_SIZE], ans[RR_MAX_SIZE];
	uint64_t seq = 0;

	for (int k = 0; k < nt; k++) {
		t[k].fd = rr_connect(&t[k].ss, t[k].sl);
		if (t[k].fd < 0)
			rr_die("connect");
		if (pp_stats_init(&t[k].st, (size_t)n) < 0)
			rr_die("malloc");
		for (long i = 0; i < warm; i++)
			if (rr_round(t[k].fd, req, ans, size, seq++) < 0)
				rr_die("round trip");
	}
	for (long done = 0, blk = 0; done < n; blk++) {
		long len = nt == 1 ? n : (n - done < RR_BLOCK ? n - done : RR_BLOCK);
		for (int j = 0; j < nt; j++) {
			struct rr_target *x = &t[(blk & 1) ? nt - 1 - j : j];
			for (long i = nt == 1 ? 0 : -RR_BLOCK_WARM; i < len; i++) {
				uint64_t t0 = pp_now_ns();
				if (rr_round(x->fd, req, ans, size, seq++) < 0)
					rr_die("round trip");
				if (i >= 0)
					pp_stats_add(&x->st, pp_now_ns() - t0);
			}
		}
		done += len;
	}
	for (int k = 0; k < nt; k++) {
		close(t[k].fd);
		rr_print_stats(k ? "rr-ref" : "rr", &t[k].st, size);
		pp_stats_free(&t[k].st);
	}
	return 0;
}

/* One fresh connection and its first round trip; the time it took. */
static uint64_t rr_one_connection(struct rr_target *x, char *req, char *ans, size_t size,
                                  uint64_t seq)
{
	uint64_t t0 = pp_now_ns();
	int fd = rr_connect(&x->ss, x->sl);

	if (fd < 0)
		rr_die("connect");
	if (rr_round(fd, req, ans, size, seq) < 0)
		rr_die("first round trip");
	t0 = pp_now_ns() - t0;
	close(fd);
	return t0;
}

/* Fresh connections, in alternating blocks as above; gap_us apart. */
static int rr_connect_cost(struct rr_target *t, int nt, long n, size_t size, long gap_us)
{
	const struct timespec gap = { gap_us / 1000000, gap_us % 1000000 * 1000 };
	char req[RR_MAX_SIZE], ans[RR_MAX_SIZE];
	uint64_t seq = 0;

	for (int k = 0; k < nt; k++) {
		if (pp_stats_init(&t[k].st, (size_t)n) < 0)
			rr_die("malloc");
		for (int i = 0; i < RR_CONNECT_WARMUP; i++)
			rr_one_connection(&t[k], req, ans, size, seq++);
	}
	for (long done = 0, blk = 0; done < n; blk++) {
		long len = nt == 1 ? n : (n - done < RR_CONN_BLOCK ? n - done : RR_CONN_BLOCK);
		for (int j = 0; j < nt; j++) {
			struct rr_target *x = &t[(blk & 1) ? nt - 1 - j : j];
			for (long i = nt == 1 ? 0 : -RR_CONN_BLOCK_WARM; i < len; i++) {
				uint64_t ns = rr_one_connection(x, req, ans, size, seq++);
				if (i >= 0)
					pp_stats_add(&x->st, ns);
				if (gap_us > 0)
					nanosleep(&gap, NULL);
			}
		}
		done += len;
	}
	for (int k = 0; k < nt; k++) {
		rr_print_stats(k ? "connect-ref" : "connect", &t[k].st, size);
		pp_stats_free(&t[k].st);
	}
	return 0;
}

/* Connects and sends one request until an answer byte comes back.
 * Returns the number of attempts; *t_conn gets the time of the first
 * accepted connection. */
static long rr_until_answer(const struct sockaddr_storage *ss, socklen_t sl, size_t size,
                            uint64_t *t_conn, uint64_t *t_ans)
{
	char req[RR_MAX_SIZE];
	long attempts = 0;

	rr_fill(req, size, 0);
	*t_conn = 0;
	for (;;) {
		int st, fd;
		char c;

		if (rr_child > 0 && waitpid(rr_child, &st, WNOHANG) == rr_child) {
			fprintf(stderr, "tunnel-rr: the command ended (status %d) before an answer\n",
			        WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			rr_child = -1;
			exit(1);
		}
		attempts++;
		fd = rr_connect(ss, sl);
		if (fd < 0) {
			usleep(200);
			continue;
		}
		if (!*t_conn)
			*t_conn = pp_now_ns();
		if (rr_io(fd, req, size, 1) == 0) {
			ssize_t n;
			do
				n = read(fd, &c, 1);
			while (n < 0 && errno == EINTR);
			if (n == 1) {
				*t_ans = pp_now_ns();
				close(fd);
				return attempts;
			}
		}
		close(fd);
		usleep(1000);
	}
}

static int rr_first_byte(const struct sockaddr_storage *ss, socklen_t sl, size_t size,
                         const char *log, char **cmd)
{
	uint64_t t0, t_conn, t_ans;
	long attempts;
	int st = 0;
	pid_t pid;

	fflush(stdout);
	t0 = pp_now_ns();
	pid = fork();
	if (pid < 0)
		rr_die("fork");
	if (pid == 0) {
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "tunnel-rr: exec %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	rr_child = pid;
	attempts = rr_until_answer(ss, sl, size, &t_conn, &t_ans);
	printf("first-byte: first_byte_ms=%.2f listen_ms=%.2f attempts=%ld\n",
	       (double)(t_ans - t0) / 1e6, (double)(t_conn - t0) / 1e6, attempts);
	fflush(stdout);
	kill(pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			rr_child = -1;
			return 0;
		}
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	rr_child = -1;
	fprintf(stderr, "tunnel-rr: the command ignored SIGTERM for 3 s: killed\n");
	return 0;
}

static void rr_print_rate(const char *mode, size_t bytes, uint64_t ns)
{
	double secs = (double)ns / 1e9;

	printf("%s: bytes=%zu secs=%.3f MBps=%.2f Mbps=%.1f\n", mode, bytes, secs,
	       (double)bytes / secs / 1e6, (double)bytes * 8 / secs / 1e6);
}

/* Timed from connect() to the last byte received. */
static int rr_fetch(const struct sockaddr_storage *ss, socklen_t sl, const char *path)
{
	size_t size, got = 0;
	const char *want = rr_map_file(path, &size);
	char *buf = malloc(1 << 20);
	uint64_t t0;
	int fd;

	if (!buf)
		rr_die("malloc");
	t0 = pp_now_ns();
	fd = rr_connect(ss, sl);
	if (fd < 0)
		rr_die("connect");
	if (rr_io(fd, "G", 1, 1) < 0)
		rr_die("request");
	while (got < size) {
		size_t want_n = size - got < (1 << 20) ? size - got : (1 << 20);
		ssize_t n = read(fd, buf, want_n);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "tunnel-rr: stream ended after %zu of %zu bytes\n", got, size);
			return 1;
		}
		if (memcmp(buf, want + got, (size_t)n) != 0) {
			fprintf(stderr, "tunnel-rr: data differ near offset %zu\n", got);
			return 1;
		}
		got += (size_t)n;
	}
	rr_print_rate("fetch", got, pp_now_ns() - t0);
	close(fd);
	free(buf);
	return 0;
}

/* Timed from connect() to the server's verdict on the last byte. */
static int rr_push(const struct sockaddr_storage *ss, socklen_t sl, const char *path)
{
	size_t size, off = 0;
	const char *data = rr_map_file(path, &size);
	uint64_t t0 = pp_now_ns();
	char verdict;
	int fd = rr_connect(ss, sl);

	if (fd < 0)
		rr_die("connect");
	if (rr_io(fd, "P", 1, 1) < 0)
		rr_die("request");
	while (off < size) {
		size_t chunk = size - off < 256 * 1024 ? size - off : 256 * 1024;
		if (rr_io(fd, (char *)data + off, chunk, 1) < 0)
			rr_die("send");
		off += chunk;
	}
	if (rr_io(fd, &verdict, 1, 0) < 0) {
		fprintf(stderr, "tunnel-rr: no verdict from the server\n");
		return 1;
	}
	if (verdict != 'K') {
		fprintf(stderr, "tunnel-rr: the server received different data\n");
		return 1;
	}
	rr_print_rate("push", size, pp_now_ns() - t0);
	close(fd);
	return 0;
}

static void rr_usage(FILE *f)
{
	fprintf(f,
	        "usage: tunnel-rr [-t SECONDS] --serve PORT\n"
	        "       tunnel-rr [-t SECONDS] --serve-file PORT FILE\n"
	        "       tunnel-rr --gen-sql FILE MB [SEED]\n"
	        "       tunnel-rr [-t SECONDS] [-n N] [-w WARMUP] [-s SIZE] HOST:PORT [REF_HOST:PORT]\n"
	        "       tunnel-rr [-t SECONDS] [-s SIZE] [--gap-us US] --connect-cost N HOST:PORT [REF_HOST:PORT]\n"
	        "       tunnel-rr [-t SECONDS] [-s SIZE] --wait HOST:PORT\n"
	        "       tunnel-rr [-t SECONDS] [--log FILE] --first-byte HOST:PORT -- CMD [ARGS...]\n"
	        "       tunnel-rr [-t SECONDS] --fetch HOST:PORT FILE\n"
	        "       tunnel-rr [-t SECONDS] --push HOST:PORT FILE\n");
}

enum { M_RR, M_SERVE, M_SERVE_FILE, M_GEN, M_CONNECT, M_WAIT, M_FIRST, M_FETCH, M_PUSH };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "serve", no_argument, NULL, 'S' },
		{ "serve-file", no_argument, NULL, 'F' },
		{ "gen-sql", no_argument, NULL, 'G' },
		{ "connect-cost", required_argument, NULL, 'C' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "wait", no_argument, NULL, 'W' },
		{ "first-byte", no_argument, NULL, 'B' },
		{ "fetch", no_argument, NULL, 'f' },
		{ "push", no_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long n = 20000, warm = 2000, conns = 0, timeout = 120, gap_us = 0;
	size_t size = 64;
	const char *log = NULL;
	int mode = M_RR, opt, nt = 1;
	struct rr_target tg[2];
	struct sockaddr_storage ss;
	socklen_t sl;

	while ((opt = getopt_long(argc, argv, "+n:w:s:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'w': warm = strtol(optarg, NULL, 10); break;
		case 's': size = (size_t)strtoul(optarg, NULL, 10); break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		case 'S': mode = M_SERVE; break;
		case 'F': mode = M_SERVE_FILE; break;
		case 'G': mode = M_GEN; break;
		case 'C': mode = M_CONNECT; conns = strtol(optarg, NULL, 10); break;
		case 'g': gap_us = strtol(optarg, NULL, 10); break;
		case 'W': mode = M_WAIT; break;
		case 'B': mode = M_FIRST; break;
		case 'f': mode = M_FETCH; break;
		case 'p': mode = M_PUSH; break;
		case 'l': log = optarg; break;
		case 'h': rr_usage(stdout); return 0;
		default: rr_usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (n <= 0 || warm < 0 || size == 0 || size > RR_MAX_SIZE || timeout < 0 ||
	    gap_us < 0 || gap_us > 10000000 ||
	    (mode == M_CONNECT && conns <= 0)) {
		rr_usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	switch (mode) {
	case M_SERVE:
		if (argc != 1)
			break;
		rr_serve_echo(argv[0]);
	case M_SERVE_FILE:
		if (argc != 2)
			break;
		rr_served.data = rr_map_file(argv[1], &rr_served.size);
		rr_serve(argv[0], rr_file_main);
	case M_GEN:
		if (argc != 2 && argc != 3)
			break;
		return rr_gen_sql(argv[0], argv[1], argc == 3 ? argv[2] : NULL);
	default:
		break;
	}
	if (mode == M_SERVE || mode == M_SERVE_FILE || mode == M_GEN || argc < 1) {
		rr_usage(stderr);
		return 2;
	}
	if (rr_parse_addr(argv[0], &ss, &sl) < 0) {
		fprintf(stderr, "tunnel-rr: bad address %s (want IP:PORT)\n", argv[0]);
		return 2;
	}
	signal(SIGALRM, rr_on_alarm);
	alarm((unsigned)timeout);

	switch (mode) {
	case M_RR:
	case M_CONNECT:
		if (argc != 1 && argc != 2)
			break;
		tg[0].ss = ss;
		tg[0].sl = sl;
		if (argc == 2) {
			if (rr_parse_addr(argv[1], &tg[1].ss, &tg[1].sl) < 0) {
				fprintf(stderr, "tunnel-rr: bad address %s (want IP:PORT)\n", argv[1]);
				return 2;
			}
			nt = 2;
		}
		return mode == M_RR ? rr_latency(tg, nt, n, warm, size)
		                    : rr_connect_cost(tg, nt, conns, size, gap_us);
	case M_WAIT: {
		uint64_t t0 = pp_now_ns(), tc, ta;
		long a;
		if (argc != 1)
			break;
		a = rr_until_answer(&ss, sl, size, &tc, &ta);
		printf("wait: ok_ms=%.2f attempts=%ld\n", (double)(ta - t0) / 1e6, a);
		return 0;
	}
	case M_FIRST:
		if (argc < 3 || strcmp(argv[1], "--") != 0)
			break;
		return rr_first_byte(&ss, sl, size, log, argv + 2);
	case M_FETCH:
		if (argc != 2)
			break;
		return rr_fetch(&ss, sl, argv[1]);
	case M_PUSH:
		if (argc != 2)
			break;
		return rr_push(&ss, sl, argv[1]);
	default:
		break;
	}
	rr_usage(stderr);
	return 2;
}
