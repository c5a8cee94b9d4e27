/*-------------------------------------------------------------------------
 *
 * connection.c
 *		Connection cache and request driver of comet_fdw.
 *
 * One libcurl multi handle per (server, user mapping) lives for the whole
 * backend, so TCP and TLS connections are kept alive across statements.
 * A scan owns a CometBatch: its requests, at most max_concurrency of them in
 * flight, retried with backoff, interruptible every 100 ms.  All ereports
 * happen here, after libcurl has returned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/xact.h"
#include "common/pg_prng.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/wait_event.h"

#include "comet_fdw.h"
#include "http.h"

#define POLL_MS 100

typedef struct ConnKey
{
	Oid			serverid;
	Oid			umid;
} ConnKey;

struct CometConn
{
	ConnKey		key;
	chttp_multi *multi;
	bool		invalid;		/* server or mapping changed: rebuild */
	int			nbatches;		/* active batches using it */
	uint64		last_used;		/* for closing the least recently used */
	TimestampTz statement;		/* start of the statement counted below */
	int64		statement_requests; /* requests started for it: max_requests */
};

/*
 * Idle connection handles kept per backend: each holds sockets, and a
 * backend that touches hundreds of servers must not run out of them.
 */
#define COMET_MAX_IDLE_CONNS 8

static uint64 conn_clock = 0;

CometCounters comet_backend_counters;
int64		comet_status_errors[COMET_MAX_STATUS];
int64		comet_malformed_errors;

int			comet_retry_base_ms = 250;
int			comet_retry_max_wait_ms = 30000;

static HTAB *conn_hash = NULL;

/* every counter is kept per scan (EXPLAIN ANALYZE) and per backend (stats) */
#define COUNT(b, field, n) \
	((b)->counters.field += (n), comet_backend_counters.field += (n))
static dlist_head active_batches = DLIST_STATIC_INIT(active_batches);

static int
abort_requested(void)
{
	return QueryCancelPending || ProcDiePending;
}

static void
conn_invalidate_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	CometConn  *c;

	/* cheap and always right: drop every connection and cached response */
	if (conn_hash != NULL)
	{
		hash_seq_init(&scan, conn_hash);
		while ((c = hash_seq_search(&scan)) != NULL)
			c->invalid = true;
	}
	comet_cache_clear(InvalidOid);
}

static void batch_release_transfers(CometBatch *b);

/* Ends a transfer, counting the requests it really sent. */
static void
release(CometBatch *b, CometFetch *f)
{
	if (f->xfer == NULL)
		return;
	COUNT(b, requests, chttp_sent(f->xfer));
	chttp_release(b->conn->multi, f->xfer);
	f->xfer = NULL;
}

/* Frees a fetch's body and stops counting it. */
static void
drop_body(CometBatch *b, CometFetch *f)
{
	if (f->body == NULL)
		return;
	if (f->body_palloc)
		pfree(f->body);
	else
		free(f->body);
	b->held_bytes -= (long long) f->len;
	f->body = NULL;
	f->len = 0;
}

/*
 * A request as shown in messages: path and query, never the key, and never
 * more than a few hundred characters (keys can be long; URL-encoded, the
 * text is ASCII, so any cut is clean).
 */
char *
comet_request_text(const char *request)
{
	size_t		len = strlen(request);

	if (len <= 300)
		return pstrdup(request);
	return psprintf("%.*s... (%zu characters)", 280, request, len);
}

/* A request as shown in messages: its method, path and query. */
static char *
fetch_text(CometFetch *f)
{
	return psprintf("%s %s", f->method ? f->method : "GET",
					comet_request_text(f->request));
}

/*
 * Two reads ask the same when their method, URL and body are the same (a
 * POST read carries what it asks for in its body).
 */
static bool
same_read(const CometFetch *a, const CometFetch *b)
{
	const char *ma = a->method ? a->method : "GET";
	const char *mb = b->method ? b->method : "GET";

	return strcmp(a->url, b->url) == 0 && strcmp(ma, mb) == 0 &&
		a->body_out_len == b->body_out_len &&
		(a->body_out_len == 0 ||
		 memcmp(a->body_out, b->body_out, a->body_out_len) == 0);
}

/*
 * The response cache's key of a read: its URL, and for a POST its method
 * and body after a newline (which no URL holds).  palloc'd in the batch's
 * context when it is not the URL itself.
 */
static char *
read_key(CometBatch *b, CometFetch *f)
{
	if (f->method == NULL)
		return f->url;
	return MemoryContextStrdup(b->cxt,
							   psprintf("%s\n%s %.*s", f->url, f->method,
										(int) f->body_out_len,
										f->body_out ? f->body_out : ""));
}

/* A URL as shown in messages: without user:password@. */
char *
comet_url_text(const char *url)
{
	const char *host = strstr(url, "://");
	const char *end,
			   *at = NULL,
			   *p;

	if (host == NULL)
		return pstrdup(url);
	host += 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return pstrdup(url);
	return psprintf("%.*s%s", (int) (host - url), url, at + 1);
}

