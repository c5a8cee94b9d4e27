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
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"

#include "comet_fdw.h"

typedef struct CometContext
{
	char	   *slot[COMET_NSLOTS];
	CometLevel	level;
	bool		enriched;
} CometContext;

typedef enum StepKind
{
	STEP_LIST,					/* lists the children of a context */
	STEP_ENRICH,				/* fills in a context given by key only */
	STEP_TARGET					/* the rows of the scan */
} StepKind;

typedef struct CometStep
{
	StepKind	kind;
	const CometEndpoint *ep;
	CometContext ctx;
	const char *variant;		/* value of the variant parameter, or NULL */
} CometStep;

struct CometScanState
{
	ForeignScanState *node;
	const CometEndpoint *ep;
	CometShape	shape;
	List	   *key_states;		/* ExprState per key qual */
	List	   *key_info;		/* (slot + 1) * 2 + is_array */
	CometRowMap *map;
	ForeignServer *server;
	Oid			userid;
	MemoryContext run_cxt;		/* one (re)scan: batch, fetches, contexts */
	MemoryContext page_cxt;		/* the response being returned */
	MemoryContext list_cxt;		/* a listing response being expanded */
	CometBatch *batch;
	bool		started;
	bool		empty;			/* a key set is empty: no request at all */
	List	   *keys[COMET_NSLOTS]; /* char * values, NIL if not keyed */
	List	   *variant_values;
	/* the response rows come from; the parsed document points into its body */
	CometDoc   *doc;
	char	   *doc_body;
	CometStep  *doc_step;
	int			row;
	int			nrows;
	const CometColumn *variant_col;
	CometCounters totals;		/* of finished (re)scans */
};

static void dispatch(CometScanState *ss, CometContext *ctx);

/* Steps and fetches are freed as soon as they are used up: a walk over
 * thousands of experiments keeps only what is still queued. */
static void
free_step(CometStep *step)
{
	int			i;

	for (i = 0; i < COMET_NSLOTS; i++)
		if (step->ctx.slot[i])
			pfree(step->ctx.slot[i]);
	pfree(step);
}

CometScanState *
comet_scan_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	CometScanState *ss = palloc0(sizeof(CometScanState));
	Relation	rel = node->ss.ss_currentRelation;
	char	   *epname = strVal(list_nth(fsplan->fdw_private, CometScanPrivateEndpoint));
	List	   *attrs = list_nth(fsplan->fdw_private, CometScanPrivateAttrs);
	Bitmapset  *attrs_used = NULL;
	bool		keyed[COMET_NSLOTS];
	ListCell   *lc;

	ss->node = node;
	ss->ep = comet_endpoint_lookup(epname);
	if (ss->ep == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("unknown Comet endpoint \"%s\"", epname)));
	ss->key_info = list_nth(fsplan->fdw_private, CometScanPrivateKeyInfo);
	ss->key_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);

	memset(keyed, 0, sizeof(keyed));
	foreach(lc, ss->key_info)
	{
		int			slot = lfirst_int(lc) / 2 - 1;

		if (slot >= 0)
			keyed[slot] = true;
	}
	comet_plan_shape(ss->ep, keyed, &ss->shape);
	if (ss->shape.target->variant)
		ss->variant_col = comet_endpoint_column(ss->shape.target,
												ss->shape.target->variant->column);

	foreach(lc, attrs)
		attrs_used = bms_add_member(attrs_used,
									lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ss->map = comet_build_row_map(rel, ss->shape.target, attrs_used);

	ss->server = GetForeignServer(GetForeignTable(RelationGetRelid(rel))->serverid);
	/* the role whose user mapping is used: a view's owner, or the caller */
#if PG_VERSION_NUM >= 160000
	ss->userid = OidIsValid(fsplan->checkAsUser) ? fsplan->checkAsUser : GetUserId();
#else
	{
		RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, estate);

		ss->userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	}
#endif

	ss->run_cxt = AllocSetContextCreate(estate->es_query_cxt,
										"comet_fdw scan", ALLOCSET_DEFAULT_SIZES);
	ss->page_cxt = AllocSetContextCreate(estate->es_query_cxt,
										 "comet_fdw response", ALLOCSET_DEFAULT_SIZES);
	ss->list_cxt = AllocSetContextCreate(estate->es_query_cxt,
										 "comet_fdw listing", ALLOCSET_DEFAULT_SIZES);
	/* no request, no key lookup here: EXPLAIN and LIMIT 0 stop before Iterate */
	return ss;
}

