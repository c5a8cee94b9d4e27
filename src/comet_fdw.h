/*-------------------------------------------------------------------------
 *
 * comet_fdw.h
 *		Shared declarations of the PostgreSQL half of comet_fdw.
 *
 * The endpoint catalogue (endpoints.c) is data; pushdown.c turns quals into
 * key expressions at plan time; scan.c walks Comet's object tree
 * (workspace > project > experiment > metric) at run time; connection.c
 * drives libcurl through http.h; jsonrow.c parses JSON and convert.c makes
 * Datums of it; cache.c keeps raw response bodies; modify.c turns INSERT and
 * UPDATE into Comet's write requests.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMET_FDW_H
#define COMET_FDW_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
/* PostgreSQL 18 moved ExplainState and the ExplainProperty*() functions out of explain.h */
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "fmgr.h"
#include "foreign/foreign.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "nodes/pg_list.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#define COMET_FDW_VERSION "1.1"
#define COMET_DEFAULT_URL "https://www.comet.com/api/rest/v2"

/* ---------------------------------------------------------------------
 * Endpoint catalogue
 * --------------------------------------------------------------------- */

/*
 * The slots of a request context: what is known about the object a request
 * is about.  A level is the deepest object a request needs.
 */
typedef enum CometSlot
{
	SLOT_WORKSPACE = 0,
	SLOT_PROJECT_NAME,
	SLOT_PROJECT_ID,
	SLOT_EXPERIMENT,
	SLOT_METRIC,
	COMET_NSLOTS
} CometSlot;

/*
 * Keys that are no node of the tree but parameters of one request (an
 * asset id, a model name) take the context slots after the tree's: a
 * column with conv CONV_SLOT and slot COMET_PARAM_SLOT(i) is such a key, and
 * its field is the query parameter that carries it.
 */
#define COMET_MAX_PARAMS	2
#define COMET_NKEYS			(COMET_NSLOTS + COMET_MAX_PARAMS)
#define COMET_PARAM_SLOT(i)	(COMET_NSLOTS + (i))
#define COMET_IS_PARAM_SLOT(s)	((s) >= COMET_NSLOTS)

typedef enum CometLevel
{
	LEVEL_NONE = 0,				/* needs nothing: workspaces */
	LEVEL_WORKSPACE,			/* workspaceName */
	LEVEL_PROJECT,				/* projectId, or workspaceName+projectName */
	LEVEL_EXPERIMENT,			/* experimentKey */
	LEVEL_METRIC				/* experimentKey+metricName */
} CometLevel;

typedef enum CometConv
{
	CONV_FIELD = 0,				/* a field of the row object, by column type */
	CONV_SLOT,					/* from the request context */
	CONV_ELEMENT,				/* the row itself (lists of strings) */
	CONV_ROW,					/* the whole row object (jsonb) */
	CONV_DURATION,				/* end - start; while running, now - start */
	CONV_RUNNING,				/* the flag, else: started and not ended */
	CONV_FLAG,					/* a flag Comet may leave out when false */
	CONV_ROOT,					/* a field of the object that holds the list */
	CONV_BODY,					/* the whole response body (raw_body endpoints) */
	CONV_VALUE					/* a value Comet sends as a number or a
								 * string: finite numbers, else NULL */
} CometConv;

typedef struct CometColumn
{
	const char *name;
	const char *field;			/* JSON field; "a|b" reads b when a is absent,
								 * "a.b" field b of object a */
	Oid			type;
	CometConv	conv;
	int			slot;			/* key column for this slot, or -1 */
	const char *comment;
	bool		required;		/* a key the query must give (=, IN, a join):
								 * without it the scan raises, not walks */
} CometColumn;

/*
 * A pushable filter that is not a context slot: one request per value
 * (archived=true/false, asset type).  With no filter, one request per
 * default; a NULL default means "omit the parameter".
 */
typedef struct CometVariant
{
	const char *column;
	const char *param;
	int			ndefaults;
	const char *defaults[2];
} CometVariant;

/*
 * Rows nested in an answer about many objects at once: list_key names an
 * object keyed by the key_slot values asked for; each member holds the list
 * member_list, whose elements give one row per index of their parallel
 * arrays (jsonrow.h: jr_options.members).  A column whose field is one of
 * the parallel arrays reads element i; other columns read the element.
 */