static void
xact_cb(XactEvent event, void *arg)
{
	dlist_mutable_iter it;

	if (event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	/* safety net: no transfer outlives the transaction that started it */
	dlist_foreach_modify(it, &active_batches)
		comet_batch_cancel(dlist_container(CometBatch, node, it.cur));
}

void
comet_connection_init(void)
{
	if (!chttp_global_init())
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not initialize libcurl")));
	chttp_set_abort_check(abort_requested);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, conn_invalidate_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, conn_invalidate_cb, (Datum) 0);
	RegisterXactCallback(xact_cb, NULL);

	DefineCustomIntVariable("comet_fdw.retry_base_ms",
							"First backoff wait before retrying a Comet request.",
							"Later waits double, with jitter, up to 10 seconds.",
							&comet_retry_base_ms, 250, 1, 60000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("comet_fdw.retry_max_wait_ms",
							"Longest Retry-After comet_fdw will wait before retrying.",
							"A longer Retry-After fails the request at once.",
							&comet_retry_max_wait_ms, 30000, 0, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* Closes the least recently used idle handles beyond COMET_MAX_IDLE_CONNS. */
static void
close_idle_conns(CometConn *keep)
{
	for (;;)
	{
		HASH_SEQ_STATUS scan;
		CometConn  *c;
		CometConn  *lru = NULL;
		int			open = 0;

		hash_seq_init(&scan, conn_hash);
		while ((c = hash_seq_search(&scan)) != NULL)
		{
			if (c->multi == NULL)
				continue;
			open++;
			if (c != keep && c->nbatches == 0 &&
				(lru == NULL || c->last_used < lru->last_used))
				lru = c;
		}
		if (open < COMET_MAX_IDLE_CONNS || lru == NULL)
			return;
		chttp_multi_free(lru->multi);
		lru->multi = NULL;
		(void) hash_search(conn_hash, &lru->key, HASH_REMOVE, NULL);
	}
}

static CometConn *
get_conn(Oid serverid, Oid umid)
{
	ConnKey		key;
	CometConn  *c;
	bool		found;

	if (conn_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ConnKey);
		ctl.entrysize = sizeof(CometConn);
		ctl.hcxt = TopMemoryContext;
		conn_hash = hash_create("comet_fdw connections", 8, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.serverid = serverid;
	key.umid = umid;
	c = hash_search(conn_hash, &key, HASH_ENTER, &found);
	if (!found)
	{
		c->multi = NULL;
		c->invalid = false;
		c->nbatches = 0;
	}
	c->last_used = ++conn_clock;
	if (c->invalid && c->nbatches == 0 && c->multi != NULL)
	{
		chttp_multi_free(c->multi);
		c->multi = NULL;
	}
	if (c->multi == NULL)
	{
		close_idle_conns(c);
		c->invalid = false;
		c->multi = chttp_multi_new();
		if (c->multi == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create a libcurl multi handle")));
	}
	return c;
}

static void
batch_reset_cb(void *arg)
{
	comet_batch_cancel((CometBatch *) arg);
}

CometBatch *
comet_batch_begin(ForeignServer *server, Oid userid, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CometBatch *b = palloc0(sizeof(CometBatch));
	MemoryContextCallback *cb;

	b->cxt = cxt;
	comet_server_options(server, &b->opts);
	b->api_key = comet_resolve_key(server, userid, &b->opts, &b->umid);
	b->serverid = server->serverid;
	b->userid = userid;
	b->servername = pstrdup(server->servername);
	b->max_inflight = b->opts.max_concurrency;
	dlist_init(&b->queued);
	dlist_init(&b->running);
	dlist_init(&b->finished);
	dlist_init(&b->backoff);
	dlist_init(&b->done);
	dlist_init(&b->taken);
	b->conn = get_conn(b->serverid, b->umid);
	b->conn->nbatches++;
	b->active = true;
	dlist_push_tail(&active_batches, &b->node);

	/* transfers die with the scan's memory, on error as on success */
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = batch_reset_cb;
	cb->arg = b;
	MemoryContextRegisterResetCallback(cxt, cb);
	MemoryContextSwitchTo(old);
	return b;
}

/*
 * Fetches waiting on f go back to their own batches' queues (at the head:
 * they were next), to make their own requests.
 */
static void
requeue_followers(CometFetch *f)
{
	dlist_mutable_iter it;

	dlist_foreach_modify(it, &f->followers)
	{
		CometFetch *w = dlist_container(CometFetch, node, it.cur);

		dlist_delete(&w->node);
		w->batch->nwaiting--;
		w->state = FETCH_QUEUED;
		dlist_push_head(&w->batch->queued, &w->node);
		w->batch->nqueued++;
	}
}

static void
batch_release_transfers(CometBatch *b)
{
	dlist_mutable_iter it;

	dlist_head *lists[2] = {&b->running, &b->finished};
	int			i;

	for (i = 0; i < 2; i++)
	{
		dlist_foreach_modify(it, lists[i])
		{
			CometFetch *f = dlist_container(CometFetch, node, it.cur);

			dlist_delete(&f->node);
			requeue_followers(f);
			release(b, f);
			f->state = FETCH_QUEUED;
		}
	}
	b->nrunning = 0;
}

static void
drop_bodies(CometBatch *b, dlist_head *list)
{
	dlist_mutable_iter it;

	dlist_foreach_modify(it, list)
	{
		CometFetch *f = dlist_container(CometFetch, node, it.cur);

		dlist_delete(&f->node);
		drop_body(b, f);
	}
}

/* Stops everything of the batch; safe to call more than once. */
void
comet_batch_cancel(CometBatch *b)
{
	dlist_mutable_iter it;

	if (!b->active)
		return;
	batch_release_transfers(b);
	/* fetches of this batch waiting on another's transfer stop waiting */
	dlist_foreach_modify(it, &active_batches)
	{
		CometBatch *other = dlist_container(CometBatch, node, it.cur);
		dlist_iter	r;

		if (other->conn != b->conn)
			continue;
		dlist_foreach(r, &other->running)
		{
			CometFetch *leader = dlist_container(CometFetch, node, r.cur);
			dlist_mutable_iter w;

			dlist_foreach_modify(w, &leader->followers)
			{
				CometFetch *f = dlist_container(CometFetch, node, w.cur);

				if (f->batch == b)
					dlist_delete(&f->node);
			}
		}
	}
	drop_bodies(b, &b->done);
	drop_bodies(b, &b->taken);
	dlist_init(&b->queued);
	dlist_init(&b->backoff);
	b->nqueued = 0;
	b->nwaiting = 0;
	b->nbackoff = 0;
	b->ndone = 0;
	b->active = false;
	b->conn->nbatches--;
	dlist_delete(&b->node);
	if (b->api_key)
		explicit_bzero(b->api_key, strlen(b->api_key));
}

void
comet_batch_add(CometBatch *b, CometFetch *f, bool urgent)
{
	f->batch = b;
	f->attempts = 0;
	f->last_status = 0;
	f->last_retry_after = -1;
	f->state = FETCH_QUEUED;
	dlist_init(&f->followers);
	if (urgent)
		dlist_push_head(&b->queued, &f->node);
	else
		dlist_push_tail(&b->queued, &f->node);
	b->nqueued++;
}

void
comet_batch_set_refill(CometBatch *b, bool (*refill) (void *arg), void *arg)
{
	b->refill = refill;
	b->refill_arg = arg;
}

/* The caller is done with a fetch it was given: its body goes. */
void
comet_batch_done_with(CometBatch *b, CometFetch *f)
{
	if (f->state == FETCH_TAKEN)
		dlist_delete(&f->node);
	f->state = FETCH_QUEUED;
	drop_body(b, f);
}

/* The same, and the fetch itself goes (a scan's fetches are palloc'd). */
void
comet_batch_release(CometBatch *b, CometFetch *f)
{
	if (f == NULL)
		return;
	comet_batch_done_with(b, f);
	pfree(f->url);
	pfree(f->request);
	pfree(f);
}

/*
 * The same URL already answered in this statement but not yet cached (a
 * body another scan holds, done or being read): a copy of it, rather than
 * a second request.
 */
static bool
take_from_sibling(CometBatch *b, CometFetch *f)
{
	dlist_iter	it;

	dlist_foreach(it, &active_batches)
	{
		CometBatch *other = dlist_container(CometBatch, node, it.cur);
		dlist_head *lists[2];
		int			i;

		if (other->conn != b->conn)
			continue;
		lists[0] = &other->done;
		lists[1] = &other->taken;
		for (i = 0; i < 2; i++)
		{
			dlist_iter	d;

			dlist_foreach(d, lists[i])
			{
				CometFetch *s = dlist_container(CometFetch, node, d.cur);

				if (s->write || s->body == NULL || !same_read(s, f))
					continue;
				f->body = MemoryContextAllocHuge(b->cxt, s->len + 1);
				memcpy(f->body, s->body, s->len + 1);
				f->len = s->len;
				f->body_palloc = true;
				f->cached = true;	/* its first scan caches it */
				b->held_bytes += (long long) f->len;
				f->state = FETCH_DONE;
				dlist_push_tail(&b->done, &f->node);
				b->ndone++;
				COUNT(b, cache_hits, 1);
				return true;
			}
		}
	}
	return false;
}

/*
 * The same URL already on the wire for this connection (this scan or
 * another of the statement, e.g. both sides of a self-join): wait for it
 * rather than ask twice.
 */
static CometFetch *
find_leader(CometBatch *b, CometFetch *wanted)
{
	dlist_iter	it;

	dlist_foreach(it, &active_batches)
	{
		CometBatch *other = dlist_container(CometBatch, node, it.cur);
		dlist_iter	r;

		if (other->conn != b->conn)
			continue;
		dlist_foreach(r, &other->running)
		{
			CometFetch *f = dlist_container(CometFetch, node, r.cur);

			if (f->state == FETCH_RUNNING && !f->write && same_read(f, wanted))
				return f;
		}
	}
	return NULL;
}

/*
 * A response from the cache, looked up only when the fetch's turn comes,
 * so that a warm scan holds no more bodies at once than a cold one.
 */
static bool
take_from_cache(CometBatch *b, CometFetch *f)
{
	char	   *body;
	size_t		len;
	char	   *key = read_key(b, f);
	bool		found = comet_cache_get(b->serverid, b->umid, key,
										b->opts.cache_ttl_s, &body, &len, b->cxt);

	if (key != f->url)
		pfree(key);
	if (!found)
		return false;
	f->body = body;
	f->len = len;
	f->body_palloc = true;
	b->held_bytes += (long long) len;
	f->cached = true;
	f->state = FETCH_DONE;
	COUNT(b, cache_hits, 1);
	dlist_push_tail(&b->done, &f->node);
	b->ndone++;
	return true;
}

/*
 * The scan calls this once a response has parsed: only then is it worth
 * keeping, a malformed body would otherwise fail every query for
 * cache_ttl_s seconds.
 */
void
comet_batch_keep(CometBatch *b, CometFetch *f)
{
	if (!f->cached)
	{
		char	   *key = read_key(b, f);

		comet_cache_put(b->serverid, b->umid, key, f->body, f->len);
		if (key != f->url)
			pfree(key);
	}
}

/*
 * The same, when nothing will read the fetch's body again (its document
 * parsed a copy): the cache takes the body itself rather than a copy.
 */
void
comet_batch_keep_body(CometBatch *b, CometFetch *f)
{
	char	   *key;

	if (f->cached || f->body == NULL || f->body_palloc)
	{
		comet_batch_keep(b, f);
		return;
	}
	key = read_key(b, f);
	if (comet_cache_adopt(b->serverid, b->umid, key, f->body, f->len))
	{
		b->held_bytes -= (long long) f->len;
		f->body = NULL;
		f->len = 0;
	}
	if (key != f->url)
		pfree(key);
}

/* Replaces the key wherever it might have been echoed back. */
static char *
scrub(CometBatch *b, const char *s)
{
	StringInfoData buf;
	const char *p;
	size_t		klen;

	if (s == NULL)
		return NULL;
	klen = b->api_key ? strlen(b->api_key) : 0;
	if (klen < 4 || strstr(s, b->api_key) == NULL)
		return pstrdup(s);
	initStringInfo(&buf);
	while ((p = strstr(s, b->api_key)) != NULL)
	{
		appendBinaryStringInfo(&buf, s, p - s);
		appendStringInfoString(&buf, "<redacted>");
		s = p + klen;
	}
	appendStringInfoString(&buf, s);
	return buf.data;
}

static void
start_fetch(CometBatch *b, CometFetch *f)
{
	chttp_request req;
	const char *err;

	/* the statement's budget of requests on this user mapping */
	if (b->opts.max_requests > 0)
	{
		CometConn  *c = b->conn;

		if (c->statement != GetCurrentStatementStartTimestamp())
		{
			c->statement = GetCurrentStatementStartTimestamp();
			c->statement_requests = 0;
		}
		if (c->statement_requests >= b->opts.max_requests)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("this statement needs more than max_requests (%d) requests to Comet",
							b->opts.max_requests),
					 errdetail("The next one was %s.", fetch_text(f)),
					 errhint("Filter on experiment_key, project_id or workspace_name and project_name, or raise max_requests on server %s (or its user mapping).",
							 b->servername)));
		c->statement_requests++;
	}

	memset(&req, 0, sizeof(req));
	req.url = f->url;
	req.api_key = b->api_key;
	req.ca_file = b->opts.ca_file;
	req.timeout_ms = b->opts.timeout_ms;
	req.connect_timeout_ms = b->opts.connect_timeout_ms;
	req.max_bytes = b->opts.max_response_bytes;
	req.held = &b->held_bytes;
	req.budget = b->opts.max_response_bytes;
	req.method = f->method;
	req.body = f->body_out;
	req.body_len = f->body_out_len;
	req.no_resend = f->write;

	f->xfer = chttp_start(b->conn->multi, &req, f, &err);
	if (f->xfer == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not start a request to Comet"),
				 errdetail("%s: %s", fetch_text(f), err)));
	f->attempts++;
	f->state = FETCH_RUNNING;
	dlist_push_tail(&b->running, &f->node);
	b->nrunning++;
	/* requests are counted when they end: see release() */
}

static bool
retryable_status(long status)
{
	return status == 429 || status == 500 || status == 502 ||
		status == 503 || status == 504;
}

/*
 * Failures before Comet answered anything: the server was not reached (or
 * TLS refused it).  Retried, and reported as "could not reach".
 */
static bool
unreached(const chttp_result *res)
{
	switch (res->curl_code)
	{
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
			return true;
		case CURLE_OPERATION_TIMEDOUT:
			return !res->connected;
	}
	return false;
}

/*
 * Transport failures worth another attempt: a refused or timed-out connect
 * and a connection that broke mid-way (often a kept-alive connection the
 * server had closed).  A server that accepted the request and then said
 * nothing within timeout_ms is not asked again: that would multiply the
 * wait by max_retries.
 */
static bool
retryable_curl(const chttp_result *res)
{
	switch (res->curl_code)
	{
		case CURLE_COULDNT_CONNECT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
			return true;
		case CURLE_OPERATION_TIMEDOUT:
			return !res->connected;
	}
	return false;
}

/*
 * Text from a server for a message: the key scrubbed out first (a cut
 * could split it past recognition), then shortened on a character boundary.
 * Comet's text is UTF-8; in a database of another encoding, its non-ASCII
 * characters become '?' (a message must never fail to convert).
 */
static char *
server_text(CometBatch *b, const char *s, int maxlen)
{
	char	   *t = scrub(b, s);
	int			len = strlen(t);

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		char	   *p;

		for (p = t; *p; p++)
			if ((unsigned char) *p >= 0x80)
				*p = '?';
	}
	else if (!pg_verifymbstr(t, len, true))
		return pstrdup("(text that is not valid UTF-8)");
	if (len > maxlen)
	{
		len = pg_mbcliplen(t, len, maxlen - 3);
		strcpy(t + len, "...");
	}
	return t;
}

/* Comet's "msg" from an error body, if it is a JSON envelope. */
static char *
comet_msg(CometBatch *b, const char *body, size_t len)
{
	char	   *msg = comet_json_error_msg(body, len);

	if (msg == NULL)
		return NULL;
	return server_text(b, msg, 200);
}

static void
report_http_error(CometBatch *b, CometFetch *f, long status,
				  const char *body, size_t len, const char *location)
{
	char	   *msg = comet_msg(b, body, len);
	char	   *said = msg ? psprintf("; Comet says: %s", msg) : "";
	char	   *req = fetch_text(f);

	COUNT(b, errors, 1);

	if (status == 401 || status == 403)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("Comet rejected the API key (HTTP %ld)", status),
				 errdetail("%s answered HTTP %ld%s", req, status, said),
				 errhint("Check the api_key option of the user mapping of role \"%s\" for server %s.",
						 GetUserNameFromId(b->userid, true) ? GetUserNameFromId(b->userid, true) : "?",
						 b->servername)));
	if (status == 404 && strchr(f->request, '?') == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet has no such object (HTTP 404)"),
				 errdetail("%s answered HTTP 404%s", req, said),
				 errhint("A request that names nothing was not found: the server's url option (%s) must be Comet's REST base, ending in /api/rest/v2.",
						 comet_url_text(b->opts.url))));
	if (status == 404)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet has no such object (HTTP 404)"),
				 errdetail("%s answered HTTP 404%s", req, said),
				 errhint("Check the workspace, project or experiment the query names.")));
	if (status >= 300 && status < 400)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet answered with a redirect (HTTP %ld), which comet_fdw does not follow",
						status),
				 location ?
				 errdetail("%s redirects to %s", req, location) :
				 errdetail("%s redirects", req),
				 errhint("Set the server's url option to the REST base the redirect points to; a redirect is never followed, so the API key is never sent to another host.")));
	if (retryable_status(status))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg_plural("Comet request failed with HTTP %ld after %d attempt",
							   "Comet request failed with HTTP %ld after %d attempts",
							   f->attempts, status, f->attempts),
				 f->last_retry_after >= 0 ?
				 errdetail("%s answered HTTP %ld%s; last Retry-After: %ld s",
						   req, status, said, f->last_retry_after) :
				 errdetail("%s answered HTTP %ld%s", req, status, said),
				 errhint("Comet may be overloaded or rate-limiting; try again later or raise max_retries.")));
	if (status == 400 && msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet rejected the request: %s", msg),
				 errdetail("%s answered HTTP 400", req),
				 errhint("Check the workspace, project or experiment the query names.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("Comet request failed with HTTP %ld", status),
			 errdetail("%s answered HTTP %ld%s", req, status, said)));
}

