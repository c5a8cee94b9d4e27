/*-------------------------------------------------------------------------
 *
 * scan.c
 *		Execution of a comet_fdw scan: from key values to requests to rows.
 *
 * Comet's objects form a tree: workspace > project > experiment > metric.
 * A context records what is known about one node of it.  The scan starts
 * from the contexts its key quals give (or the root), lists children level
 * by level down to the level its endpoint needs, fills in contexts given by
 * key alone where their columns are needed, and turns each final context
 * into one request.  All requests go through one CometBatch, so listing and
 * fetching overlap, up to max_concurrency at a time, and rows stream out as
 * responses arrive.  Nothing here knows a particular endpoint: the
 * catalogue drives it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include <math.h>
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"

#include "comet_fdw.h"

typedef struct KeySet KeySet;

typedef struct CometContext
{
	char	   *slot[COMET_NKEYS];	/* UTF-8, as Comet has them; then the
									 * request's parameters */
	CometLevel	level;
	bool		enriched;
	KeySet	   *names;			/* the names of the level below, where a
								 * level above gave them (a project's
								 * metric names) */
} CometContext;

typedef enum StepKind
{
	STEP_LIST,					/* lists the children of a context */
	STEP_ENRICH,				/* fills in a context given by key only */
	STEP_TARGET,				/* the rows of the scan */
	STEP_NAMES,					/* the names of a project's objects */
	STEP_TYPES					/* a project's column types, for a search */
} StepKind;

/*
 * A project's names, gathered from its variants' answers, and the listings
 * of its experiments that arrived before them (asked at the same time).
 */
typedef struct ProjectNames
{
	KeySet	   *names;
	int			pending;		/* answers still to come */
	List	   *parked;			/* CometFetch * of listings waiting for them */
} ProjectNames;

typedef struct CometStep
{
	StepKind	kind;
	struct CometScanState *owner;	/* the scan it is for (batches may be
									 * shared by the sides of a join) */
	const CometEndpoint *ep;
	CometContext ctx;
	const char *variant;		/* value of the variant parameter, or NULL */
	List	   *batch;			/* POST: CometContext * of each key asked */
	ProjectNames *names;		/* STEP_NAMES; a STEP_LIST whose rows wait
								 * for these names */
} CometStep;

/*
 * A set of key values: a list in first-seen order, and a hash for
 * membership, so that a hundred thousand keys cost linear time.
 */
struct KeySet
{
	List	   *values;			/* char * (UTF-8) */
	char	  **table;			/* open addressing, NULL = free */
	uint32		mask;
	int			n;
};

/*
 * Contexts gathered for one POST (CometPost): its keys, each once, and the
 * names asked of all of them.
 */
typedef struct PostBatch
{
	List	   *contexts;		/* CometContext *, in run_cxt */
	KeySet	   *keys;
	KeySet	   *names;
} PostBatch;

/*
 * A listing being expanded: its children are dispatched only as the batch
 * runs short of work, so a listing of a million experiments never becomes
 * a million queued requests.  Expansions form a stack: the newest (the
 * deepest level) is drained first.
 */
typedef struct Expansion
{
	CometStep  *step;
	CometFetch *fetch;			/* holds the body the document points into */
	CometDoc   *doc;
	int			row;
	int			nrows;
	MemoryContext cxt;			/* the parsed document */
} Expansion;

struct CometScanState
{
	ForeignScanState *node;
	const CometEndpoint *ep;
	CometShape	shape;
	List	   *key_states;		/* ExprState per key qual */
	List	   *key_info;		/* (slot + 1) * 2 + is_array */
	CometRowMap *map;
	ForeignServer *server;
	CometOptions opts;
	Oid			userid;
	MemoryContext run_cxt;		/* one (re)scan: batch, fetches, contexts */
	MemoryContext page_cxt;		/* the response being returned */
	MemoryContext row_cxt;		/* scratch of one listed child */
	CometBatch *batch;
	bool		shared;			/* the batch belongs to a join of scans */
	int			npending;		/* its fetches not yet taken (sub-scans) */
	Datum	   *values;			/* a row of a sub-scan, for the join */
	bool	   *nulls;
	bool		started;
	bool		empty;			/* a key set is empty: no request at all */
	KeySet	   *keys[COMET_NKEYS];	/* NULL if not keyed */
	KeySet	   *variant_values; /* NULL if not keyed */
	bool		named[COMET_NKEYS]; /* keyed by the query itself (not implied
									 * through a join) */
	bool		listed[COMET_NSLOTS];	/* children of this slot's level were
										 * listed and checked against keys */
	KeySet	   *matched[COMET_NSLOTS];	/* key values some listed child had */
	List	   *expansions;		/* Expansion stack, newest last */
	/* the response rows come from; the parsed document points into its body */
	CometDoc   *doc;
	CometFetch *doc_fetch;
	CometStep  *doc_step;
	int			row;
	int			nrows;
	CometCounters totals;		/* of finished (re)scans */
	/* POST endpoints: contexts not yet asked for, and who may add more */
	PostBatch  *pending;
	int			producers;		/* listing, filling-in and names steps not
								 * yet used up */
	int32		doc_member;		/* the member the context was set for */
	bool		doc_member_ok;	/* ... and it was asked for */
	CometContext *doc_ctx;		/* ... its context */
	int32		doc_elem;		/* the element last checked, and whether */
	bool		doc_elem_ok;	/* ... its series was asked for */
	/* a search that may narrow a project's experiments (CometSearch) */
	List	   *search_states;	/* ExprState of the name (if any) and value */
	char	   *search_name;	/* UTF-8, NULL: no search this run */
	char	   *search_value;
	/* the next response, parsing in the background (comet_doc_start_job) */
	void	   *bg_job;
	CometFetch *bg_fetch;
	MemoryContextCallback bg_cb;	/* abandons it when run_cxt goes */
	bool		bg_cb_set;
};

bool		comet_search_narrowing = true;
bool		comet_background_parse = true;

/* rows of a response between two turns of curl (a power of two) */
#define COMET_PUMP_ROWS 2048

static void dispatch(CometScanState *ss, CometContext *ctx);
static void expand_listing(CometScanState *ss, CometStep *step, CometFetch *f);
static bool refill(void *arg);
static int64 parse_budget(CometScanState *ss, CometFetch *f);

/* Steps are freed as soon as they are used up: a walk over thousands of
 * experiments keeps only what is still queued. */
static void
free_context(CometContext *ctx)
{
	int			i;

	for (i = 0; i < COMET_NKEYS; i++)
		if (ctx->slot[i])
			pfree(ctx->slot[i]);
}

static void
free_step(CometStep *step)
{
	ListCell   *lc;

	free_context(&step->ctx);
	foreach(lc, step->batch)
	{
		CometContext *c = lfirst(lc);

		free_context(c);
		/* a batch context's names are its own */
		if (c->names)
		{
			list_free_deep(c->names->values);
			pfree(c->names->table);
			pfree(c->names);
		}
		pfree(c);
	}
	list_free(step->batch);
	pfree(step);
}

/* The role whose user mapping a scan uses: a view's owner, or the caller. */
Oid
comet_scan_user(ForeignScan *fsplan, Index rti, EState *estate)
{
#if PG_VERSION_NUM >= 160000
	(void) rti;
	(void) estate;
	return OidIsValid(fsplan->checkAsUser) ? fsplan->checkAsUser : GetUserId();
#else
	RangeTblEntry *rte = exec_rt_fetch(rti, estate);

	(void) fsplan;
	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
#endif
}

/*
 * A scan of one foreign table: its endpoint, key expressions (with their
 * COMET_KEY_INFO) and the attributes it must decode.  A plain foreign scan
 * has one; a join of comet_fdw tables has one per side.
 */
CometScanState *
comet_subscan_begin(ForeignScanState *node, Relation rel, Oid userid,
					const char *epname, List *key_exprs, List *key_info,
					List *attrs, int nsearch)
{
	EState	   *estate = node->ss.ps.state;
	CometScanState *ss = palloc0(sizeof(CometScanState));
	Bitmapset  *attrs_used = NULL;
	bool		keyed[COMET_NSLOTS];
	ListCell   *lc;

	ss->node = node;
	ss->ep = comet_endpoint_lookup(epname);
	if (ss->ep == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("unknown Comet endpoint \"%s\"", epname)));
	ss->key_info = key_info;
	ss->key_states = ExecInitExprList(key_exprs, (PlanState *) node);
	/* the search's expressions follow the keys' */
	if (nsearch > 0)
	{
		int			nkeys = list_length(ss->key_states) - nsearch;

		ss->search_states = list_copy_tail(ss->key_states, nkeys);
		ss->key_states = list_truncate(ss->key_states, nkeys);
	}

	memset(keyed, 0, sizeof(keyed));
	foreach(lc, ss->key_info)
	{
		int			slot = COMET_KEY_SLOT(lfirst_int(lc));

		if (slot >= 0 && !COMET_IS_PARAM_SLOT(slot))
			keyed[slot] = true;
	}
	comet_plan_shape(ss->ep, keyed, &ss->shape);

	foreach(lc, attrs)
		attrs_used = bms_add_member(attrs_used,
									lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ss->map = comet_build_row_map(rel, ss->shape.target, attrs_used);
	ss->values = palloc0(sizeof(Datum) * Max(ss->map->natts, 1));
	ss->nulls = palloc0(sizeof(bool) * Max(ss->map->natts, 1));

	ss->server = GetForeignServer(GetForeignTable(RelationGetRelid(rel))->serverid);
	comet_server_options(ss->server, &ss->opts);
	ss->userid = userid;

	ss->run_cxt = AllocSetContextCreate(estate->es_query_cxt,
										"comet_fdw scan", ALLOCSET_DEFAULT_SIZES);
	ss->page_cxt = AllocSetContextCreate(estate->es_query_cxt,
										 "comet_fdw response", ALLOCSET_DEFAULT_SIZES);
	ss->row_cxt = AllocSetContextCreate(estate->es_query_cxt,
										"comet_fdw listed child", ALLOCSET_SMALL_SIZES);
	/* no request, no key lookup here: EXPLAIN and LIMIT 0 stop before Iterate */
	return ss;
}