/* ---- key values ---- */

static List *
add_unique(List *list, char *value)
{
	ListCell   *lc;

	foreach(lc, list)
		if (strcmp((char *) lfirst(lc), value) == 0)
			return list;
	return lappend(list, value);
}

static char *
datum_key_string(Datum d, Oid type)
{
	if (type == BOOLOID)
		return pstrdup(DatumGetBool(d) ? "true" : "false");
	return TextDatumGetCString(d);
}

/* The values of one key qual, NULLs dropped, duplicates removed. */
static List *
eval_key(ExprState *es, bool is_array, ExprContext *econtext)
{
	Datum		d;
	bool		isnull;
	Oid			type = exprType((Node *) es->expr);
	List	   *values = NIL;

	d = ExecEvalExpr(es, econtext, &isnull);
	if (isnull)
		return NIL;
	if (!is_array)
		return list_make1(datum_key_string(d, type));
	{
		ArrayType  *arr = DatumGetArrayTypeP(d);
		Oid			elemtype = ARR_ELEMTYPE(arr);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					i;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, elemtype, typlen, typbyval, typalign,
						  &elems, &nulls, &n);
		for (i = 0; i < n; i++)
			if (!nulls[i])
				values = add_unique(values, datum_key_string(elems[i], elemtype));
	}
	return values;
}

static List *
intersect(List *a, List *b)
{
	List	   *r = NIL;
	ListCell   *lc,
			   *lc2;

	foreach(lc, a)
		foreach(lc2, b)
			if (strcmp(lfirst(lc), lfirst(lc2)) == 0)
			{
				r = lappend(r, lfirst(lc));
				break;
			}
	return r;
}

static bool
in_keys(List *keys, const char *value)
{
	ListCell   *lc;

	foreach(lc, keys)
		if (strcmp((char *) lfirst(lc), value) == 0)
			return true;
	return false;
}

static void
eval_keys(CometScanState *ss)
{
	ExprContext *econtext = ss->node->ss.ps.ps_ExprContext;
	bool		seen[COMET_NSLOTS + 1];
	ListCell   *lc1,
			   *lc2;

	memset(seen, 0, sizeof(seen));
	memset(ss->keys, 0, sizeof(ss->keys));
	ss->variant_values = NIL;
	ss->empty = false;
	forboth(lc1, ss->key_states, lc2, ss->key_info)
	{
		int			info = lfirst_int(lc2);
		int			slot = info / 2 - 1;
		List	   *values = eval_key(lfirst(lc1), info % 2, econtext);
		List	  **dest = slot >= 0 ? &ss->keys[slot] : &ss->variant_values;

		/* several quals on one key: only values that pass all of them */
		*dest = seen[slot + 1] ? intersect(*dest, values) : values;
		seen[slot + 1] = true;
		if (*dest == NIL)
			ss->empty = true;
	}
}

/* ---- requests ---- */

static void
append_param(StringInfo buf, bool *first, const char *name, const char *value)
{
	const char *p;

	appendStringInfoChar(buf, *first ? '?' : '&');
	*first = false;
	appendStringInfo(buf, "%s=", name);
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
issue(CometScanState *ss, StepKind kind, const CometEndpoint *ep,
	  CometContext *ctx, const char *variant)
{
	MemoryContext old = MemoryContextSwitchTo(ss->run_cxt);
	CometStep  *step = palloc(sizeof(CometStep));
	CometFetch *f = palloc0(sizeof(CometFetch));
	StringInfoData q;
	bool		first = true;
	int			i;

	step->kind = kind;
	step->ep = ep;
	step->ctx = *ctx;
	for (i = 0; i < COMET_NSLOTS; i++)
		step->ctx.slot[i] = ctx->slot[i] ? pstrdup(ctx->slot[i]) : NULL;
	step->variant = variant;

	initStringInfo(&q);
	appendStringInfoString(&q, ep->path);
	switch (ep->level)
	{
		case LEVEL_NONE:
			break;
		case LEVEL_WORKSPACE:
			append_param(&q, &first, "workspaceName", ctx->slot[SLOT_WORKSPACE]);
			break;
		case LEVEL_PROJECT:
			if (ctx->slot[SLOT_PROJECT_ID])
				append_param(&q, &first, "projectId", ctx->slot[SLOT_PROJECT_ID]);
			else
			{
				append_param(&q, &first, "workspaceName", ctx->slot[SLOT_WORKSPACE]);
				append_param(&q, &first, "projectName", ctx->slot[SLOT_PROJECT_NAME]);
			}
			break;
		case LEVEL_METRIC:
			append_param(&q, &first, "experimentKey", ctx->slot[SLOT_EXPERIMENT]);
			append_param(&q, &first, "metricName", ctx->slot[SLOT_METRIC]);
			break;
		case LEVEL_EXPERIMENT:
			append_param(&q, &first, "experimentKey", ctx->slot[SLOT_EXPERIMENT]);
			break;
	}
	if (ep->variant && variant)
		append_param(&q, &first, ep->variant->param, variant);
	if (ep->fixed_query)
	{
		appendStringInfoChar(&q, first ? '?' : '&');
		appendStringInfoString(&q, ep->fixed_query);
	}

	f->request = q.data;
	f->url = psprintf("%s/%s", ss->batch->opts.url, q.data);
	f->arg = step;
	/* first in, first out: a deterministic order, bodies bounded by the batch */
	comet_batch_add(ss->batch, f, false);
	MemoryContextSwitchTo(old);
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

		foreach(lc, ss->variant_values)
			issue(ss, kind, ep, ctx, lfirst(lc));
		return;
	}
	for (i = 0; i < v->ndefaults; i++)
		issue(ss, kind, ep, ctx, v->defaults[i]);
}