/* A transport failure, said as what happened. */
static void
report_transport_error(CometBatch *b, CometFetch *f, const chttp_result *res)
{
	char	   *err = server_text(b, res->error, 300);
	char	   *req = fetch_text(f);
	char	   *attempts = f->attempts == 1 ? pstrdup("1 attempt") :
		psprintf("%d attempts", f->attempts);

	COUNT(b, errors, 1);
	if (unreached(res))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not reach Comet at %s", comet_url_text(b->opts.url)),
				 errdetail("%s failed after %s: %s", req, attempts, err),
				 errhint("Check the server's url option and the network.")));
	if (res->curl_code == CURLE_OPERATION_TIMEDOUT)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet did not answer within timeout_ms (%d ms)",
						b->opts.timeout_ms),
				 errdetail("%s: the server accepted the request but sent no complete response (%s).",
						   req, attempts),
				 errhint("Comet may be overloaded; try again later, or raise the server option timeout_ms.")));
	if (res->curl_code == CURLE_PARTIAL_FILE || res->curl_code == CURLE_RECV_ERROR ||
		res->curl_code == CURLE_GOT_NOTHING || res->curl_code == CURLE_SEND_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet response was cut off"),
				 errdetail("%s (HTTP %ld) after %s: %s",
						   req, res->status, attempts, err)));
	if (res->curl_code == CURLE_BAD_CONTENT_ENCODING)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet sent a compressed response that could not be decoded"),
				 errdetail("%s (HTTP %ld): %s", req, res->status, err)));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("Comet's response could not be read"),
			 errdetail("%s (HTTP %ld): %s", req, res->status, err),
			 res->curl_code == CURLE_OUT_OF_MEMORY ?
			 errhint("A response header longer than libcurl accepts gives this error.") : 0));
}