CometScanState *
comet_scan_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

	return comet_subscan_begin(node, node->ss.ss_currentRelation,
							   comet_scan_user(fsplan, fsplan->scan.scanrelid,
											   node->ss.ps.state),
							   strVal(list_nth(fsplan->fdw_private, CometScanPrivateEndpoint)),
							   fsplan->fdw_exprs,
							   list_nth(fsplan->fdw_private, CometScanPrivateKeyInfo),
							   list_nth(fsplan->fdw_private, CometScanPrivateAttrs),
							   list_length(fsplan->fdw_private) > CometScanPrivateSearch ?
							   intVal(list_nth(fsplan->fdw_private, CometScanPrivateSearch)) : 0);
}

/* ---- key values ---- */

static KeySet *
keyset_new(int expected)
{
	KeySet	   *ks = palloc0(sizeof(KeySet));
	uint32		size = 16;

	while (size < (uint32) expected * 2 && size < (1U << 30))
		size <<= 1;
	ks->table = palloc0(sizeof(char *) * size);
	ks->mask = size - 1;
	return ks;
}

static uint32
keyset_slot(const KeySet *ks, const char *v)
{
	uint32		i = hash_bytes((const unsigned char *) v, strlen(v)) & ks->mask;

	while (ks->table[i] != NULL && strcmp(ks->table[i], v) != 0)
		i = (i + 1) & ks->mask;
	return i;
}

static bool
keyset_has(const KeySet *ks, const char *v)
{
	return ks->table[keyset_slot(ks, v)] != NULL;
}

/* Adds v unless present; false if it was present. */
static bool
keyset_add(KeySet *ks, char *v)
{
	uint32		i;

	if ((uint32) (ks->n + 1) * 2 > ks->mask + 1)
	{
		char	  **old = ks->table;
		uint32		oldsize = ks->mask + 1;
		uint32		j;

		ks->table = palloc0(sizeof(char *) * oldsize * 2);
		ks->mask = oldsize * 2 - 1;
		for (j = 0; j < oldsize; j++)
			if (old[j] != NULL)
				ks->table[keyset_slot(ks, old[j])] = old[j];
		pfree(old);
	}
	i = keyset_slot(ks, v);
	if (ks->table[i] != NULL)
		return false;
	ks->table[i] = v;
	ks->values = lappend(ks->values, v);
	ks->n++;
	return true;
}

static void
too_many_keys(CometScanState *ss, const char *what, int64 n)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("too many keys for one Comet scan"),
			 errdetail("%s %s " INT64_FORMAT " values; the server option max_keys allows %d.",
					   what, n == 1 ? "has" : "would make", n, ss->opts.max_keys),
			 errhint("Narrow the query, or raise max_keys: ALTER SERVER %s OPTIONS (ADD max_keys '...').",
					 quote_identifier(ss->server->servername))));
}

/*
 * A key value as Comet knows it: UTF-8 text ("true"/"false" for booleans).
 * NULL for a value no Comet object can have (an empty key).
 */
static char *
datum_key_string(Datum d, Oid type)
{
	char	   *s;
	char	   *u;

	if (type == BOOLOID)
		return pstrdup(DatumGetBool(d) ? "true" : "false");
	s = TextDatumGetCString(d);
	if (*s == '\0')
		return NULL;
	/* keys travel in UTF-8 whatever the database encoding */
	u = pg_server_to_any(s, strlen(s), PG_UTF8);
	if (strlen(u) > COMET_MAX_KEY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("a key value of %zu bytes is too long for a Comet request",
						strlen(u)),
				 errdetail("Key values (names, ids, keys) are limited to %d bytes.",
						   COMET_MAX_KEY_BYTES)));
	return u;
}

/* The values of one key qual: NULLs and empty keys dropped, deduplicated. */
static KeySet *
eval_key(CometScanState *ss, ExprState *es, bool is_array, int slot,
		 ExprContext *econtext)
{
	Datum		d;
	bool		isnull;
	Oid			type = exprType((Node *) es->expr);
	KeySet	   *ks;
	const char *col = comet_key_column(ss->ep, slot);

	d = ExecEvalExpr(es, econtext, &isnull);
	if (isnull)
		return keyset_new(0);
	if (!is_array)
	{
		char	   *v = datum_key_string(d, type);

		ks = keyset_new(1);
		if (v != NULL)
			keyset_add(ks, v);
		return ks;
	}
	{
		ArrayType  *arr = DatumGetArrayTypeP(d);
		Oid			elemtype = ARR_ELEMTYPE(arr);
		ArrayIterator it;
		Datum		elem;
		bool		elemnull;
		int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
		int			i = 0;

		ks = keyset_new(Min(n, ss->opts.max_keys + 1));
		it = array_create_iterator(arr, 0, NULL);
		while (array_iterate(it, &elem, &elemnull))
		{
			char	   *v;

			if ((++i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (elemnull || (v = datum_key_string(elem, elemtype)) == NULL)
				continue;
			if (keyset_add(ks, v) && ks->n > ss->opts.max_keys)
				too_many_keys(ss, col, n);
		}
		array_free_iterator(it);
	}
	return ks;
}

/* The values of a that are also in b, in a's order. */
static KeySet *
intersect(KeySet *a, KeySet *b)
{
	KeySet	   *r = keyset_new(Min(a->n, b->n));
	ListCell   *lc;

	foreach(lc, a->values)
	{
		CHECK_FOR_INTERRUPTS();
		if (keyset_has(b, lfirst(lc)))
			keyset_add(r, lfirst(lc));
	}
	return r;
}

static void
eval_keys(CometScanState *ss)
{
	ExprContext *econtext = ss->node->ss.ps.ps_ExprContext;
	ListCell   *lc1,
			   *lc2;

	memset(ss->keys, 0, sizeof(ss->keys));
	memset(ss->named, 0, sizeof(ss->named));
	memset(ss->listed, 0, sizeof(ss->listed));
	memset(ss->matched, 0, sizeof(ss->matched));
	ss->variant_values = NULL;
	ss->empty = false;
	forboth(lc1, ss->key_states, lc2, ss->key_info)
	{
		int			info = lfirst_int(lc2);
		int			slot = COMET_KEY_SLOT(info);
		KeySet	   *values = eval_key(ss, lfirst(lc1), COMET_KEY_IS_ARRAY(info),
									  slot, econtext);
		KeySet	  **dest = slot >= 0 ? &ss->keys[slot] : &ss->variant_values;

		/* several quals on one key: only values that pass all of them */
		*dest = *dest != NULL ? intersect(*dest, values) : values;
		if ((*dest)->n == 0)
			ss->empty = true;
		if (slot >= 0 && !COMET_KEY_IMPLIED(info))
			ss->named[slot] = true;
	}
}

/*
 * The search's name and value.  NULL makes its quals false: no rows, no
 * request.  An empty value is not searched for (Comet calls that
 * is_empty, which also matches a missing value).
 */
static void
eval_search(CometScanState *ss)
{
	ExprContext *econtext = ss->node->ss.ps.ps_ExprContext;
	char	   *v[2] = {NULL, NULL};
	int			i = 0;
	ListCell   *lc;

	ss->search_name = ss->search_value = NULL;
	if (ss->search_states == NIL || !comet_search_narrowing)
		return;
	foreach(lc, ss->search_states)
	{
		bool		isnull;
		Datum		d = ExecEvalExpr(lfirst(lc), econtext, &isnull);
		char	   *t;

		if (isnull)
		{
			ss->empty = true;
			return;
		}
		t = TextDatumGetCString(d);
		v[i++] = pg_server_to_any(t, strlen(t), PG_UTF8);
	}
	if (v[i - 1][0] == '\0' || strlen(v[i - 1]) > COMET_MAX_KEY_BYTES ||
		(i == 2 && (v[0][0] == '\0' || strlen(v[0]) > COMET_MAX_KEY_BYTES)))
		return;
	ss->search_value = v[i - 1];
	/* a tag is its own name */
	ss->search_name = i == 2 ? v[0] : v[i - 1];
}

/* ---- requests ---- */

/* A query value, percent-encoded (RFC 3986 unreserved characters kept). */
void
comet_url_encode(StringInfo buf, const char *value)
{
	const char *p;

	for (p = value; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			appendStringInfoChar(buf, c);
		else
			appendStringInfo(buf, "%%%02X", c);
	}
}

static void
append_param(StringInfo buf, bool *first, const char *name, const char *value)
{
	appendStringInfoChar(buf, *first ? '?' : '&');
	*first = false;
	appendStringInfo(buf, "%s=", name);
	comet_url_encode(buf, value);
}

static void
append_slot(StringInfo buf, bool *first, const CometEndpoint *ep,
			CometContext *ctx, int slot)
{
	append_param(buf, first, comet_slot_param(ep, slot), ctx->slot[slot]);
}

/* A step of the walk, its context copied into run_cxt. */
static CometStep *
new_step(CometScanState *ss, StepKind kind, const CometEndpoint *ep,
		 CometContext *ctx, const char *variant)
{
	MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);
	CometStep  *step = palloc0(sizeof(CometStep));
	int			i;

	step->kind = kind;
	step->owner = ss;
	step->ep = ep;
	step->ctx = *ctx;
	for (i = 0; i < COMET_NKEYS; i++)
		step->ctx.slot[i] = ctx->slot[i] ? pstrdup(ctx->slot[i]) : NULL;
	step->variant = variant;
	MemoryContextSwitchTo(old);
	return step;
}

/* Queues a step's request; steps that are no rows may add contexts. */
static void
queue_step(CometScanState *ss, CometStep *step, CometFetch *f)
{
	f->arg = step;
	step->owner = ss;			/* whoever built it: a shared batch needs it */
	ss->npending++;
	if (step->kind != STEP_TARGET)
		ss->producers++;
	/* first in, first out: a deterministic order, bodies bounded by the batch */
	comet_batch_add(ss->batch, f, false);
}

/* A GET for a step; extra is more of the query ("archived=true"), or NULL. */
static void
issue_step(CometScanState *ss, CometStep *step, const char *extra)
{
	MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);
	const CometEndpoint *ep = step->ep;
	CometContext *ctx = &step->ctx;
	CometFetch *f = palloc0(sizeof(CometFetch));
	StringInfoData q;
	bool		first = true;
	int			i;

	initStringInfo(&q);
	appendStringInfoString(&q, ep->path);
	switch (ep->level)
	{
		case LEVEL_NONE:
			break;
		case LEVEL_WORKSPACE:
			append_slot(&q, &first, ep, ctx, SLOT_WORKSPACE);
			break;
		case LEVEL_PROJECT:
			if (ctx->slot[SLOT_PROJECT_ID])
				append_slot(&q, &first, ep, ctx, SLOT_PROJECT_ID);
			else
			{
				append_slot(&q, &first, ep, ctx, SLOT_WORKSPACE);
				append_slot(&q, &first, ep, ctx, SLOT_PROJECT_NAME);
			}
			break;
		case LEVEL_METRIC:
			append_slot(&q, &first, ep, ctx, SLOT_EXPERIMENT);
			append_slot(&q, &first, ep, ctx, SLOT_METRIC);
			break;
		case LEVEL_EXPERIMENT:
			append_slot(&q, &first, ep, ctx, SLOT_EXPERIMENT);
			break;
	}
	/* the request's own parameters (an asset id ...), in slot order */
	for (i = COMET_NSLOTS; i < COMET_NKEYS; i++)
		if (ctx->slot[i] && comet_slot_param(ep, i))
			append_slot(&q, &first, ep, ctx, i);
	if (ep->variant && step->variant)
		append_param(&q, &first, ep->variant->param, step->variant);
	if (ep->fixed_query)
	{
		appendStringInfoChar(&q, first ? '?' : '&');
		appendStringInfoString(&q, ep->fixed_query);
		first = false;
	}
	if (extra)
	{
		appendStringInfoChar(&q, first ? '?' : '&');
		appendStringInfoString(&q, extra);
	}

	f->request = q.data;
	f->url = psprintf("%s/%s", ss->opts.url, q.data);
	queue_step(ss, step, f);
	MemoryContextSwitchTo(old);
}