typedef struct CometNested
{
	int			key_slot;		/* what the member names are */
	const char *member_list;
	const char *parallel[8];	/* NULL-terminated */
	const char *element_name;	/* field naming an element, for messages */
} CometNested;

/*
 * A read sent as a POST that asks about many contexts at once (reads are
 * idempotent: retried and cached like GETs).  Its JSON body holds the
 * contexts' key_slot values under keys_field, the names (values of the
 * slot below) under names_field, and the members in fixed.  A request
 * holds at most max_keys keys and max_pairs keys x names.  Without names
 * in the query, a project's names come from the endpoint names_by_project
 * (its rows whose names_where field has the given value).
 */
typedef struct CometPost
{
	const char *keys_field;
	const char *names_field;
	const char *fixed;
	int			max_keys;
	int			max_pairs;
	const char *names_by_project;
	const char *names_where[2]; /* field, value */
} CometPost;

/*
 * Server-side search (POST project/query) that can narrow a fan-out over a
 * project's experiments: a query with name_column = N AND value_column = V
 * (for tags: value_column = V) keeps only rows of experiments whose
 * source N equals V, so only the experiments Comet finds need fetching.
 * typed: the rule's type comes from project/column-names.
 */
typedef struct CometSearch
{
	const char *source;			/* "params", "tag" */
	const char *name_column;	/* NULL: the value is the name (tags) */
	const char *value_column;
	bool		typed;
} CometSearch;

/* POSTs that gather many contexts into one request (metric_chart) */
#define COMET_BATCHED(ep) ((ep)->post != NULL && (ep)->nested != NULL)

typedef struct CometEndpoint
{
	const char *name;			/* table name and "endpoint" option value */
	const char *path;			/* REST path below the base URL */
	const char *fixed_query;	/* always appended, e.g. "type=image" */
	const char *list_key;		/* JSON key of the rows; NULL: one object */
	bool		scalar_rows;	/* rows are strings, not objects */
	bool		sort_points;	/* order rows by offset, step, timestamp */
	CometLevel	level;
	const char *by_key;			/* endpoint that fetches one object when the
								 * level below is keyed (project, metadata) */
	const CometVariant *variant;
	const CometColumn *cols;
	int			ncols;
	bool		internal;		/* not imported by IMPORT FOREIGN SCHEMA */
	double		rows_per_request;
	const char *comment;
	bool		list_optional;	/* the list is an optional field of an
								 * object: missing or null is no rows */
	/* a slot's query parameter where it is not the usual one (NULL: usual) */
	const char *slot_param[COMET_NSLOTS];
	bool		raw_body;		/* the body is a value (bytes), not JSON rows:
								 * one row per response */
	const char *none_field;		/* raw_body: a JSON object with this field is
								 * Comet saying "there is none": NULL */
	const CometNested *nested;	/* rows nested in keyed members, or NULL */
	const CometPost *post;		/* asked by POST, many contexts at once */
	const CometSearch *search;	/* project/query may narrow its fan-out */
} CometEndpoint;

extern const CometEndpoint *comet_endpoint_lookup(const char *name);
extern const CometEndpoint *comet_endpoint_at(int i);
extern int	comet_endpoint_count(void);
extern bool comet_endpoint_is_table(const CometEndpoint *ep);
extern const CometColumn *comet_endpoint_column(const CometEndpoint *ep,
												const char *name);
extern const char *comet_slot_column(int slot);
extern CometLevel comet_slot_level(int slot);
extern const char *comet_key_column(const CometEndpoint *ep, int slot);
extern const char *comet_slot_param(const CometEndpoint *ep, int slot);
extern const CometColumn *comet_param_column(const CometEndpoint *ep, int slot);
extern int	comet_type_kind(Oid type);
/* the listers of the object tree: who produces contexts of each level */
extern const CometEndpoint *comet_lister_for(CometLevel level);
extern const CometEndpoint *comet_enricher_for(CometLevel level);

/* ---------------------------------------------------------------------
 * Options (option.c)
 * --------------------------------------------------------------------- */
typedef struct CometOptions
{
	char	   *url;			/* without trailing slash */
	int			timeout_ms;
	int			connect_timeout_ms;
	int			max_retries;
	int			max_concurrency;
	int			cache_ttl_s;
	int64		max_response_bytes;
	int			max_keys;
	int			max_requests;	/* per statement, 0: no cap; the smaller of
								 * the server's and the user mapping's */
	char	   *ca_file;
	bool		allow_key_file;
} CometOptions;