static void
schedule_retry(CometBatch *b, CometFetch *f, long retry_after_s)
{
	long		wait_ms;

	if (retry_after_s >= 0)
		wait_ms = retry_after_s * 1000; /* at most retry_max_wait_ms here */
	else
	{
		double		backoff = (double) comet_retry_base_ms *
			(double) (1 << Min(f->attempts - 1, 10));

		backoff = Min(backoff, 10000.0);
		/* full jitter in the upper half keeps sessions from marching */
		wait_ms = (long) (backoff * (0.5 + 0.5 * pg_prng_double(&pg_global_prng_state)));
	}
	f->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), wait_ms);
	f->state = FETCH_BACKOFF;
	dlist_push_tail(&b->backoff, &f->node);
	b->nbackoff++;
	COUNT(b, retries, 1);
}

/*
 * Fetches waiting on a transfer that just ended: a 200 gives each a copy of
 * the body; anything else sends them back to make their own request.  Done
 * where the transfer ends, whichever scan drove it, so that no scan ever
 * waits on one that is not polling.
 */
static void
serve_followers(CometFetch *f, chttp_xfer *x)
{
	chttp_result res;
	const char *body;
	size_t		len;
	dlist_mutable_iter it;

	if (dlist_is_empty(&f->followers))
		return;
	chttp_get_result(x, &res);
	if (res.curl_code != CURLE_OK || res.status != 200 || res.aborted)
	{
		requeue_followers(f);
		return;
	}
	body = chttp_body(x, &len);
	dlist_foreach_modify(it, &f->followers)
	{
		CometFetch *w = dlist_container(CometFetch, node, it.cur);
		CometBatch *wb = w->batch;

		dlist_delete(&w->node);
		wb->nwaiting--;
		w->body = malloc(len + 1);
		if (w->body == NULL)
		{
			w->state = FETCH_QUEUED;
			dlist_push_head(&wb->queued, &w->node);
			wb->nqueued++;
			continue;
		}
		memcpy(w->body, body, len);
		w->body[len] = '\0';
		w->len = len;
		w->body_palloc = false;
		w->cached = true;		/* its leader's scan caches it */
		wb->held_bytes += (long long) len;
		w->state = FETCH_DONE;
		dlist_push_tail(&wb->done, &w->node);
		wb->ndone++;
		COUNT(wb, cache_hits, 1);
	}
}