static void
issue(CometScanState *ss, StepKind kind, const CometEndpoint *ep,
	  CometContext *ctx, const char *variant)
{
	issue_step(ss, new_step(ss, kind, ep, ctx, variant), NULL);
}

static void
issue_variants(CometScanState *ss, StepKind kind, const CometEndpoint *ep,
			   CometContext *ctx, bool keyed_variant)
{
	const CometVariant *v = ep->variant;
	int			i;

	if (v == NULL)
	{
		issue(ss, kind, ep, ctx, NULL);
		return;
	}
	if (keyed_variant)
	{
		ListCell   *lc;

		foreach(lc, ss->variant_values->values)
			issue(ss, kind, ep, ctx, lfirst(lc));
		return;
	}
	for (i = 0; i < v->ndefaults; i++)
		issue(ss, kind, ep, ctx, v->defaults[i]);
}

/* ---- POSTs that ask about many contexts at once (CometPost) ---- */

static void
append_json_list(StringInfo buf, const char *field, List *values)
{
	ListCell   *lc;

	escape_json(buf, field);
	appendStringInfoString(buf, ": [");
	foreach(lc, values)
	{
		if (lc != list_head(values))
			appendStringInfoString(buf, ", ");
		escape_json(buf, lfirst(lc));
	}
	appendStringInfoChar(buf, ']');
}

/* "field: [a, b, c, ... N in all]", for messages */
static void
append_list_text(StringInfo buf, const char *field, List *values, int shown)
{
	ListCell   *lc;
	int			i = 0;

	appendStringInfo(buf, "%s: [", field);
	foreach(lc, values)
	{
		if (i == shown)
		{
			appendStringInfo(buf, ", ... %d in all", list_length(values));
			break;
		}
		appendStringInfo(buf, "%s%s", i++ ? ", " : "", (char *) lfirst(lc));
	}
	appendStringInfoChar(buf, ']');
}

/* Asks for the pending contexts in one POST. */
static void
flush_pending(CometScanState *ss)
{
	PostBatch  *pb = ss->pending;
	const CometEndpoint *ep = ss->shape.target;
	const CometPost *post = ep->post;
	MemoryContext old;
	CometStep  *step;
	CometFetch *f;
	StringInfoData body,
				req;

	ss->pending = NULL;
	if (pb == NULL || pb->keys->n == 0)
		return;
	old = MemoryContextSwitchTo(ss->run_cxt);
	step = palloc0(sizeof(CometStep));
	step->kind = STEP_TARGET;
	step->ep = ep;
	step->ctx.level = ep->level;
	step->batch = pb->contexts;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	append_json_list(&body, post->keys_field, pb->keys->values);
	appendStringInfoString(&body, ", ");
	append_json_list(&body, post->names_field, pb->names->values);
	if (post->fixed)
		appendStringInfo(&body, ", %s", post->fixed);
	appendStringInfoChar(&body, '}');

	initStringInfo(&req);
	appendStringInfo(&req, "%s {", ep->path);
	append_list_text(&req, post->keys_field, pb->keys->values, 3);
	appendStringInfoString(&req, ", ");
	append_list_text(&req, post->names_field, pb->names->values, 5);
	appendStringInfoChar(&req, '}');

	f = palloc0(sizeof(CometFetch));
	f->method = "POST";
	f->body_out = body.data;
	f->body_out_len = body.len;
	f->request = req.data;
	f->url = psprintf("%s/%s", ss->opts.url, ep->path);
	queue_step(ss, step, f);

	/* the keys are the contexts' own strings; the names are copies */
	list_free_deep(pb->names->values);
	pfree(pb->names->table);
	pfree(pb->names);
	list_free(pb->keys->values);
	pfree(pb->keys->table);
	pfree(pb->keys);
	pfree(pb);
	MemoryContextSwitchTo(old);
}

/*
 * A (key, name) context for a POST endpoint: it joins the pending request
 * unless that would pass max_keys keys or max_pairs keys x names; then the
 * pending one is sent and a new one begins.
 */
static void
pending_add(CometScanState *ss, CometContext *ctx)
{
	const CometEndpoint *ep = ss->shape.target;
	const CometPost *post = ep->post;
	int			kslot = ep->nested->key_slot;
	char	   *key = ctx->slot[kslot];
	char	   *name = ctx->slot[SLOT_METRIC];
	PostBatch  *pb = ss->pending;
	MemoryContext old;

	if (pb != NULL)
	{
		int64		nk = pb->keys->n + (keyset_has(pb->keys, key) ? 0 : 1);
		int64		nn = pb->names->n + (keyset_has(pb->names, name) ? 0 : 1);

		if (nk > post->max_keys || nk * nn > post->max_pairs)
		{
			flush_pending(ss);
			pb = NULL;
		}
	}
	old = MemoryContextSwitchTo(ss->run_cxt);
	if (pb == NULL)
	{
		pb = palloc0(sizeof(PostBatch));
		pb->keys = keyset_new(16);
		pb->names = keyset_new(16);
		ss->pending = pb;
	}
	if (!keyset_has(pb->keys, key))
	{
		CometContext *c = palloc(sizeof(CometContext));
		int			i;

		*c = *ctx;
		for (i = 0; i < COMET_NSLOTS; i++)
			c->slot[i] = (ctx->slot[i] && i != SLOT_METRIC) ? pstrdup(ctx->slot[i]) : NULL;
		c->names = keyset_new(8);
		pb->contexts = lappend(pb->contexts, c);
		keyset_add(pb->keys, c->slot[kslot]);
	}
	if (!keyset_has(pb->names, name))
		keyset_add(pb->names, pstrdup(name));

	/*
	 * The request asks every key for every name, but only these pairs are
	 * its rows: a pair is asked once, a key's other names may be another
	 * request's (see element_asked()).
	 */
	{
		ListCell   *lc;

		foreach(lc, pb->contexts)
		{
			CometContext *c = lfirst(lc);

			if (strcmp(c->slot[kslot], key) == 0)
			{
				if (!keyset_has(c->names, name))
					keyset_add(c->names, pstrdup(name));
				break;
			}
		}
	}
	MemoryContextSwitchTo(old);
}