/* longest key value (name, id, key) a request carries, in UTF-8 bytes */
#define COMET_MAX_KEY_BYTES 4096

extern void comet_server_options(ForeignServer *server, CometOptions *opts);
extern char *comet_resolve_key(ForeignServer *server, Oid userid,
							   CometOptions *opts, Oid *umid);
extern const char *comet_table_endpoint_name(Oid relid, bool missing_ok);
extern char *comet_column_field_option(Oid relid, AttrNumber attnum);
extern char *comet_normalize_url(const char *url);
extern void comet_write_options(Oid relid, bool *updatable, int *batch_size);

/* ---------------------------------------------------------------------
 * Column mapping and conversion (convert.c)
 * --------------------------------------------------------------------- */
typedef struct CometAttr
{
	AttrNumber	attnum;			/* 1-based */
	const char *colname;
	CometConv	conv;
	int			slot;
	char	   *field;			/* JSON field (NULL for SLOT/ELEMENT/ROW) */
	char	   *alt_field;		/* fallback JSON field */
	char	   *subfield;		/* field of the object in field, or NULL */
	Oid			type;
	int32		typmod;
	Oid			typioparam;
	FmgrInfo	infunc;			/* for types without a fast path */
	Oid			elemtype;		/* arrays: element type */
	int			kind;			/* jr_kind: how jsonrow.c classifies values */
	int32		hint;			/* where the field sat in the last row */
	Datum		slot_value;		/* CONV_SLOT: the value for the current document */
	bool		slot_null;
	bool		parallel;		/* its field is a parallel array (CometNested) */
	int			parallel_index; /* ... which of them */
	/* rows of one element of a nested answer share these (comet_doc_fill) */
	int32		elem_ref;		/* parallel: the array's first element, or -1 */
	int32		elem_count;		/* ... and its length */
	Datum		elem_value;		/* not parallel: the element's value */
	bool		elem_null;
	/* parallel numbers, times, flags: the element's whole array, converted */
	bool		run_ok;			/* run_vals/run_st are this element's */
	const Datum *run_vals;		/* the run's values (run_values, or the
								 * converted numbers themselves) */
	const uint8 *run_st;		/* their jr_status */
	int32		run_cap;
	Datum	   *run_values;
	uint8	   *run_status;		/* jr_status of each value */
	void	   *run_scratch;	/* jr_scalar[run_cap] */
} CometAttr;

typedef struct CometRowMap
{
	const char *relname;
	const CometEndpoint *ep;
	int			natts;			/* columns of the foreign table */
	CometAttr  *attrs;			/* only the needed ones, see nused */
	int			nused;
	bool		need_context[COMET_NKEYS];
	int32		last_elem;		/* the element the attrs' elem_* are of, or -1 */
	bool		fast;			/* ... and every used attr's value for its
								 * rows is a constant or a run (run_ok): */
	int			nfast_const;
	struct CometFastConst *fast_const;	/* attnum - 1, value, null */
	int			nfast_run;
	struct CometAttr **fast_run;	/* the attrs read from runs */
} CometRowMap;

extern CometRowMap *comet_build_row_map(Relation rel, const CometEndpoint *ep,
										Bitmapset *attrs_used);

/* A parsed response; its nodes are freed with the memory context. */
typedef struct CometDoc CometDoc;

extern CometDoc *comet_doc_parse(const char *body, size_t len,
								 const CometEndpoint *ep,
								 const char *request, MemoryContext cxt,
								 int64 max_bytes);
extern CometDoc *comet_doc_parse_job(const char *body, size_t len,
									 const CometEndpoint *ep,
									 const char *request, MemoryContext cxt,
									 int64 max_bytes, void *job);
extern void *comet_doc_start_job(const char *body, size_t len,
								 const CometEndpoint *ep, int64 max_bytes,
								 CometRowMap *map);
extern void comet_doc_abandon_job(void *job);
extern int	comet_doc_nrows(CometDoc *doc);
extern void comet_doc_sort_points(CometDoc *doc);
extern char *comet_doc_string(CometDoc *doc, int row, const char *field);
extern int	comet_doc_bool(CometDoc *doc, int row, const char *field);
extern void comet_row_map_set_context(CometRowMap *map, char *const *context);
extern void comet_doc_fill(CometDoc *doc, int row, CometRowMap *map,
						   Datum *values, bool *nulls);
