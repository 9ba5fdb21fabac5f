/* SPDX-License-Identifier: Apache-2.0 */
/* See sentinel.h. */
#include "sentinel.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define SENTINEL_ID_MAX 64 /* bytes of an identity name that count */
#define SENTINEL_RINGS 3   /* denied, failed, alerts */

/* Event counts per bucket; head is the bucket index of the newest slot. */
struct sentinel_ring {
	int64_t head;
	bool used;
	uint32_t n[SENTINEL_BUCKETS];
};

struct sentinel_name {
	uint64_t h;      /* keyed hash of the name */
	int64_t bucket;  /* where it was last asked for */
};

struct sentinel_id {
	char name[SENTINEL_ID_MAX + 1];
	int64_t last_ms;
	struct sentinel_ring ring[SENTINEL_RINGS];
	struct sentinel_name *names; /* at most limits.services, grown on demand */
	size_t n_names, cap_names;
	/* The last service name this identity asked for, and its hash: a
	 * client opens the same service over and over, and the SHA-256 was
	 * 1.4% of a gateway's CPU opening back-to-back connections. Per
	 * identity, so its timing tells nothing of another's requests. */
	char last_service[SENTINEL_ID_MAX + 1];
	size_t last_len; /* 0: none yet */
	uint64_t last_h;
};

struct sentinel {
	struct sentinel_limits lim;
	int64_t width_ms; /* one bucket */
	size_t max_ids;
	GHashTable *ids;  /* name -> struct sentinel_id */
	uint8_t key[16];  /* names are hashed with it, so that colliding names
	                   * cannot be chosen to hide a scan */
};

static bool sentinel_limits_ok(const struct sentinel_limits *l)
{
	return l && l->window_ms >= 1 && l->denied >= 1 && l->failed >= 1 && l->alerts >= 1 &&
	       l->services >= 1 && l->services <= SENTINEL_NAMES_MAX;
}

static void sentinel_id_free(gpointer p)
{
	struct sentinel_id *id = p;

	g_free(id->names);
	g_free(id);
}

static void sentinel_apply(struct sentinel *s, const struct sentinel_limits *lim)
{
	s->lim = *lim;
	s->width_ms = (lim->window_ms + SENTINEL_BUCKETS - 1) / SENTINEL_BUCKETS;
}

struct sentinel *sentinel_new(const struct sentinel_limits *lim, size_t max_identities)
{
	struct sentinel *s;

	if (!sentinel_limits_ok(lim) || max_identities < 1 || max_identities > SENTINEL_IDENTITIES_MAX)
		return NULL;
	s = g_new0(struct sentinel, 1);
	sentinel_apply(s, lim);
	s->max_ids = max_identities;
	s->ids = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, sentinel_id_free);
	for (size_t i = 0; i < sizeof(s->key); i += 4) {
		guint32 r = g_random_int();
		memcpy(s->key + i, &r, 4);
	}
	return s;
}

void sentinel_free(struct sentinel *s)
{
	if (!s)
		return;
	g_hash_table_destroy(s->ids);
	g_free(s);
}

int sentinel_set_limits(struct sentinel *s, const struct sentinel_limits *lim)
{
	if (!sentinel_limits_ok(lim))
		return -1;
	if (lim->window_ms != s->lim.window_ms)
		g_hash_table_remove_all(s->ids);
	sentinel_apply(s, lim);
	return 0;
}

/* --- counting --------------------------------------------------------------------- */

/* Moves the ring to bucket b, zeroing the buckets that slid out. A clock
 * that went back (it should not: monotonic) counts in the newest bucket. */
static void sentinel_ring_advance(struct sentinel_ring *r, int64_t b)
{
	if (!r->used || b - r->head >= SENTINEL_BUCKETS) {
		memset(r->n, 0, sizeof(r->n));
		r->used = true;
		r->head = b;
		return;
	}
	while (r->head < b) {
		r->head++;
		r->n[r->head % SENTINEL_BUCKETS] = 0;
	}
}

static uint32_t sentinel_ring_sum(const struct sentinel_ring *r)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < SENTINEL_BUCKETS; i++)
		sum += r->n[i];
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