/* Whether a project's names come from its own listing of them. */
static bool
names_by_project(CometScanState *ss)
{
	const CometEndpoint *t = ss->shape.target;

	return COMET_BATCHED(t) && t->post->names_by_project &&
		t->level == LEVEL_METRIC && ss->keys[SLOT_METRIC] == NULL;
}

/*
 * Asks for a project's names (its metric names: one request per project,
 * not one per experiment), once for each variant of the experiment listing
 * they stand for (live and archived experiments), and at the same time for
 * that listing: one round trip, not two, before the first POST.  The
 * listing's experiments wait for the names (take_listing).
 */
static void
issue_names(CometScanState *ss, CometContext *ctx)
{
	const CometEndpoint *ep = comet_endpoint_lookup(ss->shape.target->post->names_by_project);
	const CometVariant *v = comet_lister_for(LEVEL_PROJECT)->variant;
	int			nvariants = v ? v->ndefaults : 1;
	ProjectNames *pn;
	int			i;
	MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);

	pn = palloc0(sizeof(ProjectNames));
	pn->names = keyset_new(16);
	pn->pending = nvariants;
	MemoryContextSwitchTo(old);
	for (i = 0; i < nvariants; i++)
	{
		CometStep  *step = new_step(ss, STEP_NAMES, ep, ctx, NULL);

		step->names = pn;
		issue_step(ss, step, v && v->defaults[i] ?
				   psprintf("%s=%s", v->param, v->defaults[i]) : NULL);
	}
	for (i = 0; i < nvariants; i++)
	{
		CometStep  *step = new_step(ss, STEP_LIST, comet_lister_for(LEVEL_PROJECT),
									ctx, v ? v->defaults[i] : NULL);

		step->names = pn;
		issue_step(ss, step, NULL);
	}
}

/* ---- server-side search (CometSearch): project/query narrows a project ---- */

/* Whether a project's experiments may be narrowed by the scan's search. */
static bool
searching(CometScanState *ss)
{
	const CometEndpoint *t = ss->shape.target;

	return ss->search_value != NULL && t->search != NULL &&
		t->level == LEVEL_EXPERIMENT;
}

/*
 * A JSON number whose text is also the SQL value: then every stored value
 * that equals it as text equals it as a double on Comet's side too.  No
 * NaN, no infinity, nothing a JSON parser would read another way.
 */
static bool
json_number_text(const char *s)
{
	const char *p = s;
	char	   *end;
	double		d;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.')
	{
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p != '\0')
		return false;
	d = strtod(s, &end);
	return *end == '\0' && !isinf(d) && !isnan(d);
}

/*
 * Asks project/query for the experiments of one variant (archived or not)
 * of a project whose source name equals the value, as a rule of the given
 * type; the value is JSON text.  Its answer lists them like a listing.
 */
static void
issue_query(CometScanState *ss, CometContext *ctx, const char *variant,
			const char *type, const char *value_json)
{
	const CometEndpoint *ep = comet_endpoint_lookup("project_query");
	const CometSearch *search = ss->shape.target->search;
	MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);
	CometStep  *step = new_step(ss, STEP_LIST, ep, ctx, NULL);
	CometFetch *f = palloc0(sizeof(CometFetch));
	StringInfoData body,
				req;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	if (ctx->slot[SLOT_PROJECT_ID])
	{
		appendStringInfoString(&body, "\"projectId\": ");
		escape_json(&body, ctx->slot[SLOT_PROJECT_ID]);
	}
	else
	{
		appendStringInfoString(&body, "\"workspaceName\": ");
		escape_json(&body, ctx->slot[SLOT_WORKSPACE]);
		appendStringInfoString(&body, ", \"projectName\": ");
		escape_json(&body, ctx->slot[SLOT_PROJECT_NAME]);
	}
	appendStringInfo(&body, ", \"archived\": %s, \"predicates\": [{\"source\": ",
					 variant && strcmp(variant, "true") == 0 ? "true" : "false");
	escape_json(&body, search->source);
	appendStringInfoString(&body, ", \"query\": {\"condition\": \"AND\", \"valid\": true, \"rules\": [{\"id\": ");
	escape_json(&body, ss->search_name);
	appendStringInfoString(&body, ", \"field\": ");
	escape_json(&body, ss->search_name);
	appendStringInfo(&body, ", \"type\": \"%s\", \"operator\": \"equal\", \"value\": %s}]}}]}",
					 type, value_json);

	initStringInfo(&req);
	appendStringInfo(&req, "%s {%s %s = %s, archived: %s}", ep->path, search->source,
					 ss->search_name, value_json, variant ? variant : "false");

	f->method = "POST";
	f->body_out = body.data;
	f->body_out_len = body.len;
	f->request = req.data;
	f->url = psprintf("%s/%s", ss->opts.url, ep->path);
	queue_step(ss, step, f);
	MemoryContextSwitchTo(old);
}

/*
 * Instead of listing a project's experiments: per variant, the type of
 * the searched column (a typed search), then project/query.
 */
static void
issue_search(CometScanState *ss, CometContext *ctx)
{
	const CometVariant *v = comet_lister_for(LEVEL_PROJECT)->variant;
	int			nvariants = v ? v->ndefaults : 1;
	int			i;

	for (i = 0; i < nvariants; i++)
	{
		const char *variant = v ? v->defaults[i] : NULL;

		if (ss->shape.target->search->typed)
		{
			CometStep  *step = new_step(ss, STEP_TYPES,
										comet_endpoint_lookup("project_columns"),
										ctx, variant);

			issue_step(ss, step, variant ?
					   psprintf("%s=%s", v->param, variant) : NULL);
		}
		else
		{
			StringInfoData json;

			initStringInfo(&json);
			escape_json(&json, ss->search_value);
			issue_query(ss, ctx, variant, "string", json.data);
		}
	}
}

/*
 * An answer that is no rows of the scan (a project's column types or
 * names), parsed into a context of its own; done_aside() ends it.
 */
static CometDoc *
parse_aside(CometScanState *ss, CometFetch *f, MemoryContext *cxt)
{
	CometDoc   *doc;

	*cxt = AllocSetContextCreate(ss->run_cxt, "comet_fdw side answer",
								 ALLOCSET_SMALL_SIZES);
	doc = comet_doc_parse(f->body, f->len, ((CometStep *) f->arg)->ep,
						  f->request, *cxt, parse_budget(ss, f));
	comet_batch_keep(ss->batch, f);
	return doc;
}

/* Frees an aside answer, gives its body back and ends its step. */
static void
done_aside(CometScanState *ss, CometStep *step, CometFetch *f,
		   MemoryContext cxt)
{
	MemoryContextDelete(cxt);
	comet_batch_release(ss->batch, f);
	free_step(step);
	ss->producers--;
}

/*
 * The searched column's type arrived: search where the comparison is
 * certain to keep every row PostgreSQL would (a string column: equal
 * strings; a double column: a value whose text is a JSON number, so equal
 * texts are equal doubles), else list the project's experiments.
 */
static void
take_types(CometScanState *ss, CometStep *step, CometFetch *f)
{
	MemoryContext cxt;
	CometDoc   *doc = parse_aside(ss, f, &cxt);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	const CometSearch *search = ss->shape.target->search;
	char	   *type = NULL;
	char	   *value_json = NULL;
	int			r,
				n;

	n = comet_doc_nrows(doc);
	for (r = 0; r < n; r++)
	{
		char	   *name = comet_doc_string(doc, r, "name");
		char	   *source = comet_doc_string(doc, r, "source");

		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (name && source && strcmp(name, ss->search_name) == 0 &&
			strcmp(source, search->source) == 0)
		{
			type = comet_doc_string(doc, r, "type");
			break;
		}
	}
	if (type && strcmp(type, "string") == 0)
	{
		StringInfoData json;

		initStringInfo(&json);
		escape_json(&json, ss->search_value);
		value_json = json.data;
	}
	else if (type && strcmp(type, "double") == 0 && json_number_text(ss->search_value))
		value_json = ss->search_value;
	MemoryContextSwitchTo(ss->run_cxt);
	if (value_json)
		issue_query(ss, &step->ctx, step->variant, type, value_json);
	else
		issue(ss, STEP_LIST, comet_lister_for(LEVEL_PROJECT), &step->ctx, step->variant);
	MemoryContextSwitchTo(old);
	done_aside(ss, step, f, cxt);
}

/*
 * Who fills in a context given by key alone: the enricher of its level, or
 * of the nearest level above that has one (a metric's context is its
 * experiment's).
 */
static const CometEndpoint *
enricher_of(CometLevel level)
{
	for (; level > LEVEL_NONE; level--)
		if (comet_enricher_for(level) != NULL)
			return comet_enricher_for(level);
	return NULL;
}