/* rows nested in members: the member a row is in, and a member by key */
extern int32 comet_doc_member_ref(CometDoc *doc, int row);
extern int32 comet_doc_row_ref(CometDoc *doc, int row);
extern char *comet_doc_member_key(CometDoc *doc, int row);
extern bool comet_doc_has_member(CometDoc *doc, const char *key);
extern const char *comet_endpoint_method(const CometEndpoint *ep);

extern char *comet_json_error_msg(const char *body, size_t len);

/* ---------------------------------------------------------------------
 * Response cache (cache.c)
 * --------------------------------------------------------------------- */
extern bool comet_cache_get(Oid serverid, Oid umid, const char *url,
							int ttl_s, char **body, size_t *len,
							MemoryContext cxt);
extern void comet_cache_put(Oid serverid, Oid umid, const char *url,
							const char *body, size_t len);
extern bool comet_cache_adopt(Oid serverid, Oid umid, const char *url,
							  char *body, size_t len);
extern void comet_cache_clear(Oid serverid);	/* InvalidOid: all */
extern int	comet_cache_drop(Oid serverid, Oid umid, const char *url_prefix,
							 const char *param, const char *value);
extern void comet_cache_sizes(int64 *entries, int64 *bytes);
extern int	comet_cache_max_kb;

/* ---------------------------------------------------------------------
 * Requests (connection.c)
 * --------------------------------------------------------------------- */
typedef struct CometConn CometConn;

typedef enum CometFetchState
{
	FETCH_QUEUED = 0,
	FETCH_RUNNING,
	FETCH_WAITING,				/* on another fetch of the same URL */
	FETCH_BACKOFF,
	FETCH_DONE,
	FETCH_TAKEN					/* handed to the scan, body still held */
} CometFetchState;

typedef struct CometFetch
{
	dlist_node	node;			/* in one of the batch's lists */
	char	   *url;			/* full URL */
	char	   *request;		/* "path?query" for messages (no key) */
	void	   *arg;			/* the scan's step */
	CometFetchState state;
	int			attempts;
	long		last_status;
	long		last_retry_after;
	TimestampTz retry_at;
	struct chttp_xfer *xfer;
	struct CometBatch *batch;
	dlist_head	followers;		/* fetches of the same URL waiting on this one */
	/* result of a DONE fetch */
	char	   *body;			/* malloc'd, or palloc'd when from the cache */
	size_t		len;
	bool		body_palloc;
	bool		cached;			/* from the cache or another fetch: not kept */
	/* writes (modify.c); zeroed for a GET */
	const char *method;			/* NULL: GET */
	const char *body_out;		/* JSON request body, or NULL */
	size_t		body_out_len;
	bool		write;			/* retried only when it could not connect */
} CometFetch;

typedef struct CometCounters
{
	int64		requests;
	int64		retries;
	int64		cache_hits;
	int64		bytes;
	int64		errors;
	double		http_ms;
} CometCounters;

typedef struct CometBatch
{
	dlist_node	node;			/* in the list of active batches */
	CometConn  *conn;
	MemoryContext cxt;			/* where fetches and bodies live */
	CometOptions opts;
	char	   *api_key;
	Oid			serverid;
	Oid			umid;
	Oid			userid;			/* the role whose mapping is used */
	char	   *servername;
	int			max_inflight;
	dlist_head	queued;			/* not started */
	dlist_head	running;
	dlist_head	finished;		/* completed while another scan polled */
	dlist_head	backoff;		/* waiting to be retried */
	dlist_head	done;			/* finished, not yet taken */
	dlist_head	taken;			/* handed to the scan, not yet released */
	int			nqueued;
	int			nrunning;
	int			nwaiting;
	int			nbackoff;
	int			ndone;
	bool		active;
	/*
	 * Response bytes the batch holds at once (being received, done, taken):
	 * at most max_response_bytes, so a scan's memory is bounded whatever
	 * the server sends.
	 */
	long long	held_bytes;
	/* asked for more work whenever the queue runs short; true if it queued */
	bool		(*refill) (void *arg);
	void	   *refill_arg;
	CometCounters counters;
	/* what the error of a failed write adds to its detail (modify.c) */
	char	   *(*write_detail) (struct CometBatch *b, CometFetch *failed,
								 void *arg);
	void	   *write_detail_arg;
} CometBatch;

extern CometBatch *comet_batch_begin(ForeignServer *server, Oid userid,
									 MemoryContext cxt);