static void sentinel_ring_add(struct sentinel_ring *r, int64_t b)
{
	uint32_t *slot;

	sentinel_ring_advance(r, b);
	slot = &r->n[r->head % SENTINEL_BUCKETS];
	if (*slot < UINT32_MAX)
		(*slot)++;
}

static uint64_t sentinel_hash(const struct sentinel *s, struct sentinel_id *id, const char *name)
{
	size_t len = strnlen(name, SENTINEL_ID_MAX + 1);
	GChecksum *c;
	guint8 d[32];
	gsize dl = sizeof(d);
	uint64_t h;

	if (len > 0 && len <= SENTINEL_ID_MAX && len == id->last_len &&
	    memcmp(name, id->last_service, len) == 0)
		return id->last_h;
	c = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(c, s->key, sizeof(s->key));
	g_checksum_update(c, (const guchar *)name, (gssize)len);
	g_checksum_get_digest(c, d, &dl);
	g_checksum_free(c);
	memcpy(&h, d, sizeof(h));
	if (len > 0 && len <= SENTINEL_ID_MAX) {
		memcpy(id->last_service, name, len);
		id->last_len = len;
		id->last_h = h;
	}
	return h;
}

/* Drops names last asked for before the window that ends in bucket b. */
static void sentinel_names_expire(struct sentinel_id *id, int64_t b)
{
	size_t j = 0;

	for (size_t i = 0; i < id->n_names; i++)
		if (id->names[i].bucket > b - SENTINEL_BUCKETS)
			id->names[j++] = id->names[i];
	id->n_names = j;
}

/* Adds name to the set (bounded by the limit: reaching it is the hit, so
 * more would never change the outcome). */
static void sentinel_names_add(struct sentinel *s, struct sentinel_id *id, const char *name,
                               int64_t b)
{
	uint64_t h = sentinel_hash(s, id, name);

	sentinel_names_expire(id, b);
	for (size_t i = 0; i < id->n_names; i++)
		if (id->names[i].h == h) {
			if (id->names[i].bucket < b)
				id->names[i].bucket = b;
			return;
		}
	if (id->n_names >= s->lim.services)
		return;
	if (id->n_names == id->cap_names) {
		id->cap_names = MIN(MAX(id->cap_names * 2, 8), (size_t)s->lim.services);
		id->names = g_renew(struct sentinel_name, id->names, id->cap_names);
	}
	id->names[id->n_names++] = (struct sentinel_name){ .h = h, .bucket = b };
}

/* Makes room for one more identity: forgets the one idle longest. */
static void sentinel_evict(struct sentinel *s)
{
	GHashTableIter it;
	gpointer v;
	struct sentinel_id *oldest = NULL;

	g_hash_table_iter_init(&it, s->ids);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct sentinel_id *id = v;
		if (!oldest || id->last_ms < oldest->last_ms)
			oldest = id;
	}
	if (oldest)
		g_hash_table_remove(s->ids, oldest->name);
}

static struct sentinel_id *sentinel_lookup(struct sentinel *s, const char *identity, bool create)
{
	char key[SENTINEL_ID_MAX + 1];
	struct sentinel_id *id;

	g_strlcpy(key, identity, sizeof(key));
	id = g_hash_table_lookup(s->ids, key);
	if (id || !create)
		return id;
	if (g_hash_table_size(s->ids) >= s->max_ids)
		sentinel_evict(s);
	id = g_new0(struct sentinel_id, 1);
	memcpy(id->name, key, sizeof(key));
	g_hash_table_insert(s->ids, id->name, id);
	return id;
}

static int sentinel_ring_of(enum sentinel_counter c)
{
	switch (c) {
	case SENTINEL_DENIED: return 0;
	case SENTINEL_FAILED: return 1;
	case SENTINEL_ALERTS: return 2;
	default: return -1;
	}
}

static uint32_t sentinel_limit_of(const struct sentinel *s, enum sentinel_counter c)
{
	switch (c) {
	case SENTINEL_DENIED: return s->lim.denied;
	case SENTINEL_SERVICES: return s->lim.services;
	case SENTINEL_FAILED: return s->lim.failed;
	case SENTINEL_ALERTS: return s->lim.alerts;
	default: return UINT32_MAX;
	}
}