/* Slots the scan needs that the context lacks and will not get by listing. */
static bool
needs_enrich(CometScanState *ss, CometContext *ctx)
{
	const CometEndpoint *lister = NULL;
	int			s;

	if (ctx->enriched || enricher_of(ctx->level) == NULL)
		return false;
	if (ctx->level < ss->shape.target->level &&
		!(ctx->level == LEVEL_EXPERIMENT &&
		  (ss->keys[SLOT_METRIC] != NULL || ctx->names != NULL)))
		lister = comet_lister_for(ctx->level);

	for (s = 0; s < COMET_NSLOTS; s++)
	{
		bool		filled_by_lister = false;
		int			c;

		if (!ss->map->need_context[s] || ctx->slot[s] != NULL ||
			comet_slot_level(s) > ctx->level)
			continue;
		/* only what a listing reads from its rows, not what it passes on */
		if (lister)
			for (c = 0; c < lister->ncols; c++)
				if (lister->cols[c].slot == s && lister->cols[c].conv != CONV_SLOT)
					filled_by_lister = true;
		if (!filled_by_lister)
			return true;
	}
	return false;
}

/*
 * The target's requests for one context: one per combination of the
 * values of its parameter keys (from slot on), and per variant.
 */
static void
issue_params(CometScanState *ss, CometContext *ctx, int slot)
{
	const CometEndpoint *target = ss->shape.target;
	ListCell   *lc;

	for (; slot < COMET_NKEYS; slot++)
		if (ss->keys[slot] != NULL)
			break;
	if (slot >= COMET_NKEYS)
	{
		issue_variants(ss, STEP_TARGET, target, ctx,
					   target->variant && ss->variant_values != NULL);
		return;
	}
	foreach(lc, ss->keys[slot]->values)
	{
		CometContext c = *ctx;

		c.slot[slot] = lfirst(lc);
		issue_params(ss, &c, slot + 1);
	}
}

static void
dispatch(CometScanState *ss, CometContext *ctx)
{
	const CometEndpoint *target = ss->shape.target;

	if (needs_enrich(ss, ctx))
	{
		issue(ss, STEP_ENRICH, enricher_of(ctx->level), ctx, NULL);
		return;
	}
	if (ctx->level < target->level)
	{
		KeySet	   *names = ss->keys[SLOT_METRIC] != NULL ?
			ss->keys[SLOT_METRIC] : ctx->names;

		if (ctx->level == LEVEL_EXPERIMENT && names != NULL)
		{
			/* metric names given (or the project's): no need to discover them */
			ListCell   *lc;

			foreach(lc, names->values)
			{
				CometContext child = *ctx;

				child.level = LEVEL_METRIC;
				child.slot[SLOT_METRIC] = lfirst(lc);
				dispatch(ss, &child);
			}
			return;
		}
		if (ctx->level == LEVEL_PROJECT && ctx->names == NULL &&
			names_by_project(ss))
		{
			issue_names(ss, ctx);
			return;
		}
		if (ctx->level == LEVEL_PROJECT && searching(ss))
		{
			issue_search(ss, ctx);
			return;
		}
		issue_variants(ss, STEP_LIST, comet_lister_for(ctx->level), ctx, false);
		return;
	}
	if (COMET_BATCHED(target))
	{
		pending_add(ss, ctx);
		return;
	}
	issue_params(ss, ctx, COMET_NSLOTS);
}

static void
cross(CometScanState *ss, CometContext *ctx, const int *slots, int nslots,
	  CometLevel level)
{
	ListCell   *lc;

	if (nslots == 0)
	{
		CometContext c = *ctx;

		CHECK_FOR_INTERRUPTS();
		c.level = level;
		dispatch(ss, &c);
		return;
	}
	foreach(lc, ss->keys[slots[0]]->values)
	{
		CometContext c = *ctx;

		c.slot[slots[0]] = lfirst(lc);
		cross(ss, &c, slots + 1, nslots - 1, level);
	}
}

/* Starts the contexts the key quals give, never more than max_keys of them. */
static void
cross_keys(CometScanState *ss, CometContext *root, int slot1, int slot2,
		   CometLevel level)
{
	int			slots[2];
	int			n = 1;
	int64		product;

	slots[0] = slot1;
	product = ss->keys[slot1]->n;
	if (slot2 >= 0)
	{
		slots[1] = slot2;
		n = 2;
		product *= ss->keys[slot2]->n;
		if (product > ss->opts.max_keys)
			too_many_keys(ss, psprintf("%s crossed with %s",
									   comet_slot_column(slot1),
									   comet_slot_column(slot2)),
						  product);
	}
	cross(ss, root, slots, n, level);
}

/*
 * A key the endpoint cannot do without (an asset id, a model name) must
 * come from the query: checked when the first row is asked for, never at
 * plan time, so that EXPLAIN and LIMIT 0 stay free.
 */
static void
check_required(CometScanState *ss)
{
	const CometEndpoint *ep = ss->ep;
	StringInfoData where;
	const char *first = NULL;
	int			n = 0;
	int			c;

	initStringInfo(&where);
	for (c = 0; c < ep->ncols; c++)
	{
		const CometColumn *col = &ep->cols[c];

		if (!col->required || (col->slot >= 0 && ss->keys[col->slot] != NULL))
			continue;
		if (first == NULL)
			first = col->name;
		n++;
		appendStringInfo(&where, "%s%s = '...'", where.len ? " AND " : "WHERE ",
						 quote_identifier(col->name));
	}
	if (first == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
			 errmsg("a query of foreign table \"%s\" must give a value for column \"%s\"",
					ss->map->relname, first),
			 errdetail("Comet's %s answers for given keys only; the scan sends them from filters = or IN (...) on the key columns, or from a join on them.",
					   ep->path),
			 errhint("Add %s (or IN (...), or a join on %s).", where.data,
					  n > 1 ? "these columns" : "the column")));
}

/*
 * The request's own parameters multiply the contexts the keys start: their
 * product stays within max_keys too (cross_keys checks the contexts alone).
 */
static void
check_key_product(CometScanState *ss)
{
	const int  *k;
	int64		n = 1;
	int			s;
	StringInfoData what;
	static const int start_slots[][2] = {
		[LEVEL_NONE] = {-1, -1},
		[LEVEL_WORKSPACE] = {SLOT_WORKSPACE, -1},
		[LEVEL_PROJECT] = {SLOT_WORKSPACE, SLOT_PROJECT_NAME},
		[LEVEL_EXPERIMENT] = {SLOT_EXPERIMENT, -1},
		[LEVEL_METRIC] = {SLOT_EXPERIMENT, SLOT_METRIC},
	};
	static const int by_id[2] = {SLOT_PROJECT_ID, -1};

	for (s = COMET_NSLOTS; s < COMET_NKEYS; s++)
		if (ss->keys[s] != NULL)
			break;
	if (s >= COMET_NKEYS)
		return;
	initStringInfo(&what);
	k = start_slots[ss->shape.start];
	if (ss->shape.start == LEVEL_PROJECT && ss->keys[SLOT_PROJECT_ID] != NULL)
		k = by_id;
	for (s = 0; s < 2; s++)
		if (k[s] >= 0 && ss->keys[k[s]] != NULL)
		{
			n *= ss->keys[k[s]]->n;
			appendStringInfo(&what, "%s%s", what.len ? " crossed with " : "",
							 comet_slot_column(k[s]));
		}
	for (s = COMET_NSLOTS; s < COMET_NKEYS; s++)
		if (ss->keys[s] != NULL)
		{
			n *= ss->keys[s]->n;
			appendStringInfo(&what, "%s%s", what.len ? " crossed with " : "",
							 comet_key_column(ss->ep, s));
			if (n > ss->opts.max_keys)
				too_many_keys(ss, what.data, n);
		}
}

static void
start_scan(CometScanState *ss)
{
	CometContext root;
	MemoryContext old;

	MemoryContextReset(ss->run_cxt);
	ss->expansions = NIL;
	ss->npending = 0;
	ss->pending = NULL;
	ss->producers = 0;
	old = MemoryContextSwitchTo(ss->run_cxt);
	if (!ss->shared)
	{
		ss->batch = comet_batch_begin(ss->server, ss->userid, ss->run_cxt);
		comet_batch_set_refill(ss->batch, refill, ss);
	}
	eval_keys(ss);
	check_required(ss);
	check_key_product(ss);
	eval_search(ss);
	MemoryContextSwitchTo(old);
	ss->started = true;
	if (ss->empty)
		return;

	memset(&root, 0, sizeof(root));
	switch (ss->shape.start)
	{
		case LEVEL_NONE:
			dispatch(ss, &root);
			break;
		case LEVEL_WORKSPACE:
			cross_keys(ss, &root, SLOT_WORKSPACE, -1, LEVEL_WORKSPACE);
			break;
		case LEVEL_PROJECT:
			if (ss->keys[SLOT_PROJECT_ID] != NULL)
				cross_keys(ss, &root, SLOT_PROJECT_ID, -1, LEVEL_PROJECT);
			else if (ss->keys[SLOT_WORKSPACE]->n * ss->keys[SLOT_PROJECT_NAME]->n == 1)
				cross_keys(ss, &root, SLOT_WORKSPACE, SLOT_PROJECT_NAME, LEVEL_PROJECT);
			else
			{
				/*
				 * Several workspaces or names: the query did not name pairs,
				 * and a pair that does not exist is a 404.  List each
				 * workspace's projects and keep those named instead.
				 */
				cross_keys(ss, &root, SLOT_WORKSPACE, -1, LEVEL_WORKSPACE);
			}
			break;
		case LEVEL_EXPERIMENT:
			cross_keys(ss, &root, SLOT_EXPERIMENT, -1, LEVEL_EXPERIMENT);
			break;
		case LEVEL_METRIC:
			cross_keys(ss, &root, SLOT_EXPERIMENT, SLOT_METRIC, LEVEL_METRIC);
			break;
	}
}