extern void comet_batch_add(CometBatch *b, CometFetch *f, bool urgent);
extern void comet_batch_pump(CometBatch *b);
extern CometFetch *comet_batch_next(CometBatch *b);
extern CometFetch *comet_batch_peek(CometBatch *b);
extern void comet_batch_keep(CometBatch *b, CometFetch *f);
extern void comet_batch_keep_body(CometBatch *b, CometFetch *f);
extern void comet_batch_release(CometBatch *b, CometFetch *f);
extern void comet_batch_done_with(CometBatch *b, CometFetch *f);
extern void comet_batch_set_refill(CometBatch *b, bool (*refill) (void *arg),
								   void *arg);
extern char *comet_request_text(const char *request);
extern char *comet_url_text(const char *url);
extern void comet_batch_cancel(CometBatch *b);
extern void comet_connection_init(void);
extern CometCounters comet_backend_counters;
extern int	comet_retry_base_ms;
extern int	comet_retry_max_wait_ms;
#define COMET_MAX_STATUS 600
extern int64 comet_status_errors[COMET_MAX_STATUS]; /* [0]: transport */
extern int64 comet_malformed_errors;	/* responses that did not parse */

/* ---------------------------------------------------------------------
 * Planning (pushdown.c) and execution (scan.c)
 * --------------------------------------------------------------------- */

/* One pushed-down filter: an expression giving a value or an array. */
typedef struct CometKeyQual
{
	int			slot;			/* context slot, or -1 for the variant */
	bool		is_array;
	bool		implied;		/* from another table through a join */
	Expr	   *expr;			/* evaluated at run time */
} CometKeyQual;

typedef struct CometFdwRelationInfo
{
	const CometEndpoint *ep;
	Bitmapset  *attrs_used;
	List	   *key_quals;		/* CometKeyQual: baserestrictinfo + implied */
	List	   *implied_quals;	/* those implied through joins */
	Selectivity local_selectivity;	/* of the quals that are not keys */
	int			concurrency;	/* the server's max_concurrency */
} CometFdwRelationInfo;

extern void comet_get_rel_size(PlannerInfo *root, RelOptInfo *baserel,
							   Oid foreigntableid);
extern void comet_get_paths(PlannerInfo *root, RelOptInfo *baserel,
							Oid foreigntableid);
extern List *comet_key_quals_from(PlannerInfo *root, RelOptInfo *baserel,
								  const CometEndpoint *ep, List *clauses);
extern List *comet_search_quals(PlannerInfo *root, RelOptInfo *baserel,
								const CometEndpoint *ep, List *clauses);
extern bool comet_search_narrowing;	/* GUC comet_fdw.search_narrowing */
extern bool comet_background_parse;	/* GUC comet_fdw.background_parse */

/* How the scan finds its requests, known at plan time from key classes. */
typedef struct CometShape
{
	const CometEndpoint *target;	/* endpoint actually requested */
	CometLevel	start;			/* level of the first contexts */
	bool		keyed[COMET_NSLOTS];
} CometShape;

extern void comet_plan_shape(const CometEndpoint *ep, const bool *keyed,
							 CometShape *shape);
extern char *comet_describe_request(const CometShape *shape);
extern char *comet_describe_fanout(const CometShape *shape);

typedef struct CometScanState CometScanState;

extern CometScanState *comet_scan_begin(ForeignScanState *node, int eflags);
extern TupleTableSlot *comet_scan_next(CometScanState *ss,
									   TupleTableSlot *slot);
extern void comet_scan_rescan(CometScanState *ss);
extern void comet_scan_end(CometScanState *ss);
extern void comet_scan_explain(CometScanState *ss, ExplainState *es);
extern void comet_scan_explain_lines(CometScanState *ss, ExplainState *es,
									 List *exprs, const char *label);
extern void comet_explain_counters(CometCounters c, CometBatch *batch,
								   ExplainState *es);
extern void comet_counters_add(CometCounters *to, CometBatch *batch);
extern void comet_url_encode(StringInfo buf, const char *value);
extern void comet_key_exprs(List *key_quals, List **fdw_exprs, List **key_info);
extern Oid	comet_scan_user(ForeignScan *fsplan, Index rti, EState *estate);

/* sub-scans: the sides of a join, sharing one batch */
extern CometScanState *comet_subscan_begin(ForeignScanState *node, Relation rel,
										   Oid userid, const char *epname,
										   List *key_exprs, List *key_info,
										   List *attrs, int nsearch);