static uint32_t sentinel_value(struct sentinel *s, struct sentinel_id *id, enum sentinel_counter c,
                               int64_t b)
{
	int r = sentinel_ring_of(c);

	if (c == SENTINEL_SERVICES) {
		sentinel_names_expire(id, b);
		return (uint32_t)id->n_names;
	}
	if (r < 0)
		return 0;
	sentinel_ring_advance(&id->ring[r], b);
	return sentinel_ring_sum(&id->ring[r]);
}

enum sentinel_counter sentinel_note(struct sentinel *s, const char *identity,
                                    enum sentinel_event ev, const char *service,
                                    int64_t now_ms, uint32_t *count)
{
	enum sentinel_counter check[2] = { SENTINEL_NONE, SENTINEL_NONE };
	int64_t b = now_ms / s->width_ms;
	struct sentinel_id *id;

	if (!identity)
		return SENTINEL_NONE;
	id = sentinel_lookup(s, identity, true);
	id->last_ms = now_ms;
	switch (ev) {
	case SENTINEL_EV_DENIED:
		sentinel_ring_add(&id->ring[0], b);
		check[0] = SENTINEL_DENIED;
		check[1] = SENTINEL_SERVICES;
		break;
	case SENTINEL_EV_STREAM:
		check[0] = SENTINEL_SERVICES;
		break;
	case SENTINEL_EV_FAILED:
		sentinel_ring_add(&id->ring[1], b);
		check[0] = SENTINEL_FAILED;
		break;
	case SENTINEL_EV_ALERT:
		sentinel_ring_add(&id->ring[2], b);
		check[0] = SENTINEL_ALERTS;
		break;
	default:
		return SENTINEL_NONE;
	}
	if (service && (ev == SENTINEL_EV_DENIED || ev == SENTINEL_EV_STREAM))
		sentinel_names_add(s, id, service, b);
	for (size_t i = 0; i < G_N_ELEMENTS(check) && check[i] != SENTINEL_NONE; i++) {
		uint32_t v = sentinel_value(s, id, check[i], b);
		if (v >= sentinel_limit_of(s, check[i])) {
			if (count)
				*count = v;
			return check[i];
		}
	}
	return SENTINEL_NONE;
}

uint32_t sentinel_count(struct sentinel *s, const char *identity, enum sentinel_counter c,
                        int64_t now_ms)
{
	struct sentinel_id *id = identity ? sentinel_lookup(s, identity, false) : NULL;

	return id ? sentinel_value(s, id, c, now_ms / s->width_ms) : 0;
}

void sentinel_forget(struct sentinel *s, const char *identity)
{
	char key[SENTINEL_ID_MAX + 1];

	if (!identity)
		return;
	g_strlcpy(key, identity, sizeof(key));
	g_hash_table_remove(s->ids, key);
}

size_t sentinel_tracked(const struct sentinel *s)
{
	return g_hash_table_size(s->ids);
}

const char *sentinel_counter_name(enum sentinel_counter c)
{
	switch (c) {
	case SENTINEL_DENIED: return "denied";
	case SENTINEL_SERVICES: return "services";
	case SENTINEL_FAILED: return "failed";
	case SENTINEL_ALERTS: return "alerts";
	default: return "none";
	}
}

void sentinel_describe(enum sentinel_counter c, uint32_t count, int64_t window_ms, char *out,
                       size_t cap)
{
	const char *what;
	char win[32];

	switch (c) {
	case SENTINEL_DENIED: what = "denied streams"; break;
	case SENTINEL_SERVICES: what = "distinct services asked for"; break;
	case SENTINEL_FAILED: what = "failed connects"; break;
	case SENTINEL_ALERTS: what = "IDS alerts"; break;
	default: what = "events"; break;
	}
	if (window_ms % 1000 == 0)
		snprintf(win, sizeof(win), "%lld s", (long long)(window_ms / 1000));
	else
		snprintf(win, sizeof(win), "%lld ms", (long long)window_ms);
	snprintf(out, cap, "Sentinel: %u %s in %s", count, what, win);
}