/*
 * Does row r of a response belong to the variant it was asked for?  A
 * boolean flag Comet leaves out is false (an archived experiment always
 * says so), so an experiment is never listed by both variants.
 */
static bool
variant_matches(CometDoc *doc, int r, const CometEndpoint *ep,
				const char *variant)
{
	const CometColumn *col;

	if (ep->variant == NULL || variant == NULL)
		return true;
	col = comet_endpoint_column(ep, ep->variant->column);
	if (col == NULL || col->field == NULL)
		return true;
	if (col->type == BOOLOID)
	{
		int			b = comet_doc_bool(doc, r, col->field);

		return (b == 1) == (strcmp(variant, "true") == 0);
	}
	else
	{
		char	   *v = comet_doc_string(doc, r, col->field);

		return v == NULL || strcmp(v, variant) == 0;
	}
}

/* ---- listings ---- */

/*
 * A response's body and its decoded form together stay within
 * max_response_bytes: a few hundred kilobytes of gzip can describe a
 * hundred million values.
 */
static int64
parse_budget(CometScanState *ss, CometFetch *f)
{
	return Max(ss->opts.max_response_bytes - (int64) f->len, 1);
}

static void
push_expansion(CometScanState *ss, CometStep *step, CometFetch *f)
{
	MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);
	Expansion  *x = palloc0(sizeof(Expansion));

	x->cxt = AllocSetContextCreate(ss->run_cxt, "comet_fdw listing",
								   ALLOCSET_SMALL_SIZES);
	x->step = step;
	x->fetch = f;
	x->doc = comet_doc_parse(f->body, f->len, step->ep, f->request, x->cxt,
							 parse_budget(ss, f));
	comet_batch_keep(ss->batch, f);
	x->nrows = comet_doc_nrows(x->doc);
	ss->expansions = lappend(ss->expansions, x);
	if (step->kind == STEP_LIST)
	{
		int			s;

		for (s = SLOT_WORKSPACE; s <= SLOT_PROJECT_NAME; s++)
			if (comet_slot_level(s) == step->ctx.level + 1)
				ss->listed[s] = true;
	}
	MemoryContextSwitchTo(old);
}

static void
pop_expansion(CometScanState *ss)
{
	Expansion  *x = llast(ss->expansions);

	ss->expansions = list_delete_last(ss->expansions);
	MemoryContextDelete(x->cxt);
	comet_batch_release(ss->batch, x->fetch);
	free_step(x->step);
	pfree(x);
	ss->producers--;
}

/*
 * One listed child: its context, unless the key quals rule it out (then
 * it is never requested).  The strings live in row_cxt.
 */
static bool
listed_child(CometScanState *ss, Expansion *x, int r, CometContext *child)
{
	CometStep  *step = x->step;
	int			c,
				s;

	*child = step->ctx;
	if (!variant_matches(x->doc, r, step->ep, step->variant))
		return false;
	for (c = 0; c < step->ep->ncols; c++)
	{
		const CometColumn *col = &step->ep->cols[c];
		char	   *v;

		if (col->slot < 0 || col->conv == CONV_SLOT)
			continue;
		/* filling in a context never changes what it was asked for */
		if (step->kind == STEP_ENRICH && child->slot[col->slot] != NULL)
			continue;
		v = comet_doc_string(x->doc, r, col->conv == CONV_ELEMENT ? NULL : col->field);
		if (v != NULL)
			child->slot[col->slot] = v;
	}
	for (s = 0; s < COMET_NSLOTS; s++)
		if (ss->keys[s] != NULL && child->slot[s] != NULL &&
			!keyset_has(ss->keys[s], child->slot[s]))
			return false;
	/* which names the listings found, for the "matched nothing" notice */
	if (step->kind == STEP_LIST)
		for (s = SLOT_WORKSPACE; s <= SLOT_PROJECT_NAME; s++)
			if (ss->keys[s] != NULL && child->slot[s] != NULL &&
				comet_slot_level(s) == step->ctx.level + 1)
			{
				MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);

				if (ss->matched[s] == NULL)
					ss->matched[s] = keyset_new(4);
				if (!keyset_has(ss->matched[s], child->slot[s]))
					keyset_add(ss->matched[s], pstrdup(child->slot[s]));
				MemoryContextSwitchTo(old);
			}

	if (step->kind == STEP_ENRICH)
		child->enriched = true;
	else
		child->level = (CometLevel) (step->ctx.level + 1);
	/* a listed child may lack its key (null in the JSON): skip it */
	if (child->level == LEVEL_WORKSPACE && child->slot[SLOT_WORKSPACE] == NULL)
		return false;
	if (child->level == LEVEL_PROJECT && child->slot[SLOT_PROJECT_ID] == NULL &&
		(child->slot[SLOT_WORKSPACE] == NULL || child->slot[SLOT_PROJECT_NAME] == NULL))
		return false;
	if (child->level >= LEVEL_EXPERIMENT && child->slot[SLOT_EXPERIMENT] == NULL)
		return false;
	if (child->level == LEVEL_METRIC && child->slot[SLOT_METRIC] == NULL)
		return false;
	return true;
}

/*
 * The batch's call for more work: dispatches listed children, newest
 * listing first, until something was queued or nothing is left.
 */
static bool
refill(void *arg)
{
	CometScanState *ss = (CometScanState *) arg;
	int			before = ss->batch->nqueued;

	/* a child may queue nothing yet (it joins a pending POST) */
	while (ss->batch->nqueued == before && ss->expansions != NIL)
	{
		Expansion  *x = llast(ss->expansions);
		MemoryContext old;
		CometContext child;
		int			r;

		if (x->row >= x->nrows)
		{
			pop_expansion(ss);
			continue;
		}
		r = x->row++;
		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(ss->row_cxt);
		if (listed_child(ss, x, r, &child))
		{
			MemoryContextSwitchTo(ss->run_cxt);
			dispatch(ss, &child);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(ss->row_cxt);
	}
	/* nothing can join the pending POST any more: send it */
	if (ss->batch->nqueued == before && ss->expansions == NIL &&
		ss->producers == 0 && ss->pending != NULL)
		flush_pending(ss);
	return ss->batch->nqueued > before;
}

/*
 * A workspace or project name the query gave that no listing had is most
 * likely a typo: say so, rather than return nothing without a word.
 */
static void
notice_unmatched(CometScanState *ss)
{
	int			s;

	for (s = SLOT_WORKSPACE; s <= SLOT_PROJECT_NAME; s++)
	{
		ListCell   *lc;

		if (!ss->named[s] || ss->keys[s] == NULL)
			continue;
		/* a listing at the slot's level must have been read */
		if (!ss->listed[s])
			continue;
		foreach(lc, ss->keys[s]->values)
		{
			char	   *v = lfirst(lc);

			if (ss->matched[s] != NULL && keyset_has(ss->matched[s], v))
				continue;
			ereport(NOTICE,
					(errmsg("no Comet %s is named \"%s\"",
							s == SLOT_WORKSPACE ? "workspace" : "project",
							pg_any_to_server(v, strlen(v), PG_UTF8)),
					 errdetail("The filter %s = '...' matched nothing the API key can see.",
							   comet_slot_column(s)),
					 errhint("Names are compared exactly (case matters): SELECT %s FROM the %s table lists them.",
							 comet_slot_column(s),
							 s == SLOT_WORKSPACE ? "workspaces" : "projects")));
		}
	}
}

/*
 * A project's names arrived (one of its variants): once all have, the
 * listings of its experiments that were waiting for them are expanded
 * (expand_listing), each experiment asked for those names.
 */
static void
take_names(CometScanState *ss, CometStep *step, CometFetch *f)
{
	MemoryContext cxt;
	CometDoc   *doc = parse_aside(ss, f, &cxt);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	const CometPost *post = ss->shape.target->post;
	const CometColumn *namecol = comet_endpoint_column(step->ep, "name");
	const CometColumn *wherecol = comet_endpoint_column(step->ep, post->names_where[0]);
	ProjectNames *pn = step->names;
	int			r,
				n;

	n = comet_doc_nrows(doc);
	for (r = 0; r < n; r++)
	{
		char	   *w = comet_doc_string(doc, r, wherecol->field);
		char	   *name;

		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (w == NULL || strcmp(w, post->names_where[1]) != 0)
			continue;
		name = comet_doc_string(doc, r, namecol->field);
		if (name != NULL && *name != '\0' && !keyset_has(pn->names, name))
		{
			/* the set (its list and table too) lives as long as the run */
			MemoryContextSwitchTo(ss->run_cxt);
			keyset_add(pn->names, pstrdup(name));
			MemoryContextSwitchTo(cxt);
		}
	}
	MemoryContextSwitchTo(old);
	if (--pn->pending == 0)
	{
		ListCell   *lc;

		foreach(lc, pn->parked)
		{
			CometFetch *lf = lfirst(lc);

			expand_listing(ss, lf->arg, lf);
		}
		list_free(pn->parked);
		pn->parked = NIL;
	}
	done_aside(ss, step, f, cxt);
}

/*
 * A listing of a project's experiments whose names are all in: each
 * experiment is asked for those names.  A project without any name has no
 * rows: its experiments are dropped unread.
 */
static void
expand_listing(CometScanState *ss, CometStep *step, CometFetch *f)
{
	ProjectNames *pn = step->names;

	step->names = NULL;
	if (pn->names->n == 0)
	{
		comet_batch_release(ss->batch, f);
		free_step(step);
		ss->producers--;
		return;
	}
	step->ctx.names = pn->names;
	push_expansion(ss, step, f);
}

/* A listing that needs its project's names: parked until they are in. */
static void
take_listing(CometScanState *ss, CometStep *step, CometFetch *f)
{
	ProjectNames *pn = step->names;

	if (pn->pending > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);

		pn->parked = lappend(pn->parked, f);
		MemoryContextSwitchTo(old);
		return;
	}
	expand_listing(ss, step, f);
}