extern void comet_subscan_start(CometScanState *ss, CometBatch *batch);
extern CometScanState *comet_fetch_scan(CometFetch *f);
extern bool comet_subscan_refill(CometScanState *ss);
extern void comet_subscan_take(CometScanState *ss, CometFetch *f,
							   void (*fn) (void *arg, Datum *values, bool *nulls),
							   void *arg);
extern void comet_subscan_finish(CometScanState *ss);
extern bool comet_subscan_done(CometScanState *ss);
extern int64 comet_subscan_budget(CometScanState *ss);

/* joins of comet_fdw tables (pushdown.c plans them, join.c runs them) */
extern void comet_get_join_paths(PlannerInfo *root, RelOptInfo *joinrel,
								 RelOptInfo *outerrel, RelOptInfo *innerrel,
								 JoinType jointype, JoinPathExtraData *extra);
extern ForeignScan *comet_join_plan(PlannerInfo *root, RelOptInfo *joinrel,
									ForeignPath *best_path, List *tlist,
									Plan *outer_plan);
typedef struct CometJoinState CometJoinState;
extern CometJoinState *comet_join_begin(ForeignScanState *node, int eflags);
extern TupleTableSlot *comet_join_next(CometJoinState *js, TupleTableSlot *slot);
extern void comet_join_rescan(CometJoinState *js);
extern void comet_join_end(CometJoinState *js);
extern void comet_join_explain(CometJoinState *js, ExplainState *es);

/*
 * A key qual in fdw_private: its slot (-1: the variant), whether it gives an
 * array, whether it was implied through a join (EXPLAIN says so).
 */
#define COMET_KEY_INFO(slot, is_array, implied) \
	(((slot) + 1) * 2 + ((is_array) ? 1 : 0) + ((implied) ? 100 : 0))
#define COMET_KEY_SLOT(info)		((info) % 100 / 2 - 1)
#define COMET_KEY_IS_ARRAY(info)	((info) % 2 == 1)
#define COMET_KEY_IMPLIED(info)		((info) >= 100)
/* ---------------------------------------------------------------------
 * Writes (modify.c): INSERT and UPDATE become Comet's write requests
 * --------------------------------------------------------------------- */
extern void comet_add_update_targets(PlannerInfo *root, Index rtindex,
									 RangeTblEntry *target_rte,
									 Relation target_relation);
extern List *comet_plan_modify(PlannerInfo *root, ModifyTable *plan,
							   Index resultRelation, int subplan_index);
extern void comet_begin_modify(ModifyTableState *mtstate,
							   ResultRelInfo *rinfo, List *fdw_private,
							   int subplan_index, int eflags);
extern TupleTableSlot *comet_exec_insert(EState *estate, ResultRelInfo *rinfo,
										 TupleTableSlot *slot,
										 TupleTableSlot *planSlot);
extern TupleTableSlot **comet_exec_batch_insert(EState *estate,
												ResultRelInfo *rinfo,
												TupleTableSlot **slots,
												TupleTableSlot **planSlots,
												int *numSlots);
extern int	comet_modify_batch_size(ResultRelInfo *rinfo);
extern TupleTableSlot *comet_exec_update(EState *estate, ResultRelInfo *rinfo,
										 TupleTableSlot *slot,
										 TupleTableSlot *planSlot);
extern void comet_end_modify(EState *estate, ResultRelInfo *rinfo);
extern void comet_begin_insert(ModifyTableState *mtstate,
							   ResultRelInfo *rinfo);
extern int	comet_rel_updatable(Relation rel);
extern void comet_explain_modify(ModifyTableState *mtstate,
								 ResultRelInfo *rinfo, List *fdw_private,
								 int subplan_index, ExplainState *es);

/* fdw_private layout of a ForeignScan */
enum CometScanPrivateIndex
{
	CometScanPrivateEndpoint,	/* String: endpoint name */
	CometScanPrivateKeyInfo,	/* IntList: COMET_KEY_INFO() of each fdw_expr */
	CometScanPrivateAttrs,		/* IntList: attnums the scan must decode */
	CometScanPrivateSearch,		/* Integer: fdw_exprs after the keys that are
								 * the search's name and value (0: none) */
	CometScanPrivateCount
};

#endif							/* COMET_FDW_H */