static char *
two_sentences(const char *a, const char *b)
{
	return psprintf("%s%s%s", a, *a && *b ? " " : "", b);
}

/*
 * A write that failed: an error naming the request.  What the caller adds
 * (the rows already sent) goes into the detail.
 */
static void
report_write_error(CometBatch *b, CometFetch *f, const chttp_result *res,
				   const char *body, size_t len)
{
	const char *method = f->method ? f->method : "GET";
	char	   *sent = b->write_detail ?
		b->write_detail(b, f, b->write_detail_arg) : NULL;

	if (sent == NULL)
		sent = "";
	COUNT(b, errors, 1);
	if (res->curl_code == CURLE_OK && (res->too_large || res->oom))
	{
		release(b, f);
		ereport(ERROR,
				(errcode(res->oom ? ERRCODE_OUT_OF_MEMORY : ERRCODE_FDW_ERROR),
				 errmsg("Comet's answer to %s %s could not be received whole",
						method, f->request),
				 errdetail("%s", two_sentences("The write may have been applied.", sent))));
	}
	if (res->curl_code == CURLE_OK)
	{
		long		status = res->status;
		char	   *copy = pnstrdup(body, Min(len, 4096));
		char	   *msg = comet_msg(b, copy, strlen(copy));
		bool		auth = status == 401 || status == 403;

		comet_status_errors[Min(status, COMET_MAX_STATUS - 1)]++;
		release(b, f);
		ereport(ERROR,
				(errcode(auth ? ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION :
						 ERRCODE_FDW_ERROR),
				 errmsg("Comet write failed: %s %s answered HTTP %ld",
						method, f->request, status),
				 errdetail("%s", two_sentences(msg ? psprintf("Comet says: %s.", msg) : "",
											   sent)),
				 auth ?
				 errhint("Check the api_key option of the user mapping of role \"%s\" for server %s.",
						 GetUserNameFromId(b->userid, true) ? GetUserNameFromId(b->userid, true) : "?",
						 b->servername) :
				 status >= 500 || status == 429 ?
				 errhint("A write is never retried once it may have reached Comet: check what Comet holds before running the statement again.") :
				 errhint("Check the keys and values the statement writes.")));
	}
	comet_status_errors[0]++;
	{
		char	   *err = server_text(b, res->resend_refused ?
									  "the kept-alive connection closed before any answer" :
									  res->error, 300);

		release(b, f);
		if (res->curl_code == CURLE_COULDNT_CONNECT ||
			res->curl_code == CURLE_COULDNT_RESOLVE_HOST)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not reach Comet at %s", comet_url_text(b->opts.url)),
					 errdetail("%s", two_sentences(psprintf("%s %s was not sent after %d attempts: %s.",
															method, f->request, f->attempts, err),
												   sent)),
					 errhint("Check the server's url option and the network.")));
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("Comet write failed: %s %s: %s", method, f->request, err),
				 errdetail("%s", two_sentences("The request may have reached Comet, so it was not sent again.",
											   sent)),
				 errhint("Check what Comet holds before running the statement again.")));
	}
}

