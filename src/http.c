/*-------------------------------------------------------------------------
 *
 * http.c
 *		libcurl transfers for comet_fdw, with no PostgreSQL dependency.
 *
 * One chttp_multi per user mapping holds the connection pool (keep-alive,
 * TLS sessions, DNS cache) across statements.  Transfers report through
 * chttp_result; callbacks only copy bytes and set flags, because an error
 * raised inside a curl callback would longjmp over libcurl's frames.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"

#define CHTTP_POOL_MAX		32
#define CHTTP_USER_AGENT	"comet_fdw/1.0"

struct chttp_xfer
{
	CURL	   *easy;
	struct curl_slist *headers;
	void	   *owner;
	char	   *body;
	size_t		len;
	size_t		cap;
	long long	max_bytes;
	long long  *held;			/* the owner's byte count, or NULL */
	long long	budget;
	bool		over_budget;
	bool		too_large;
	bool		oom;
	bool		aborted;
	bool		done;
	int			sent;			/* requests put on the wire, resends included */
	bool		no_resend;
	bool		resend_refused;
	CURLcode	code;
	long		retry_after_s;
	char		location[256];
	char		errbuf[CURL_ERROR_SIZE];
};

struct chttp_multi
{
	CURLM	   *multi;
	CURL	   *pool[CHTTP_POOL_MAX];	/* idle easy handles, reset */
	int			npool;
};

static chttp_abort_check abort_check = NULL;

bool
chttp_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK;
}

const char *
chttp_version(void)
{
	return curl_version();
}

void
chttp_set_abort_check(chttp_abort_check fn)
{
	abort_check = fn;
}

chttp_multi *
chttp_multi_new(void)
{
	chttp_multi *m = calloc(1, sizeof(chttp_multi));

	if (m == NULL)
		return NULL;
	m->multi = curl_multi_init();
	if (m->multi == NULL)
	{
		free(m);
		return NULL;
	}
	/* HTTP/2 multiplexing where the server offers it (default, made explicit) */
	curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
	return m;
}

void
chttp_multi_free(chttp_multi *m)
{
	int			i;

	if (m == NULL)
		return;
	for (i = 0; i < m->npool; i++)
		curl_easy_cleanup(m->pool[i]);
	curl_multi_cleanup(m->multi);
	free(m);
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	chttp_xfer *x = (chttp_xfer *) userdata;
	size_t		n = size * nmemb;

	if (x->max_bytes > 0 && (long long) (x->len + n) > x->max_bytes)
	{
		x->too_large = true;
		return 0;				/* makes curl fail with CURLE_WRITE_ERROR */
	}
	if (x->held != NULL && *x->held + (long long) n > x->budget)
	{
		x->over_budget = true;
		return 0;
	}
	if (x->len + n + 1 > x->cap)
	{
		size_t		newcap = x->cap ? x->cap : 16384;
		char	   *nb;
		curl_off_t	cl = -1;

		/*
		 * The announced length, when it is within bounds: one allocation
		 * instead of a dozen copies while the body doubles (pages not
		 * written are no memory, whatever a server announces).
		 */
		if (x->cap == 0 &&
			curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
			cl > 0 && (x->max_bytes <= 0 || cl <= x->max_bytes) &&
			(size_t) cl + 1 > newcap)
			newcap = (size_t) cl + 1;

		while (newcap < x->len + n + 1)
			newcap *= 2;
		nb = realloc(x->body, newcap);
		if (nb == NULL)
		{
			x->oom = true;
			return 0;
		}
		x->body = nb;
		x->cap = newcap;
	}
	memcpy(x->body + x->len, ptr, n);
	x->len += n;
	x->body[x->len] = '\0';
	if (x->held != NULL)
		*x->held += (long long) n;
	return n;
}

