/*-------------------------------------------------------------------------
 *
 * cache.c
 *		Per-backend cache of raw Comet responses.
 *
 * Keyed by server, user mapping and URL (so one role never sees what
 * another role's key fetched) -- for a read sent as a POST, the URL, a
 * newline, the method and the body -- holding raw bodies rather than parsed trees,
 * bounded in bytes with least-recently-used eviction.  An entry serves the
 * statement that fetched it (nested-loop rescans, the metric summary read
 * twice, the experiment list shared by fan-outs) and, for cache_ttl_s
 * seconds, later statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/ilist.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "access/xact.h"

#include "comet_fdw.h"

int			comet_cache_max_kb = 65536;

typedef struct CacheKey
{
	Oid			serverid;
	Oid			umid;
	uint64		urlhash;
} CacheKey;

typedef struct CacheEntry
{
	CacheKey	key;
	char	   *url;			/* to tell hash collisions apart */
	char	   *body;
	bool		malloced;		/* adopted (free()), not copied (pfree()) */
	Size		len;
	TimestampTz fetched;
	TimestampTz statement;		/* statement start of the fetch */
	dlist_node	lru;			/* head = most recently used */
} CacheEntry;

static HTAB *cache_hash = NULL;
static MemoryContext cache_cxt = NULL;
static dlist_head cache_lru = DLIST_STATIC_INIT(cache_lru);
static Size cache_bytes = 0;
static int64 cache_entries = 0;