/* Slots the scan needs that the context lacks and will not get by listing. */
static bool
needs_enrich(CometScanState *ss, CometContext *ctx)
{
	const CometEndpoint *lister = NULL;
	int			s;

	if (ctx->enriched || comet_enricher_for(ctx->level) == NULL)
		return false;
	if (ctx->level < ss->shape.target->level &&
		!(ctx->level == LEVEL_EXPERIMENT && ss->keys[SLOT_METRIC] != NIL))
		lister = comet_lister_for(ctx->level);

	for (s = 0; s < COMET_NSLOTS; s++)
	{
		bool		filled_by_lister = false;
		int			c;

		if (!ss->map->need_context[s] || ctx->slot[s] != NULL ||
			comet_slot_level(s) > ctx->level)
			continue;
		if (lister)
			for (c = 0; c < lister->ncols; c++)
				if (lister->cols[c].slot == s)
					filled_by_lister = true;
		if (!filled_by_lister)
			return true;
	}
	return false;
}

static void
dispatch(CometScanState *ss, CometContext *ctx)
{
	const CometEndpoint *target = ss->shape.target;

	if (needs_enrich(ss, ctx))
	{
		issue(ss, STEP_ENRICH, comet_enricher_for(ctx->level), ctx, NULL);
		return;
	}
	if (ctx->level < target->level)
	{
		if (ctx->level == LEVEL_EXPERIMENT && ss->keys[SLOT_METRIC] != NIL)
		{
			/* metric names given: no need to discover them */
			ListCell   *lc;

			foreach(lc, ss->keys[SLOT_METRIC])
			{
				CometContext child = *ctx;

				child.level = LEVEL_METRIC;
				child.slot[SLOT_METRIC] = lfirst(lc);
				dispatch(ss, &child);
			}
			return;
		}
		issue_variants(ss, STEP_LIST, comet_lister_for(ctx->level), ctx, false);
		return;
	}
	issue_variants(ss, STEP_TARGET, target, ctx,
				   target->variant && ss->variant_values != NIL);
}

static void
cross(CometScanState *ss, CometContext *ctx, const int *slots, int nslots,
	  CometLevel level)
{
	ListCell   *lc;

	if (nslots == 0)
	{
		CometContext c = *ctx;

		c.level = level;
		dispatch(ss, &c);
		return;
	}
	foreach(lc, ss->keys[slots[0]])
	{
		CometContext c = *ctx;

		c.slot[slots[0]] = lfirst(lc);
		cross(ss, &c, slots + 1, nslots - 1, level);
	}
}