/*
 * Every key a POST asked about must be in its answer: one left out is an
 * error naming it, never a series left out in silence.
 */
static void
check_members(CometScanState *ss, CometStep *step, CometFetch *f)
{
	int			kslot = step->ep->nested->key_slot;
	ListCell   *lc;

	foreach(lc, step->batch)
	{
		CometContext *c = lfirst(lc);

		if (!comet_doc_has_member(ss->doc, c->slot[kslot]))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Comet's answer leaves out the %s %s it was asked for",
							comet_slot_column(kslot),
							pg_any_to_server(c->slot[kslot], strlen(c->slot[kslot]), PG_UTF8)),
					 errdetail("POST %s: \"%s\" has no member \"%s\".",
							   comet_request_text(f->request), step->ep->list_key,
							   pg_any_to_server(c->slot[kslot], strlen(c->slot[kslot]), PG_UTF8)),
					 errhint("No series is left out in silence; read the experiment through raw_metrics, or check that it exists.")));
	}
}

/*
 * Rows nested in members: the context (the key columns) of the member a
 * row is in, set once per member.  False for a member nobody asked for.
 */
static bool
member_context(CometScanState *ss, int r)
{
	int32		m = comet_doc_member_ref(ss->doc, r);
	int			kslot = ss->doc_step->ep->nested->key_slot;
	char	   *key;
	ListCell   *lc;
	MemoryContext old;

	if (m == ss->doc_member)
		return ss->doc_member_ok;
	ss->doc_member = m;
	ss->doc_member_ok = false;
	ss->doc_ctx = NULL;
	ss->doc_elem = -1;
	key = comet_doc_member_key(ss->doc, r);
	if (key == NULL)
		return false;
	foreach(lc, ss->doc_step->batch)
	{
		CometContext *c = lfirst(lc);

		if (strcmp(c->slot[kslot], key) != 0)
			continue;
		old = MemoryContextSwitchTo(ss->page_cxt);
		comet_row_map_set_context(ss->map, c->slot);
		MemoryContextSwitchTo(old);
		ss->doc_member_ok = true;
		ss->doc_ctx = c;
		break;
	}
	pfree(key);
	return ss->doc_member_ok;
}

/*
 * Whether a row's element (a series) is one this request asked for: a
 * request asks all its keys for all its names, but each pair of key and
 * name is one request's only (another may ask the same key other names).
 */
static bool
element_asked(CometScanState *ss, int r)
{
	const CometNested *nested = ss->doc_step->ep->nested;
	int32		e = comet_doc_row_ref(ss->doc, r);
	char	   *name;

	if (e == ss->doc_elem)
		return ss->doc_elem_ok;
	ss->doc_elem = e;
	if (nested->element_name == NULL || ss->doc_ctx == NULL || ss->doc_ctx->names == NULL)
		return ss->doc_elem_ok = true;
	name = comet_doc_string(ss->doc, r, nested->element_name);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("Comet response has an unexpected shape: a series without \"%s\"",
						nested->element_name),
				 errdetail("POST %s: in \"%s\" of member \"%s\".",
						   comet_request_text(ss->doc_fetch->request), nested->member_list,
						   ss->doc_ctx->slot[nested->key_slot])));
	ss->doc_elem_ok = keyset_has(ss->doc_ctx->names, name);
	pfree(name);
	return ss->doc_elem_ok;
}

/* run_cxt is going (end, rescan, error): nobody will wait for the job */
static void
abandon_bg(void *arg)
{
	CometScanState *ss = arg;

	if (ss->bg_job != NULL)
		comet_doc_abandon_job(ss->bg_job);
	ss->bg_job = NULL;
	ss->bg_fetch = NULL;
	ss->bg_cb_set = false;
}

/*
 * The next response of the scan, when it is already in: parsed by the
 * background thread while this one's rows are returned (two cores, not
 * one, for a scan whose decoding outruns the network).
 */
static void
parse_ahead(CometScanState *ss)
{
	CometFetch *f;
	CometStep  *step;

	if (ss->bg_job != NULL || ss->shared || !comet_background_parse)
		return;
	f = comet_batch_peek(ss->batch);
	if (f == NULL || f->body == NULL)
		return;
	step = (CometStep *) f->arg;
	if (step->kind != STEP_TARGET || step->owner != ss)
		return;
	ss->bg_job = comet_doc_start_job(f->body, f->len, step->ep, parse_budget(ss, f),
									 ss->map);
	if (ss->bg_job == NULL)
		return;
	ss->bg_fetch = f;
	if (!ss->bg_cb_set)
	{
		ss->bg_cb.func = abandon_bg;
		ss->bg_cb.arg = ss;
		MemoryContextRegisterResetCallback(ss->run_cxt, &ss->bg_cb);
		ss->bg_cb_set = true;
	}
}

/*
 * A response with rows, parsed: the scan's current document until
 * close_doc.  Its body is kept as long as the document points into it (a
 * document parsed ahead has its own copy).
 */
static void
open_doc(CometScanState *ss, CometStep *step, CometFetch *f)
{
	MemoryContext old = MemoryContextSwitchTo(ss->page_cxt);
	void	   *job = NULL;

	if (ss->bg_job != NULL && ss->bg_fetch == f)
	{
		job = ss->bg_job;
		ss->bg_job = NULL;
		ss->bg_fetch = NULL;
	}
	else
		parse_ahead(ss);		/* the next one, while this one parses here */
	ss->doc = comet_doc_parse_job(f->body, f->len, step->ep, f->request,
								  ss->page_cxt, parse_budget(ss, f), job);
	if (job != NULL)
		comet_batch_keep_body(ss->batch, f);	/* the doc has its own copy */
	else
		comet_batch_keep(ss->batch, f);
	if (step->ep->sort_points)
		comet_doc_sort_points(ss->doc);
	ss->doc_step = step;
	ss->doc_fetch = f;
	/* the key columns: once per response (or member), not once per row */
	if (step->ep->nested)
	{
		check_members(ss, step, f);
		ss->doc_member = -1;
		ss->doc_member_ok = false;
		ss->doc_ctx = NULL;
		ss->doc_elem = -1;
	}
	else
		comet_row_map_set_context(ss->map, step->ctx.slot);
	MemoryContextSwitchTo(old);
	ss->row = 0;
	ss->nrows = comet_doc_nrows(ss->doc);
	parse_ahead(ss);
}

/* Whether a row of the current document is one of the scan's. */
static bool
row_wanted(CometScanState *ss, int r)
{
	if (!variant_matches(ss->doc, r, ss->doc_step->ep, ss->doc_step->variant))
		return false;
	if (ss->doc_step->ep->nested &&
		(!member_context(ss, r) || !element_asked(ss, r)))
		return false;
	return true;
}

static void
close_doc(CometScanState *ss)
{
	ss->doc = NULL;
	MemoryContextReset(ss->page_cxt);
	comet_batch_release(ss->batch, ss->doc_fetch);
	ss->doc_fetch = NULL;
	free_step(ss->doc_step);
	ss->doc_step = NULL;
}

/* A finished fetch that is not rows: a listing, names or types. */
static void
take_step(CometScanState *ss, CometStep *step, CometFetch *f)
{
	if (step->kind == STEP_NAMES)
		take_names(ss, step, f);
	else if (step->kind == STEP_TYPES)
		take_types(ss, step, f);
	else if (step->kind == STEP_LIST && step->names != NULL)
		take_listing(ss, step, f);
	else
		push_expansion(ss, step, f);
}

TupleTableSlot *
comet_scan_next(CometScanState *ss, TupleTableSlot *slot)
{
	ExecClearTuple(slot);
	if (!ss->started)
		start_scan(ss);

	for (;;)
	{
		CometFetch *f;
		CometStep  *step;

		while (ss->doc != NULL && ss->row < ss->nrows)
		{
			int			r = ss->row++;
			MemoryContext old;

			/* keep the other transfers moving while a long response decodes */
			if ((r & (COMET_PUMP_ROWS - 1)) == COMET_PUMP_ROWS - 1)
			{
				comet_batch_pump(ss->batch);
				parse_ahead(ss);
			}
			if (!row_wanted(ss, r))
				continue;
			old = MemoryContextSwitchTo(ss->node->ss.ps.ps_ExprContext->ecxt_per_tuple_memory);
			comet_doc_fill(ss->doc, r, ss->map, slot->tts_values, slot->tts_isnull);
			MemoryContextSwitchTo(old);
			return ExecStoreVirtualTuple(slot);
		}
		if (ss->doc != NULL)
			close_doc(ss);
		if (ss->empty)
			return slot;

		f = comet_batch_next(ss->batch);
		if (f == NULL)
		{
			notice_unmatched(ss);
			return slot;
		}
		step = (CometStep *) f->arg;
		if (step->kind == STEP_TARGET)
			open_doc(ss, step, f);
		else
			take_step(ss, step, f);
	}
}