/*
 * A finished write: never retried once it may have reached Comet (a
 * metric point sent twice is two points), so only a failure to connect is.
 */
static void
finish_write(CometBatch *b, CometFetch *f, chttp_result *res)
{
	const char *body;
	size_t		len;

	body = chttp_body(f->xfer, &len);
	if (res->curl_code == CURLE_OK)
		COUNT(b, bytes, len);
	if (res->curl_code == CURLE_OK && !res->too_large && !res->oom &&
		res->status >= 200 && res->status < 300)
	{
		/* the answer changes hands, as a read's does (it stays counted) */
		f->body = chttp_take_body(f->xfer, &f->len);
		f->body_palloc = false;
		release(b, f);
		if (f->body == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while receiving a Comet response")));
		f->state = FETCH_DONE;
		dlist_push_tail(&b->done, &f->node);
		b->ndone++;
		return;
	}
	f->last_status = res->curl_code == CURLE_OK ? res->status : 0;
	if (f->attempts <= b->opts.max_retries &&
		(res->curl_code == CURLE_COULDNT_CONNECT ||
		 res->curl_code == CURLE_COULDNT_RESOLVE_HOST))
	{
		comet_status_errors[0]++;
		release(b, f);
		schedule_retry(b, f, -1);
		return;
	}
	report_write_error(b, f, res, body, len);
}

static void
finish_fetch(CometBatch *b, CometFetch *f)
{
	chttp_result res;
	chttp_xfer *x = f->xfer;
	const char *body;
	size_t		len;

	chttp_get_result(x, &res);
	dlist_delete(&f->node);
	b->nrunning--;

	if (f->write && !res.aborted)
	{
		finish_write(b, f, &res);
		return;
	}

	if (res.aborted || res.curl_code == CURLE_ABORTED_BY_CALLBACK)
	{
		release(b, f);
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling statement due to user request")));
	}

	if (res.too_large || res.over_budget)
	{
		release(b, f);
		COUNT(b, errors, 1);
		if (res.over_budget && !res.too_large)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Comet responses held by one scan exceed max_response_bytes"),
					 errdetail("%s: the responses this scan holds at once passed " INT64_FORMAT " bytes.",
							   fetch_text(f), b->opts.max_response_bytes),
					 errhint("Lower max_concurrency, filter the query further, or raise the server option max_response_bytes.")));
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet response is larger than max_response_bytes"),
				 errdetail("%s sent more than " INT64_FORMAT " bytes.",
						   fetch_text(f), b->opts.max_response_bytes),
				 errhint("Filter the query further, or raise the server option max_response_bytes.")));
	}
	if (res.oom)
	{
		release(b, f);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while receiving a Comet response"),
				 errdetail("%s", fetch_text(f))));
	}

	body = chttp_body(x, &len);
	if (res.curl_code == CURLE_OK)
		COUNT(b, bytes, len);

	if (res.curl_code == CURLE_OK && res.status == 200)
	{
		/* the body changes hands, it is not copied (it stays counted) */
		f->body = chttp_take_body(x, &f->len);
		f->body_palloc = false;
		release(b, f);
		if (f->body == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while receiving a Comet response")));
		/* cached only once it has parsed: see comet_batch_keep() */
		f->state = FETCH_DONE;
		dlist_push_tail(&b->done, &f->node);
		b->ndone++;
		return;
	}

	if (res.curl_code == CURLE_OK)
		comet_status_errors[Min(res.status, COMET_MAX_STATUS - 1)]++;
	else
		comet_status_errors[0]++;
	f->last_status = res.curl_code == CURLE_OK ? res.status : 0;
	if (res.retry_after_s >= 0)
		f->last_retry_after = res.retry_after_s;

	if (f->attempts <= b->opts.max_retries &&
		((res.curl_code == CURLE_OK && retryable_status(res.status)) ||
		 (res.curl_code != CURLE_OK && retryable_curl(&res))))
	{
		/* (Retry-After is clamped by the HTTP layer: no overflow here) */
		if ((double) res.retry_after_s * 1000.0 > (double) comet_retry_max_wait_ms)
		{
			release(b, f);
			COUNT(b, errors, 1);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Comet asked to retry after %ld s, longer than comet_fdw.retry_max_wait_ms",
							res.retry_after_s),
					 errdetail_plural("%s answered HTTP %ld after %d attempt.",
									  "%s answered HTTP %ld after %d attempts.",
									  f->attempts,
									  fetch_text(f), res.status, f->attempts),
					 errhint("Try again later.")));
		}
		release(b, f);
		schedule_retry(b, f, res.retry_after_s);
		return;
	}

	if (res.curl_code != CURLE_OK)
	{
		chttp_result copy = res;

		/* the error text lives in the transfer: copy it first */
		copy.error = pstrdup(res.error ? res.error : "");
		release(b, f);
		report_transport_error(b, f, &copy);
	}

	{
		/* copy what the message needs before the transfer is gone */
		char	   *copy = pnstrdup(body, Min(len, 4096));
		char	   *location = res.redirect_host ? server_text(b, res.redirect_host, 200) : NULL;
		long		status = res.status;

		release(b, f);
		report_http_error(b, f, status, copy, strlen(copy), location);
	}
}