static void
start_scan(CometScanState *ss)
{
	CometContext root;
	MemoryContext old;
	int			slots[2];

	MemoryContextReset(ss->run_cxt);
	old = MemoryContextSwitchTo(ss->run_cxt);
	eval_keys(ss);
	ss->batch = comet_batch_begin(ss->server, ss->userid, ss->run_cxt);
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
			slots[0] = SLOT_WORKSPACE;
			cross(ss, &root, slots, 1, LEVEL_WORKSPACE);
			break;
		case LEVEL_PROJECT:
			if (ss->keys[SLOT_PROJECT_ID] != NIL)
			{
				slots[0] = SLOT_PROJECT_ID;
				cross(ss, &root, slots, 1, LEVEL_PROJECT);
			}
			else
			{
				slots[0] = SLOT_WORKSPACE;
				slots[1] = SLOT_PROJECT_NAME;
				cross(ss, &root, slots, 2, LEVEL_PROJECT);
			}
			break;
		case LEVEL_EXPERIMENT:
			slots[0] = SLOT_EXPERIMENT;
			cross(ss, &root, slots, 1, LEVEL_EXPERIMENT);
			break;
		case LEVEL_METRIC:
			slots[0] = SLOT_EXPERIMENT;
			slots[1] = SLOT_METRIC;
			cross(ss, &root, slots, 2, LEVEL_METRIC);
			break;
	}
}

/* Does row r of a response belong to the variant it was asked for? */
static bool
variant_matches(CometScanState *ss, CometDoc *doc, int r, const CometEndpoint *ep,
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

		/* archived=true may list active ones too: keep each once */
		return b < 0 || (b == 1) == (strcmp(variant, "true") == 0);
	}
	else
	{
		char	   *v = comet_doc_string(doc, r, col->field);

		return v == NULL || strcmp(v, variant) == 0;
	}
}

static void
expand(CometScanState *ss, CometStep *step, CometFetch *f)
{
	MemoryContext old = MemoryContextSwitchTo(ss->list_cxt);
	CometDoc   *doc = comet_doc_parse(f->body, f->len, step->ep, f->request,
									  ss->list_cxt);
	int			n;
	int			r,
				c,
				s;

	comet_batch_keep(ss->batch, f);
	n = comet_doc_nrows(doc);

	for (r = 0; r < n; r++)
	{
		CometContext child = step->ctx;
		bool		keep = true;

		if (!variant_matches(ss, doc, r, step->ep, step->variant))
			continue;
		for (c = 0; c < step->ep->ncols; c++)
		{
			const CometColumn *col = &step->ep->cols[c];
			char	   *v;

			if (col->slot < 0 || col->conv == CONV_SLOT)
				continue;
			/* filling in a context never changes what it was asked for */
			if (step->kind == STEP_ENRICH && child.slot[col->slot] != NULL)
				continue;
			v = comet_doc_string(doc, r, col->conv == CONV_ELEMENT ? NULL : col->field);
			if (v != NULL)
				child.slot[col->slot] = v;
		}
		/* children that the key quals rule out are never requested */
		for (s = 0; s < COMET_NSLOTS; s++)
			if (ss->keys[s] != NIL && child.slot[s] != NULL &&
				!in_keys(ss->keys[s], child.slot[s]))
				keep = false;
		if (!keep)
			continue;

		if (step->kind == STEP_ENRICH)
			child.enriched = true;
		else
			child.level = (CometLevel) (step->ctx.level + 1);
		/* a listed child may lack its key (null in the JSON): skip it */
		if (child.level == LEVEL_WORKSPACE && child.slot[SLOT_WORKSPACE] == NULL)
			continue;
		if (child.level == LEVEL_PROJECT && child.slot[SLOT_PROJECT_ID] == NULL &&
			(child.slot[SLOT_WORKSPACE] == NULL || child.slot[SLOT_PROJECT_NAME] == NULL))
			continue;
		if (child.level >= LEVEL_EXPERIMENT && child.slot[SLOT_EXPERIMENT] == NULL)
			continue;
		if (child.level == LEVEL_METRIC && child.slot[SLOT_METRIC] == NULL)
			continue;

		MemoryContextSwitchTo(ss->run_cxt);
		dispatch(ss, &child);
		MemoryContextSwitchTo(ss->list_cxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(ss->list_cxt);
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

			if (!variant_matches(ss, ss->doc, r, ss->doc_step->ep,
								 ss->doc_step->variant))
				continue;
			old = MemoryContextSwitchTo(ss->node->ss.ps.ps_ExprContext->ecxt_per_tuple_memory);
			comet_doc_fill(ss->doc, r, ss->map, slot->tts_values, slot->tts_isnull);
			MemoryContextSwitchTo(old);
			return ExecStoreVirtualTuple(slot);
		}
		if (ss->doc != NULL)
		{
			ss->doc = NULL;
			MemoryContextReset(ss->page_cxt);
			pfree(ss->doc_body);
			ss->doc_body = NULL;
			free_step(ss->doc_step);
			ss->doc_step = NULL;
		}
		if (ss->empty)
			return slot;

		f = comet_batch_next(ss->batch);
		if (f == NULL)
			return slot;
		step = (CometStep *) f->arg;

		if (step->kind == STEP_TARGET)
		{
			MemoryContext old = MemoryContextSwitchTo(ss->page_cxt);

			ss->doc = comet_doc_parse(f->body, f->len, step->ep, f->request,
									  ss->page_cxt);
			comet_batch_keep(ss->batch, f);
			if (step->ep->sort_points)
				comet_doc_sort_points(ss->doc);
			/* the key columns: once per response, not once per row */
			comet_row_map_set_context(ss->map, step->ctx.slot);
			MemoryContextSwitchTo(old);
			ss->doc_step = step;
			ss->doc_body = f->body;	/* freed with the document, not before */
			ss->row = 0;
			ss->nrows = comet_doc_nrows(ss->doc);
		}
		else
		{
			/* a listing is used up here: everything kept is copied */
			expand(ss, step, f);
			pfree(f->body);
			free_step(step);
		}
		pfree(f->url);
		pfree(f->request);
		pfree(f);
	}
}