static void
cache_init(void)
{
	HASHCTL		ctl;

	if (cache_hash != NULL)
		return;
	cache_cxt = AllocSetContextCreate(TopMemoryContext,
									  "comet_fdw response cache",
									  ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(CacheKey);
	ctl.entrysize = sizeof(CacheEntry);
	ctl.hcxt = cache_cxt;
	cache_hash = hash_create("comet_fdw response cache", 256, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
make_key(CacheKey *key, Oid serverid, Oid umid, const char *url)
{
	memset(key, 0, sizeof(*key));
	key->serverid = serverid;
	key->umid = umid;
	key->urlhash = hash_bytes_extended((const unsigned char *) url,
									   strlen(url), 0);
}

static void
entry_drop(CacheEntry *e)
{
	dlist_delete(&e->lru);
	cache_bytes -= e->len;
	cache_entries--;
	if (e->malloced)
		free(e->body);
	else
		pfree(e->body);
	pfree(e->url);
	hash_search(cache_hash, &e->key, HASH_REMOVE, NULL);
}

bool
comet_cache_get(Oid serverid, Oid umid, const char *url, int ttl_s,
				char **body, size_t *len, MemoryContext cxt)
{
	CacheKey	key;
	CacheEntry *e;
	bool		fresh;

	if (cache_hash == NULL)
		return false;
	make_key(&key, serverid, umid, url);
	e = hash_search(cache_hash, &key, HASH_FIND, NULL);
	if (e == NULL || strcmp(e->url, url) != 0)
		return false;

	fresh = e->statement == GetCurrentStatementStartTimestamp() ||
		(ttl_s > 0 &&
		 !TimestampDifferenceExceeds(e->fetched, GetCurrentTimestamp(),
									 ttl_s * 1000));
	if (!fresh)
	{
		entry_drop(e);
		return false;
	}
	dlist_move_head(&cache_lru, &e->lru);
	*body = MemoryContextAllocHuge(cxt, e->len + 1);
	memcpy(*body, e->body, e->len);
	(*body)[e->len] = '\0';
	*len = e->len;
	return true;
}

/* A copy of body, or (adopt) body itself, malloc'd: false if not kept. */
static bool
cache_store(Oid serverid, Oid umid, const char *url, char *body, size_t len,
			bool adopt)
{
	Size		budget = (Size) comet_cache_max_kb * 1024;
	CacheKey	key;
	CacheEntry *e;
	bool		found;
	char	   *copy;

	if (len > budget)
		return false;
	cache_init();
	make_key(&key, serverid, umid, url);
	e = hash_search(cache_hash, &key, HASH_FIND, NULL);
	if (e != NULL)
		entry_drop(e);
	while (cache_bytes + len > budget && !dlist_is_empty(&cache_lru))
		entry_drop(dlist_container(CacheEntry, lru, dlist_tail_node(&cache_lru)));

	if (adopt)
		copy = body;
	else
	{
		/* a cache that cannot grow is not an error: just do without */
		copy = MemoryContextAllocExtended(cache_cxt, len + 1,
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		if (copy == NULL)
			return false;
		memcpy(copy, body, len);
		copy[len] = '\0';
	}

	e = hash_search(cache_hash, &key, HASH_ENTER, &found);
	e->url = MemoryContextStrdup(cache_cxt, url);
	e->body = copy;
	e->malloced = adopt;
	e->len = len;
	e->fetched = GetCurrentTimestamp();
	e->statement = GetCurrentStatementStartTimestamp();
	dlist_push_head(&cache_lru, &e->lru);
	cache_bytes += len;
	cache_entries++;
	return true;
}

void
comet_cache_put(Oid serverid, Oid umid, const char *url, const char *body,
				size_t len)
{
	(void) cache_store(serverid, umid, url, (char *) body, len, false);
}

/*
 * The same, taking over body (malloc'd) instead of copying it: true if the
 * cache took it (and frees it), false if the caller keeps it.
 */
bool
comet_cache_adopt(Oid serverid, Oid umid, const char *url, char *body,
				  size_t len)
{
	return cache_store(serverid, umid, url, body, len, true);
}

void
comet_cache_clear(Oid serverid)
{
	dlist_mutable_iter it;

	if (cache_hash == NULL)
		return;
	dlist_foreach_modify(it, &cache_lru)
	{
		CacheEntry *e = dlist_container(CacheEntry, lru, it.cur);

		if (!OidIsValid(serverid) || e->key.serverid == serverid)
			entry_drop(e);
	}
}

/* Does the query of url hold param=value (value already URL-encoded)? */
static bool
url_has_param(const char *url, const char *param, const char *value)
{
	const char *q = strchr(url, '?');
	size_t		plen = strlen(param);
	size_t		vlen = strlen(value);

	while (q != NULL)
	{
		q++;
		if (strncmp(q, param, plen) == 0 && q[plen] == '=' &&
			strncmp(q + plen + 1, value, vlen) == 0 &&
			(q[plen + 1 + vlen] == '&' || q[plen + 1 + vlen] == '\0'))
			return true;
		q = strchr(q, '&');
	}
	return false;
}

/*
 * Drops what a write made stale: the entries of one server and user
 * mapping whose URL is url_prefix (a REST path: followed by its query or
 * nothing) and, if param is given, whose query has param=value.  Returns
 * the number dropped.
 */
int
comet_cache_drop(Oid serverid, Oid umid, const char *url_prefix,
				 const char *param, const char *value)
{
	dlist_mutable_iter it;
	size_t		plen = strlen(url_prefix);
	int			n = 0;

	if (cache_hash == NULL)
		return 0;
	dlist_foreach_modify(it, &cache_lru)
	{
		CacheEntry *e = dlist_container(CacheEntry, lru, it.cur);

		if (e->key.serverid != serverid || e->key.umid != umid)
			continue;
		/* the path, then its query, nothing, or a POST's body ('\n') */
		if (strncmp(e->url, url_prefix, plen) != 0 ||
			(e->url[plen] != '?' && e->url[plen] != '\0' && e->url[plen] != '\n'))
			continue;
		if (param != NULL && !url_has_param(e->url, param, value))
			continue;
		entry_drop(e);
		n++;
	}
	return n;
}

void
comet_cache_sizes(int64 *entries, int64 *bytes)
{
	*entries = cache_entries;
	*bytes = (int64) cache_bytes;
}