static void
wait_latch(long ms)
{
	int			rc;

	rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
				   Max(ms, 1), PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
		ResetLatch(MyLatch);
}

/* Starts what may start: due retries first, then queued requests. */
static long
top_up(CometBatch *b)
{
	TimestampTz now = GetCurrentTimestamp();
	long		next_retry_ms = -1;
	dlist_mutable_iter it;

	/* finished responses not yet taken count against the limit too, so
	 * that a slow consumer never piles up bodies */
	dlist_foreach_modify(it, &b->backoff)
	{
		CometFetch *f = dlist_container(CometFetch, node, it.cur);

		if (f->retry_at <= now)
		{
			if (b->nrunning >= b->max_inflight ||
				b->nrunning + b->ndone >= 2 * b->max_inflight)
				break;
			dlist_delete(&f->node);
			b->nbackoff--;
			start_fetch(b, f);
		}
		else
		{
			long		ms = (long) ((f->retry_at - now) / 1000) + 1;

			if (next_retry_ms < 0 || ms < next_retry_ms)
				next_retry_ms = ms;
		}
	}
	for (;;)
	{
		CometFetch *f;
		CometFetch *leader;

		if (b->nrunning + b->nwaiting >= b->max_inflight ||
			b->nrunning + b->nwaiting + b->ndone >= 2 * b->max_inflight)
			break;
		/* the scan's listings feed the queue as it empties */
		if (b->nqueued == 0 &&
			(b->refill == NULL || !b->refill(b->refill_arg)))
			break;
		if (dlist_is_empty(&b->queued))
			break;
		f = dlist_container(CometFetch, node, dlist_pop_head_node(&b->queued));
		b->nqueued--;
		/* a write is never answered by another request's response */
		if (!f->write && take_from_cache(b, f))
			continue;
		if (!f->write && take_from_sibling(b, f))
			continue;
		if (!f->write && (leader = find_leader(b, f)) != NULL)
		{
			f->state = FETCH_WAITING;
			dlist_push_tail(&leader->followers, &f->node);
			b->nwaiting++;
			continue;
		}
		start_fetch(b, f);
	}
	return next_retry_ms;
}