static void
finish_run(CometScanState *ss)
{
	if (ss->batch != NULL)
	{
		ss->totals.requests += ss->batch->counters.requests;
		ss->totals.retries += ss->batch->counters.retries;
		ss->totals.cache_hits += ss->batch->counters.cache_hits;
		ss->totals.bytes += ss->batch->counters.bytes;
		ss->totals.errors += ss->batch->counters.errors;
		ss->totals.http_ms += ss->batch->counters.http_ms;
		comet_batch_cancel(ss->batch);
		ss->batch = NULL;
	}
	ss->doc = NULL;
	ss->doc_body = NULL;		/* these live in run_cxt */
	ss->doc_step = NULL;
	MemoryContextReset(ss->page_cxt);
	MemoryContextReset(ss->list_cxt);
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

static char *
deparse_key(CometScanState *ss, ExplainState *es, Expr *expr, int info)
{
	int			slot = info / 2 - 1;
	const char *col = slot >= 0 ? comet_slot_column(slot) :
	(ss->ep->variant ? ss->ep->variant->column : "?");
	List	   *dpcontext;
	char	   *val;

	dpcontext = set_deparse_context_plan(es->deparse_cxt,
										 ss->node->ss.ps.plan, NIL);
	val = deparse_expression((Node *) expr, dpcontext, false, false);
	if (info % 2)
		return psprintf("%s = ANY (%s)", col, val);
	return psprintf("%s = %s", col, val);
}

void
comet_scan_explain(CometScanState *ss, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) ss->node->ss.ps.plan;
	ListCell   *lc1,
			   *lc2;
	char	   *fanout;

	ExplainPropertyText("Comet Request", comet_describe_request(&ss->shape), es);
	if (fsplan->fdw_exprs != NIL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		forboth(lc1, fsplan->fdw_exprs, lc2, ss->key_info)
		{
			if (buf.len > 0)
				appendStringInfoString(&buf, " AND ");
			appendStringInfoString(&buf, deparse_key(ss, es, lfirst(lc1),
													 lfirst_int(lc2)));
		}
		ExplainPropertyText("Comet Keys", buf.data, es);
	}
	fanout = comet_describe_fanout(&ss->shape);
	if (fanout)
		ExplainPropertyText("Comet Fan-out", fanout, es);

	if (es->analyze)
	{
		CometCounters c = ss->totals;

		if (ss->batch)
		{
			c.requests += ss->batch->counters.requests;
			c.retries += ss->batch->counters.retries;
			c.cache_hits += ss->batch->counters.cache_hits;
			c.bytes += ss->batch->counters.bytes;
			c.http_ms += ss->batch->counters.http_ms;
		}
		ExplainPropertyInteger("Comet Requests", NULL, c.requests, es);
		ExplainPropertyInteger("Comet Cache Hits", NULL, c.cache_hits, es);
		ExplainPropertyInteger("Comet Retries", NULL, c.retries, es);
		ExplainPropertyInteger("Comet Bytes", NULL, c.bytes, es);
		if (es->timing)
			ExplainPropertyFloat("Comet HTTP Time", "ms", c.http_ms, 1, es);
	}
}
