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
};

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
	if (c->invalid && c->nbatches == 0 && c->multi != NULL)
	{
		chttp_multi_free(c->multi);
		c->multi = NULL;
	}
	if (c->multi == NULL)
	{
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
	b->servername = pstrdup(server->servername);
	b->max_inflight = b->opts.max_concurrency;
	dlist_init(&b->queued);
	dlist_init(&b->running);
	dlist_init(&b->finished);
	dlist_init(&b->backoff);
	dlist_init(&b->done);
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
			release(b, f);
			f->state = FETCH_QUEUED;
		}
	}
	b->nrunning = 0;
}

/* Stops everything of the batch; safe to call more than once. */
void
comet_batch_cancel(CometBatch *b)
{
	if (!b->active)
		return;
	batch_release_transfers(b);
	dlist_init(&b->queued);
	dlist_init(&b->backoff);
	dlist_init(&b->done);
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
	if (urgent)
		dlist_push_head(&b->queued, &f->node);
	else
		dlist_push_tail(&b->queued, &f->node);
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

	if (!comet_cache_get(b->serverid, b->umid, f->url, b->opts.cache_ttl_s,
						 &body, &len, b->cxt))
		return false;
	f->body = body;
	f->len = len;
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
		comet_cache_put(b->serverid, b->umid, f->url, f->body, f->len);
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

	memset(&req, 0, sizeof(req));
	req.url = f->url;
	req.api_key = b->api_key;
	req.ca_file = b->opts.ca_file;
	req.timeout_ms = b->opts.timeout_ms;
	req.connect_timeout_ms = b->opts.connect_timeout_ms;
	req.max_bytes = b->opts.max_response_bytes;
	req.method = f->method;
	req.body = f->body_out;
	req.body_len = f->body_out_len;
	req.no_resend = f->write;

	f->xfer = chttp_start(b->conn->multi, &req, f, &err);
	if (f->xfer == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not start a request to Comet"),
				 errdetail("GET %s: %s", f->request, err)));
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

static bool
retryable_curl(int code)
{
	switch (code)
	{
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
			return true;
	}
	return false;
}

/*
 * Text from a server for a message: the key scrubbed out first (a cut
 * could split it past recognition), then shortened on a character boundary.
 */
static char *
server_text(CometBatch *b, const char *s, int maxlen)
{
	char	   *t = scrub(b, s);
	int			len = strlen(t);

	if (!pg_verifymbstr(t, len, true))
		return pstrdup("(text that is not valid in the database encoding)");
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

	COUNT(b, errors, 1);

	if (status == 401 || status == 403)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("Comet rejected the API key (HTTP %ld)", status),
				 errdetail("GET %s answered HTTP %ld%s", f->request, status, said),
				 errhint("Check the api_key option of the user mapping for server %s.",
						 b->servername)));
	if (status == 404)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet has no such object (HTTP 404)"),
				 errdetail("GET %s answered HTTP 404%s", f->request, said),
				 errhint("Check the workspace, project or experiment the query names.")));
	if (status >= 300 && status < 400)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet answered with a redirect (HTTP %ld), which comet_fdw does not follow",
						status),
				 location ?
				 errdetail("GET %s redirects to %s", f->request, location) :
				 errdetail("GET %s redirects", f->request),
				 errhint("Set the server's url option to the REST base the redirect points to; a redirect is never followed, so the API key is never sent to another host.")));
	if (retryable_status(status))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet request failed with HTTP %ld after %d attempts",
						status, f->attempts),
				 f->last_retry_after >= 0 ?
				 errdetail("GET %s answered HTTP %ld%s; last Retry-After: %ld s",
						   f->request, status, said, f->last_retry_after) :
				 errdetail("GET %s answered HTTP %ld%s", f->request, status, said),
				 errhint("Comet may be overloaded or rate-limiting; try again later or raise max_retries.")));
	if (status == 400 && msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet rejected the request: %s", msg),
				 errdetail("GET %s answered HTTP 400", f->request),
				 errhint("Check the workspace, project or experiment the query names.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("Comet request failed with HTTP %ld", status),
			 errdetail("GET %s answered HTTP %ld%s", f->request, status, said)));
}

static void
schedule_retry(CometBatch *b, CometFetch *f, long retry_after_s)
{
	long		wait_ms;

	if (retry_after_s >= 0)
		wait_ms = retry_after_s * 1000;
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
				 errhint("Check the api_key option of the user mapping for server %s.",
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
					 errmsg("could not reach Comet at %s", b->opts.url),
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
		f->body = MemoryContextAllocHuge(b->cxt, len + 1);
		memcpy(f->body, body, len);
		f->body[len] = '\0';
		f->len = len;
		release(b, f);
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

	if (res.too_large)
	{
		release(b, f);
		COUNT(b, errors, 1);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet response is larger than max_response_bytes"),
				 errdetail("GET %s sent more than " INT64_FORMAT " bytes.",
						   f->request, b->opts.max_response_bytes),
				 errhint("Filter the query further, or raise the server option max_response_bytes.")));
	}
	if (res.oom)
	{
		release(b, f);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while receiving a Comet response"),
				 errdetail("GET %s", f->request)));
	}

	body = chttp_body(x, &len);
	if (res.curl_code == CURLE_OK)
		COUNT(b, bytes, len);

	if (res.curl_code == CURLE_OK && res.status == 200)
	{
		f->body = MemoryContextAllocHuge(b->cxt, len + 1);
		memcpy(f->body, body, len);
		f->body[len] = '\0';
		f->len = len;
		release(b, f);
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
		 (res.curl_code != CURLE_OK && retryable_curl(res.curl_code))))
	{
		if (res.retry_after_s * 1000L > comet_retry_max_wait_ms)
		{
			release(b, f);
			COUNT(b, errors, 1);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Comet asked to retry after %ld s, longer than comet_fdw.retry_max_wait_ms",
							res.retry_after_s),
					 errdetail("GET %s answered HTTP %ld after %d attempts.",
							   f->request, res.status, f->attempts),
					 errhint("Try again later.")));
		}
		release(b, f);
		schedule_retry(b, f, res.retry_after_s);
		return;
	}

	if (res.curl_code != CURLE_OK)
	{
		char	   *err = server_text(b, res.error, 300);
		long		status = res.status;

		release(b, f);
		COUNT(b, errors, 1);
		if (res.curl_code == CURLE_PARTIAL_FILE ||
			res.curl_code == CURLE_RECV_ERROR)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Comet response was cut off"),
					 errdetail("GET %s (HTTP %ld) after %d attempts: %s",
							   f->request, status, f->attempts, err)));
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not reach Comet at %s", b->opts.url),
				 errdetail("GET %s failed after %d attempts: %s",
						   f->request, f->attempts, err),
				 errhint("Check the server's url option and the network.")));
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
	while (b->nrunning < b->max_inflight &&
		   b->nrunning + b->ndone < 2 * b->max_inflight &&
		   !dlist_is_empty(&b->queued))
	{
		CometFetch *f = dlist_container(CometFetch, node,
										dlist_pop_head_node(&b->queued));

		if (!take_from_cache(b, f))
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
 * The next finished fetch of the batch, NULL when it has nothing left.
 * Keeps max_concurrency requests in flight while the scan decodes, but
 * starts nothing the scan has not asked for rows past, so LIMIT stops
 * requests.
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
			return f;
		}

		if (b->nrunning == 0)
		{
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