/* Lets curl work for up to wait_ms and files what finished. */
static void
drive(CometBatch *b, int wait_ms)
{
	chttp_xfer *x;
	int			running;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	running = chttp_poll(b->conn->multi, wait_ms);
	pgstat_report_wait_end();
	if (running < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("libcurl multi interface failed")));

	while ((x = chttp_next_done(b->conn->multi)) != NULL)
	{
		CometFetch *f = (CometFetch *) chttp_owner(x);

		serve_followers(f, x);
		/* another scan's transfer on the same connection: its owner
		 * handles it (errors and retries belong to that scan) */
		if (f->batch != b)
		{
			dlist_delete(&f->node);
			dlist_push_tail(&f->batch->finished, &f->node);
			continue;
		}
		finish_fetch(b, f);
	}
	/* time spent waiting for Comet, not the sum over parallel requests */
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	COUNT(b, http_ms, INSTR_TIME_GET_MILLISEC(elapsed));
}

/*
 * A turn of curl that does not wait, between the rows of a long response:
 * without it a body larger than the socket buffers stalls until the scan
 * asks for its next response, and transfers move only between documents.
 */
void
comet_batch_pump(CometBatch *b)
{
	if (b->nrunning == 0)
		return;
	drive(b, 0);
	top_up(b);
}

/* The fetch comet_batch_next() would return now without waiting, or NULL. */
CometFetch *
comet_batch_peek(CometBatch *b)
{
	if (dlist_is_empty(&b->done))
		return NULL;
	return dlist_container(CometFetch, node, dlist_head_node(&b->done));
}

/*
 * The next finished fetch of the batch, NULL when it has nothing left.
 * Keeps max_concurrency requests in flight while the scan decodes, but
 * starts nothing the scan has not asked for rows past, so LIMIT stops
 * requests.  The scan gives the fetch back with comet_batch_release().
 */
CometFetch *
comet_batch_next(CometBatch *b)
{
	for (;;)
	{
		long		next_retry_ms;

		CHECK_FOR_INTERRUPTS();

		/* transfers that finished while another scan drove the handle */
		while (!dlist_is_empty(&b->finished))
			finish_fetch(b, dlist_container(CometFetch, node,
											dlist_head_node(&b->finished)));

		next_retry_ms = top_up(b);

		if (!dlist_is_empty(&b->done))
		{
			CometFetch *f;

			/* a quick turn of curl first: freed slots refill at once */
			if (b->nrunning > 0)
			{
				drive(b, 0);
				top_up(b);
			}
			f = dlist_container(CometFetch, node, dlist_pop_head_node(&b->done));
			b->ndone--;
			f->state = FETCH_TAKEN;
			dlist_push_tail(&b->taken, &f->node);
			return f;
		}

		if (b->nrunning == 0)
		{
			/* waiting on another scan's transfer: drive the handle for it */
			if (b->nwaiting > 0)
			{
				drive(b, POLL_MS);
				continue;
			}
			if (dlist_is_empty(&b->backoff))
				return NULL;
			pgstat_report_wait_start(PG_WAIT_EXTENSION);
			wait_latch(Min(next_retry_ms, POLL_MS));
			pgstat_report_wait_end();
			continue;
		}
		drive(b, (next_retry_ms >= 0 && next_retry_ms < POLL_MS) ?
			  (int) next_retry_ms : POLL_MS);
	}
}