/* Remembers Retry-After and the host of a Location; never the whole header. */
static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	chttp_xfer *x = (chttp_xfer *) userdata;
	size_t		n = size * nitems;
	char		val[128];
	size_t		vlen;
	const char *p;
	bool		is_location;

	if (n > 12 && strncasecmp(buf, "retry-after:", 12) == 0)
		p = buf + 12;
	else if (n > 9 && strncasecmp(buf, "location:", 9) == 0)
		p = buf + 9;
	else
		return n;
	is_location = (tolower((unsigned char) buf[0]) == 'l');

	while (p < buf + n && (*p == ' ' || *p == '\t'))
		p++;
	vlen = (buf + n) - p;
	while (vlen > 0 && (p[vlen - 1] == '\r' || p[vlen - 1] == '\n' ||
						p[vlen - 1] == ' '))
		vlen--;

	if (is_location)
	{
		/*
		 * Keep scheme://host only, and only whole: a cut could split a key
		 * placed in the host past recognition.  No user info, no path.
		 */
		const char *s = memmem(p, vlen, "://", 3);
		const char *h,
				   *e;
		size_t		keep;

		x->location[0] = '\0';
		if (s == NULL)
			return n;
		h = s + 3;
		for (e = h; e < p + vlen && *e != '/' && *e != '?' && *e != '#'; e++)
			if (*e == '@')
				h = e + 1;		/* drop user:password@ */
		keep = (size_t) (s + 3 - p) + (size_t) (e - h);
		if (keep >= sizeof(x->location) || (size_t) (s - p) > 16)
		{
			strcpy(x->location, "(a location too long to show)");
			return n;
		}
		memcpy(x->location, p, (size_t) (s + 3 - p));
		memcpy(x->location + (s + 3 - p), h, (size_t) (e - h));
		x->location[keep] = '\0';
		return n;
	}

	if (vlen >= sizeof(val))
		vlen = sizeof(val) - 1;
	memcpy(val, p, vlen);
	val[vlen] = '\0';

	{
		char	   *end;
		long		secs;

		/* clamped here, so that no caller's arithmetic can overflow */
		errno = 0;
		secs = strtol(val, &end, 10);
		if (end != val && *end == '\0' && secs >= 0)
			x->retry_after_s = (errno == ERANGE || secs > CHTTP_MAX_RETRY_AFTER_S) ?
				CHTTP_MAX_RETRY_AFTER_S : secs;
		else
		{
			time_t		when = curl_getdate(val, NULL);

			if (when >= 0)
			{
				time_t		now = time(NULL);

				x->retry_after_s = when <= now ? 0 :
					(when - now > CHTTP_MAX_RETRY_AFTER_S) ? CHTTP_MAX_RETRY_AFTER_S :
					(long) (when - now);
			}
		}
	}
	return n;
}

static int
xferinfo_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	chttp_xfer *x = (chttp_xfer *) clientp;

	(void) dltotal;
	(void) dlnow;
	(void) ultotal;
	(void) ulnow;
	if (abort_check != NULL && abort_check())
	{
		x->aborted = true;
		return 1;
	}
	return 0;
}

/*
 * Called each time a request is about to go on the wire: libcurl resends a
 * GET by itself when a reused connection turns out to be closed, and every
 * request the server sees must be counted.
 */
static int
prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
		  int conn_primary_port, int conn_local_port)
{
	chttp_xfer *x = (chttp_xfer *) clientp;

	(void) conn_primary_ip;
	(void) conn_local_ip;
	(void) conn_primary_port;
	(void) conn_local_port;

	/*
	 * libcurl resends a request when a reused connection gives no answer at
	 * all; the first one may still have reached the server, and a write
	 * must not be applied twice.
	 */
	if (x->no_resend && x->sent > 0)
	{
		x->resend_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	x->sent++;
	return CURL_PREREQFUNC_OK;
}

static void
xfer_free(chttp_multi *m, chttp_xfer *x, bool reuse_handle)
{
	if (x->easy != NULL)
	{
		if (reuse_handle && m != NULL && m->npool < CHTTP_POOL_MAX)
		{
			curl_easy_reset(x->easy);
			m->pool[m->npool++] = x->easy;
		}
		else
			curl_easy_cleanup(x->easy);
	}
	if (x->headers)
		curl_slist_free_all(x->headers);
	/* a body nobody took is no longer held */
	if (x->body != NULL && x->held != NULL)
		*x->held -= (long long) x->len;
	free(x->body);
	free(x);
}

static bool
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f || *s == ' ')
			return true;
	return false;
}

