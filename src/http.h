/*-------------------------------------------------------------------------
 *
 * http.h
 *		The libcurl half of comet_fdw.
 *
 * Nothing here includes a PostgreSQL header and nothing here can raise a
 * PostgreSQL error: a longjmp through libcurl would leave its state
 * corrupt.  Every function reports through return values and chttp_result;
 * connection.c turns those into ereports once curl has returned.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMET_HTTP_H
#define COMET_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct chttp_multi chttp_multi;
typedef struct chttp_xfer chttp_xfer;

/*
 * Everything one request needs; strings are only read during chttp_start
 * (the body is copied).  A zeroed method, body and no_resend make a GET.
 */
typedef struct chttp_request
{
	const char *url;
	const char *api_key;		/* sent as "Authorization: <key>" */
	const char *ca_file;		/* NULL: the system's CA store */
	long		timeout_ms;
	long		connect_timeout_ms;
	long long	max_bytes;		/* larger bodies abort the transfer */
	/*
	 * Bytes held by the transfer's owner, this body included while it
	 * grows; more than budget aborts the transfer (over_budget).  NULL: no
	 * shared budget.
	 */
	long long  *held;
	long long	budget;
	const char *method;			/* NULL or "GET": GET; else e.g. "POST" */
	const char *body;			/* sent as application/json; NULL: none */
	size_t		body_len;
	bool		no_resend;		/* fail rather than let libcurl send the
								 * request again on a reused connection */
} chttp_request;

typedef struct chttp_result
{
	int			curl_code;		/* CURLcode; 0 = transfer completed */
	long		status;			/* HTTP status, 0 if none was received */
	bool		too_large;		/* body passed max_bytes */
	bool		over_budget;	/* the owner's bodies together passed budget */
	bool		connected;		/* a connection to the server was made */
	bool		aborted;		/* the abort check asked us to stop */
	bool		oom;			/* malloc failed while receiving */
	long		retry_after_s;	/* Retry-After in seconds, -1 if absent */
	double		seconds;		/* total transfer time */
	const char *error;			/* curl's message for curl_code (static or
								 * owned by the transfer) */
	const char *redirect_host;	/* Location of a 3xx, only scheme+host */
	bool		resend_refused; /* no_resend stopped libcurl's own resend */
} chttp_result;

/* Returns nonzero when the transfer must stop (query cancel, die). */
typedef int (*chttp_abort_check) (void);

extern bool chttp_global_init(void);
extern const char *chttp_version(void);
extern void chttp_set_abort_check(chttp_abort_check fn);

extern chttp_multi *chttp_multi_new(void);
extern void chttp_multi_free(chttp_multi *m);

/* Starts a request; NULL on allocation or setup failure (message in *err). */
extern chttp_xfer *chttp_start(chttp_multi *m, const chttp_request *req,
							   void *owner, const char **err);

/*
 * Drives all transfers of the multi handle, waiting at most wait_ms for
 * activity.  Returns the number still running, or -1 on a multi error.
 */
extern int	chttp_poll(chttp_multi *m, int wait_ms);

/* A finished transfer (in completion order) or NULL. */
extern chttp_xfer *chttp_next_done(chttp_multi *m);

extern void *chttp_owner(chttp_xfer *x);
extern int	chttp_sent(chttp_xfer *x);	/* requests sent so far */
extern void chttp_get_result(chttp_xfer *x, chttp_result *res);
extern const char *chttp_body(chttp_xfer *x, size_t *len);

/*
 * Hands the body (malloc'd, NUL-terminated) over to the caller, who frees
 * it; the bytes stay counted in *held until the caller says otherwise.
 */
extern char *chttp_take_body(chttp_xfer *x, size_t *len);

/* Longest Retry-After kept, in seconds: more is clamped (about 31 years). */
#define CHTTP_MAX_RETRY_AFTER_S 1000000000L

/* Detaches and frees a transfer, finished or not; the connection stays. */
extern void chttp_release(chttp_multi *m, chttp_xfer *x);

#endif							/* COMET_HTTP_H */