static void
finish_run(CometScanState *ss)
{
	if (ss->shared)
		ss->batch = NULL;		/* the join's: it counts and cancels it */
	if (ss->batch != NULL)
	{
		comet_counters_add(&ss->totals, ss->batch);
		comet_batch_cancel(ss->batch);
		ss->batch = NULL;
	}
	ss->doc = NULL;
	ss->doc_fetch = NULL;		/* these live in run_cxt */
	ss->doc_step = NULL;
	ss->expansions = NIL;
	ss->pending = NULL;
	ss->producers = 0;
	MemoryContextReset(ss->page_cxt);
	MemoryContextReset(ss->row_cxt);
	MemoryContextReset(ss->run_cxt);
	ss->started = false;
}

/*
 * Rescans start over; the statement-level response cache answers what was
 * already fetched, so only changed keys cost requests.
 */
void
comet_scan_rescan(CometScanState *ss)
{
	finish_run(ss);
}

void
comet_scan_end(CometScanState *ss)
{
	finish_run(ss);
}

/* ---- sub-scans of a join: a batch shared with other scans ---- */

void
comet_subscan_start(CometScanState *ss, CometBatch *batch)
{
	ss->shared = true;
	ss->batch = batch;
	start_scan(ss);
}

/* The scan a finished fetch of a shared batch belongs to. */
CometScanState *
comet_fetch_scan(CometFetch *f)
{
	return ((CometStep *) f->arg)->owner;
}

/* More requests from the scan's listings; false when it has none left. */
bool
comet_subscan_refill(CometScanState *ss)
{
	if (ss->empty || !ss->started)
		return false;
	return refill(ss);
}

/*
 * A fetch of this scan, taken from the shared batch: a listing is queued
 * for expansion; the rows of a response are handed to fn one by one (in
 * ss->values and ss->nulls, valid during the call), then the response goes.
 */
void
comet_subscan_take(CometScanState *ss, CometFetch *f,
				   void (*fn) (void *arg, Datum *values, bool *nulls),
				   void *arg)
{
	CometStep  *step = (CometStep *) f->arg;
	ExprContext *econtext = ss->node->ss.ps.ps_ExprContext;
	MemoryContext old;

	ss->npending--;
	if (step->kind != STEP_TARGET)
	{
		take_step(ss, step, f);
		return;
	}
	open_doc(ss, step, f);
	while (ss->row < ss->nrows)
	{
		int			r = ss->row++;

		if ((r & (COMET_PUMP_ROWS - 1)) == COMET_PUMP_ROWS - 1)
			comet_batch_pump(ss->batch);
		if (!row_wanted(ss, r))
			continue;
		ResetExprContext(econtext);
		old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		comet_doc_fill(ss->doc, r, ss->map, ss->values, ss->nulls);
		fn(arg, ss->values, ss->nulls);
		MemoryContextSwitchTo(old);
	}
	close_doc(ss);
}

/*
 * Has the sub-scan given all its rows?  Nothing of it queued or on the
 * wire, and every listed child dispatched.
 */
bool
comet_subscan_done(CometScanState *ss)
{
	ListCell   *lc;

	if (!ss->started)
		return false;
	if (ss->empty)
		return true;
	if (ss->npending > 0 || ss->pending != NULL)
		return false;
	foreach(lc, ss->expansions)
		if (((Expansion *) lfirst(lc))->row < ((Expansion *) lfirst(lc))->nrows)
			return false;
	return true;
}

/* What a join may keep of a sub-scan's rows: the server's byte budget. */
int64
comet_subscan_budget(CometScanState *ss)
{
	return ss->opts.max_response_bytes;
}

/* At the end of a join: the notices a scan of its own would give. */
void
comet_subscan_finish(CometScanState *ss)
{
	notice_unmatched(ss);
}

static char *
deparse_key(CometScanState *ss, ExplainState *es, Expr *expr, int info)
{
	int			slot = COMET_KEY_SLOT(info);
	const char *col = comet_key_column(ss->ep, slot);
	const char *why = COMET_KEY_IMPLIED(info) ? " (implied by the join)" : "";
	List	   *dpcontext;
	char	   *val;

	dpcontext = set_deparse_context_plan(es->deparse_cxt,
										 ss->node->ss.ps.plan, NIL);
	val = deparse_expression((Node *) expr, dpcontext, false, false);
	if (COMET_KEY_IS_ARRAY(info))
		return psprintf("%s = ANY (%s)%s", col, val, why);
	return psprintf("%s = %s%s", col, val, why);
}

/* Required keys the plan has no value for: the scan will raise, say so. */
static void
explain_missing_keys(CometScanState *ss, ExplainState *es)
{
	StringInfoData missing;
	int			c;

	initStringInfo(&missing);
	for (c = 0; c < ss->ep->ncols; c++)
	{
		const CometColumn *col = &ss->ep->cols[c];
		bool		given = false;
		ListCell   *lc;

		if (!col->required)
			continue;
		foreach(lc, ss->key_info)
			given |= COMET_KEY_SLOT(lfirst_int(lc)) == col->slot;
		if (!given)
			appendStringInfo(&missing, "%s%s", missing.len ? ", " : "", col->name);
	}
	if (missing.len > 0)
		ExplainPropertyText("Comet Missing Keys",
							psprintf("%s (required: the scan raises at its first row)",
									 missing.data), es);
}

/*
 * EXPLAIN lines of a scan: its request, the keys its expressions give (the
 * plan's fdw_exprs, or a join side's share of them) and its fan-out.  A
 * join labels each side's lines with the side's table.
 */
void
comet_scan_explain_lines(CometScanState *ss, ExplainState *es, List *exprs,
						 const char *label)
{
	ListCell   *lc1,
			   *lc2;
	char	   *fanout;
	const char *sfx = label ? psprintf(" (%s)", label) : "";

	ExplainPropertyText(psprintf("Comet Request%s", sfx),
						comet_describe_request(&ss->shape), es);
	if (exprs != NIL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		forboth(lc1, exprs, lc2, ss->key_info)
		{
			if (buf.len > 0)
				appendStringInfoString(&buf, " AND ");
			appendStringInfoString(&buf, deparse_key(ss, es, lfirst(lc1),
													 lfirst_int(lc2)));
		}
		ExplainPropertyText(psprintf("Comet Keys%s", sfx), buf.data, es);
	}
	fanout = comet_describe_fanout(&ss->shape);
	if (fanout)
		ExplainPropertyText(psprintf("Comet Fan-out%s", sfx), fanout, es);
	explain_missing_keys(ss, es);
	if (ss->search_states != NIL && ss->ep->search)
	{
		List	   *dpcontext = set_deparse_context_plan(es->deparse_cxt,
														 ss->node->ss.ps.plan, NIL);
		int			nkeys = list_length(exprs) - list_length(ss->search_states);
		Expr	   *value = llast(exprs);
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfo(&buf, "POST project/query where %s ", ss->ep->search->source);
		if (list_length(ss->search_states) == 2)
			appendStringInfo(&buf, "%s ",
							 deparse_expression(list_nth(exprs, nkeys),
												dpcontext, false, false));
		appendStringInfo(&buf, "= %s, for each project of the fan-out%s",
						 deparse_expression((Node *) value, dpcontext, false, false),
						 ss->ep->search->typed ?
						 " whose project/column-names type makes the match certain" : "");
		ExplainPropertyText(psprintf("Comet Search%s", sfx), buf.data, es);
	}
}

/* A batch's counters, added to a scan's totals. */
void
comet_counters_add(CometCounters *to, CometBatch *batch)
{
	to->requests += batch->counters.requests;
	to->retries += batch->counters.retries;
	to->cache_hits += batch->counters.cache_hits;
	to->bytes += batch->counters.bytes;
	to->errors += batch->counters.errors;
	to->http_ms += batch->counters.http_ms;
}

void
comet_explain_counters(CometCounters c, CometBatch *batch, ExplainState *es)
{
	if (batch)
		comet_counters_add(&c, batch);
	ExplainPropertyInteger("Comet Requests", NULL, c.requests, es);
	ExplainPropertyInteger("Comet Cache Hits", NULL, c.cache_hits, es);
	ExplainPropertyInteger("Comet Retries", NULL, c.retries, es);
	ExplainPropertyInteger("Comet Bytes", NULL, c.bytes, es);
	if (es->timing)
		ExplainPropertyFloat("Comet HTTP Time", "ms", c.http_ms, 1, es);
}

void
comet_scan_explain(CometScanState *ss, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) ss->node->ss.ps.plan;

	comet_scan_explain_lines(ss, es, fsplan->fdw_exprs, NULL);
	if (es->analyze)
		comet_explain_counters(ss->totals, ss->batch, es);
}