chttp_xfer *
chttp_start(chttp_multi *m, const chttp_request *req, void *owner,
			const char **err)
{
	chttp_xfer *x;
	CURL	   *e;
	char	   *auth;
	size_t		authlen;
	struct curl_slist *h;
	CURLcode	rc = CURLE_OK;

	*err = NULL;
	/*
	 * A control character would end the header (or the request line) it is
	 * sent in and start another: refused here whatever the caller checked.
	 */
	if (has_control(req->api_key))
	{
		*err = "the API key contains a control character";
		return NULL;
	}
	if (has_control(req->url))
	{
		*err = "the URL contains a control character or a space";
		return NULL;
	}
	x = calloc(1, sizeof(chttp_xfer));
	if (x == NULL)
	{
		*err = "out of memory";
		return NULL;
	}
	x->owner = owner;
	x->max_bytes = req->max_bytes;
	x->held = req->held;
	x->budget = req->budget;
	x->retry_after_s = -1;
	x->no_resend = req->no_resend;

	if (m->npool > 0)
		e = m->pool[--m->npool];
	else
		e = curl_easy_init();
	if (e == NULL)
	{
		free(x);
		*err = "could not create a curl handle";
		return NULL;
	}
	x->easy = e;

	authlen = strlen(req->api_key) + sizeof("Authorization: ");
	auth = malloc(authlen);
	if (auth == NULL)
	{
		xfer_free(m, x, true);
		*err = "out of memory";
		return NULL;
	}
	snprintf(auth, authlen, "Authorization: %s", req->api_key);
	h = curl_slist_append(NULL, auth);
	/* the slist keeps its own copy: wipe ours */
	memset(auth, 0, authlen);
	free(auth);
	if (h != NULL)
		x->headers = h;
	if (h != NULL)
		h = curl_slist_append(x->headers, "Accept: application/json");
	/* no "Expect: 100-continue" wait before a larger body */
	if (h != NULL && req->body != NULL)
		h = curl_slist_append(x->headers, "Content-Type: application/json");
	if (h != NULL && req->body != NULL)
		h = curl_slist_append(x->headers, "Expect:");
	if (h == NULL)
	{
		xfer_free(m, x, true);
		*err = "out of memory";
		return NULL;
	}

#define SETOPT(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)

	SETOPT(CURLOPT_URL, req->url);
	SETOPT(CURLOPT_HTTPGET, 1L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);	/* the backend owns SIGALRM */
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L); /* a redirect must not carry the key */
	SETOPT(CURLOPT_HTTPHEADER, x->headers);
	SETOPT(CURLOPT_USERAGENT, CHTTP_USER_AGENT);
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL && req->ca_file[0] != '\0')
		SETOPT(CURLOPT_CAINFO, req->ca_file);
	SETOPT(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	if (req->max_bytes > 0)
		SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) req->max_bytes);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	/* a megabyte of metric points in a few reads, not seventy */
	SETOPT(CURLOPT_BUFFERSIZE, 256L * 1024);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, x);
	SETOPT(CURLOPT_NOPROGRESS, 0L);
	SETOPT(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	SETOPT(CURLOPT_XFERINFODATA, x);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_PREREQFUNCTION, prereq_cb);
	SETOPT(CURLOPT_PREREQDATA, x);
	SETOPT(CURLOPT_PRIVATE, x);
	if (req->method != NULL && strcmp(req->method, "GET") != 0)
	{
		if (strcmp(req->method, "POST") == 0)
			SETOPT(CURLOPT_POST, 1L);
		else
			SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
		/* the size first: COPYPOSTFIELDS copies that many bytes */
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE,
			   (curl_off_t) (req->body ? req->body_len : 0));
		SETOPT(CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
	}
#undef SETOPT

	if (rc != CURLE_OK)
	{
		*err = curl_easy_strerror(rc);
		xfer_free(m, x, false);
		return NULL;
	}
	if (curl_multi_add_handle(m->multi, e) != CURLM_OK)
	{
		*err = "could not add a transfer to the curl multi handle";
		xfer_free(m, x, false);
		return NULL;
	}
	return x;
}

int
chttp_poll(chttp_multi *m, int wait_ms)
{
	int			running = 0;

	if (curl_multi_perform(m->multi, &running) != CURLM_OK)
		return -1;
	if (running > 0 && wait_ms > 0)
	{
		if (curl_multi_poll(m->multi, NULL, 0, wait_ms, NULL) != CURLM_OK)
			return -1;
		if (curl_multi_perform(m->multi, &running) != CURLM_OK)
			return -1;
	}
	return running;
}

chttp_xfer *
chttp_next_done(chttp_multi *m)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL)
	{
		chttp_xfer *x = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
		if (x == NULL)
			continue;
		x->code = msg->data.result;
		x->done = true;
		return x;
	}
	return NULL;
}

void *
chttp_owner(chttp_xfer *x)
{
	return x->owner;
}

int
chttp_sent(chttp_xfer *x)
{
	return x ? x->sent : 0;
}

void
chttp_get_result(chttp_xfer *x, chttp_result *res)
{
	long		status = 0;
	double		secs = 0;
	curl_off_t	connect_us = 0;

	memset(res, 0, sizeof(*res));
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &secs);
	curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	res->connected = connect_us > 0 || x->sent > 0;
	res->curl_code = x->done ? (int) x->code : (int) CURLE_ABORTED_BY_CALLBACK;
	res->status = status;
	res->seconds = secs;
	res->too_large = x->too_large ||
		(x->done && x->code == CURLE_FILESIZE_EXCEEDED);
	res->over_budget = x->over_budget;
	res->aborted = x->aborted;
	res->oom = x->oom;
	res->retry_after_s = x->retry_after_s;
	res->redirect_host = x->location[0] ? x->location : NULL;
	res->resend_refused = x->resend_refused;
	if (res->curl_code != CURLE_OK)
		res->error = x->errbuf[0] ? x->errbuf :
			curl_easy_strerror((CURLcode) res->curl_code);
}

const char *
chttp_body(chttp_xfer *x, size_t *len)
{
	*len = x->len;
	return x->body ? x->body : "";
}

char *
chttp_take_body(chttp_xfer *x, size_t *len)
{
	char	   *b = x->body;

	*len = x->len;
	x->body = NULL;
	x->len = 0;
	x->cap = 0;
	if (b == NULL)
	{
		/* an empty body: still the caller's to free */
		b = malloc(1);
		if (b != NULL)
			b[0] = '\0';
	}
	return b;
}

void
chttp_release(chttp_multi *m, chttp_xfer *x)
{
	if (x == NULL)
		return;
	if (m != NULL && x->easy != NULL)
		curl_multi_remove_handle(m->multi, x->easy);
	/* a transfer cut off mid-way leaves its connection closed by curl */
	xfer_free(m, x, m != NULL);
}
