/*-------------------------------------------------------------------------
 *
 * join.c
 *		Execution of a Comet Join: two comet_fdw tables joined on
 *		experiment_key, run as one foreign scan.
 *
 * Each side is a scan of its own (scan.c) with its own keys and fan-out,
 * but both draw on one CometBatch, so their requests go out together, up
 * to max_concurrency, and a listing both need is fetched once.  Rows are
 * joined as they arrive.  The first side gives at most a row per
 * experiment (the planner sees to it) and is kept whole; the second side's
 * rows stream through, matched against it, and are kept only while the
 * first side may still bring a match for them.  What is kept is bounded by
 * max_response_bytes.  The executor then checks every qual of the join and
 * of both sides.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "comet_fdw.h"

/* PostgreSQL 18 gave heap_form_minimal_tuple() room for extra bytes */
#if PG_VERSION_NUM >= 180000
#define form_minimal(desc, values, nulls) heap_form_minimal_tuple(desc, values, nulls, 0)
#else
#define form_minimal(desc, values, nulls) heap_form_minimal_tuple(desc, values, nulls)
#endif

/* the rows one side gave for one experiment key */
typedef struct JoinRow
{
	struct JoinRow *next;
	char	   *key;
	MinimalTuple tup;
} JoinRow;

typedef struct JoinEntry
{
	uint32		hash;			/* hash key (collisions: keys compared) */
	JoinRow    *rows[2];
} JoinEntry;

typedef struct JoinSide
{
	CometScanState *ss;
	Relation	rel;
	Index		rti;
	AttrNumber	key_attno;
	int			nexprs;
	List	   *exprs;			/* its share of fdw_exprs (for EXPLAIN) */
	TupleTableSlot *slot;		/* a stored row of the side, deformed */
	char	   *label;
} JoinSide;

struct CometJoinState
{
	ForeignScanState *node;
	JoinSide	side[2];
	int			ntlist;
	int		   *tl_side;		/* per scan tlist column: side and attno */
	AttrNumber *tl_attno;
	MemoryContext cxt;			/* batch, rows, output queue: one (re)scan */
	CometBatch *batch;
	HTAB	   *rows;
	List	   *out;			/* joined rows not yet returned (MinimalTuple) */
	int			out_next;		/* the next of them */
	bool		started;
	bool		finished;
	bool		kept_done;		/* the first side has given all its rows */
	int64		kept_bytes;		/* rows kept, against max_response_bytes */
	int			next_refill;	/* which side asks first, in turns */
	CometCounters totals;
};

CometJoinState *
comet_join_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	CometJoinState *js = palloc0(sizeof(CometJoinState));
	ListCell   *lc;
	int			i,
				first = 0;

	js->node = node;
	js->ntlist = list_length(fsplan->fdw_scan_tlist);
	js->tl_side = palloc0(sizeof(int) * Max(js->ntlist, 1));
	js->tl_attno = palloc0(sizeof(AttrNumber) * Max(js->ntlist, 1));

	for (i = 0; i < 2; i++)
	{
		List	   *priv = list_nth(fsplan->fdw_private, i);
		JoinSide   *s = &js->side[i];
		int			pos = intVal(list_nth(priv, 3));
		Var		   *kv = (Var *) ((TargetEntry *) list_nth(fsplan->fdw_scan_tlist, pos - 1))->expr;

		/* the rti as the executor knows it (set_plan_refs offsets varnos) */
		s->rti = kv->varno;
		s->key_attno = kv->varattno;
		s->nexprs = intVal(list_nth(priv, 4));
		s->exprs = list_copy_head(list_copy_tail(fsplan->fdw_exprs, first), s->nexprs);
		first += s->nexprs;
		s->rel = ExecOpenScanRelation(estate, s->rti, eflags);
		s->label = pstrdup(exec_rt_fetch(s->rti, estate)->eref->aliasname);
		s->ss = comet_subscan_begin(node, s->rel,
									comet_scan_user(fsplan, s->rti, estate),
									strVal(list_nth(priv, 0)), s->exprs,
									list_nth(priv, 1), list_nth(priv, 2),
									intVal(list_nth(priv, 5)));
		s->slot = MakeSingleTupleTableSlot(RelationGetDescr(s->rel),
										   &TTSOpsMinimalTuple);
	}
	i = 0;
	foreach(lc, fsplan->fdw_scan_tlist)
	{
		Var		   *v = (Var *) ((TargetEntry *) lfirst(lc))->expr;

		js->tl_side[i] = v->varno == js->side[0].rti ? 0 : 1;
		js->tl_attno[i] = v->varattno;
		i++;
	}
	js->cxt = AllocSetContextCreate(estate->es_query_cxt, "comet_fdw join",
									ALLOCSET_DEFAULT_SIZES);
	/* no request here: EXPLAIN and LIMIT 0 stop before Iterate */
	return js;
}

/* The batch runs short: the sides' listings give more, in turns. */
static bool
join_refill(void *arg)
{
	CometJoinState *js = (CometJoinState *) arg;
	int			k;

	for (k = 0; k < 2; k++)
	{
		int			s = (js->next_refill + k) % 2;

		if (comet_subscan_refill(js->side[s].ss))
		{
			js->next_refill = (s + 1) % 2;
			return true;
		}
	}
	return false;
}

static void
join_start(CometJoinState *js)
{
	MemoryContext old;
	HASHCTL		ctl;
	int			i;

	MemoryContextReset(js->cxt);
	old = MemoryContextSwitchTo(js->cxt);
	js->batch = comet_batch_begin(GetForeignServer(GetForeignTable(RelationGetRelid(js->side[0].rel))->serverid),
								  comet_scan_user((ForeignScan *) js->node->ss.ps.plan,
												  js->side[0].rti, js->node->ss.ps.state),
								  js->cxt);
	comet_batch_set_refill(js->batch, join_refill, js);
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(JoinEntry);
	ctl.hcxt = js->cxt;
	js->rows = hash_create("comet_fdw join rows", 256, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	js->out = NIL;
	js->out_next = 0;
	MemoryContextSwitchTo(old);
	for (i = 0; i < 2; i++)
		comet_subscan_start(js->side[i].ss, js->batch);
	js->started = true;
	js->finished = false;
	js->kept_done = false;
	js->kept_bytes = 0;
}

/* Per row of a side: keep it, and join it with the other side's so far. */
typedef struct RowArg
{
	CometJoinState *js;
	int			side;
} RowArg;

static void
join_row(void *arg, Datum *values, bool *nulls)
{
	RowArg	   *ra = (RowArg *) arg;
	CometJoinState *js = ra->js;
	JoinSide   *me = &js->side[ra->side];
	JoinSide   *other = &js->side[1 - ra->side];
	TupleDesc	desc = RelationGetDescr(me->rel);
	char	   *key;
	uint32		h;
	JoinEntry  *e;
	JoinRow    *r;
	JoinRow    *o;
	bool		found;
	MemoryContext old;

	/* a row without a key joins nothing (the join clause is never true) */
	if (nulls[me->key_attno - 1])
		return;
	CHECK_FOR_INTERRUPTS();
	key = TextDatumGetCString(values[me->key_attno - 1]);
	h = hash_bytes((const unsigned char *) key, strlen(key));

	old = MemoryContextSwitchTo(js->cxt);
	e = hash_search(js->rows, &h, ra->side == 0 || !js->kept_done ? HASH_ENTER : HASH_FIND,
					&found);
	if (e != NULL && !found)
		e->rows[0] = e->rows[1] = NULL;
	if (e == NULL)
	{
		MemoryContextSwitchTo(old);
		return;					/* no row of the first side has this key */
	}
	/* kept: every row of the first side; the second's until the first is done */
	if (ra->side == 0 || !js->kept_done)
	{
		r = palloc(sizeof(JoinRow));
		r->key = pstrdup(key);
		r->tup = form_minimal(desc, values, nulls);
		r->next = e->rows[ra->side];
		e->rows[ra->side] = r;
		js->kept_bytes += r->tup->t_len + strlen(key) + sizeof(JoinRow);
		if (js->kept_bytes > comet_subscan_budget(me->ss))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("a Comet Join of %s and %s keeps more rows than max_response_bytes allows",
							js->side[0].label, js->side[1].label),
					 errdetail("The rows kept to be joined passed " INT64_FORMAT " bytes.",
							   comet_subscan_budget(me->ss)),
					 errhint("Filter the query further, or raise the server option max_response_bytes.")));
	}

	/* the joined rows: this one with each of the other side's */
	for (o = e->rows[1 - ra->side]; o != NULL; o = o->next)
	{
		Datum	   *ov;
		bool	   *on;
		Datum	   *jv;
		bool	   *jn;
		int			i;

		if (strcmp(o->key, key) != 0)
			continue;
		ExecStoreMinimalTuple(o->tup, other->slot, false);
		slot_getallattrs(other->slot);
		ov = other->slot->tts_values;
		on = other->slot->tts_isnull;
		jv = palloc(sizeof(Datum) * Max(js->ntlist, 1));
		jn = palloc(sizeof(bool) * Max(js->ntlist, 1));
		for (i = 0; i < js->ntlist; i++)
		{
			AttrNumber	a = js->tl_attno[i] - 1;

			if (js->tl_side[i] == ra->side)
			{
				jv[i] = values[a];
				jn[i] = nulls[a];
			}
			else
			{
				jv[i] = ov[a];
				jn[i] = on[a];
			}
		}
		js->out = lappend(js->out,
						  form_minimal(js->node->ss.ss_ScanTupleSlot->tts_tupleDescriptor,
									   jv, jn));
		pfree(jv);
		pfree(jn);
		ExecClearTuple(other->slot);
	}
	MemoryContextSwitchTo(old);
}

/*
 * The first side is done: every row it has is known, so the second side's
 * rows need not be kept any more (the ones to come stream through).
 */
static void
drop_streamed_rows(CometJoinState *js)
{
	HASH_SEQ_STATUS scan;
	JoinEntry  *e;

	js->kept_done = true;
	hash_seq_init(&scan, js->rows);
	while ((e = hash_seq_search(&scan)) != NULL)
	{
		while (e->rows[1] != NULL)
		{
			JoinRow    *r = e->rows[1];

			e->rows[1] = r->next;
			js->kept_bytes -= r->tup->t_len + strlen(r->key) + sizeof(JoinRow);
			pfree(r->tup);
			pfree(r->key);
			pfree(r);
		}
	}
}

TupleTableSlot *
comet_join_next(CometJoinState *js, TupleTableSlot *slot)
{
	ExecClearTuple(slot);
	if (!js->started)
		join_start(js);
	for (;;)
	{
		CometFetch *f;
		CometScanState *owner;
		RowArg		ra;
		int			i;

		if (js->out_next < list_length(js->out))
		{
			MinimalTuple t = list_nth(js->out, js->out_next++);

			/* the slot frees the tuple when it moves on */
			ExecForceStoreMinimalTuple(t, slot, true);
			return slot;
		}
		if (js->out != NIL)
		{
			/* (a list, not a queue: taking from its head would be quadratic) */
			list_free(js->out);
			js->out = NIL;
			js->out_next = 0;
		}
		if (js->finished)
			return slot;
		f = comet_batch_next(js->batch);
		if (f == NULL)
		{
			js->finished = true;
			for (i = 0; i < 2; i++)
				comet_subscan_finish(js->side[i].ss);
			return slot;
		}
		owner = comet_fetch_scan(f);
		ra.js = js;
		ra.side = owner == js->side[0].ss ? 0 : 1;
		comet_subscan_take(owner, f, join_row, &ra);
		if (!js->kept_done && comet_subscan_done(js->side[0].ss))
			drop_streamed_rows(js);
	}
}

static void
join_finish(CometJoinState *js)
{
	int			i;

	if (js->batch != NULL)
	{
		comet_counters_add(&js->totals, js->batch);
		comet_batch_cancel(js->batch);
		js->batch = NULL;
	}
	for (i = 0; i < 2; i++)
	{
		if (js->side[i].ss)
			comet_scan_end(js->side[i].ss);
		if (js->side[i].slot)
			ExecClearTuple(js->side[i].slot);
	}
	js->out = NIL;
	js->out_next = 0;
	js->rows = NULL;
	MemoryContextReset(js->cxt);
	js->started = false;
}

void
comet_join_rescan(CometJoinState *js)
{
	join_finish(js);
}

void
comet_join_end(CometJoinState *js)
{
	int			i;

	join_finish(js);
	for (i = 0; i < 2; i++)
		if (js->side[i].slot)
			ExecDropSingleTupleTableSlot(js->side[i].slot);
}

void
comet_join_explain(CometJoinState *js, ExplainState *es)
{
	ExplainPropertyText("Comet Join",
						psprintf("%s and %s on experiment_key, one scan: both sides' requests concurrent",
								 js->side[0].label, js->side[1].label), es);
	comet_scan_explain_lines(js->side[0].ss, es, js->side[0].exprs, js->side[0].label);
	comet_scan_explain_lines(js->side[1].ss, es, js->side[1].exprs, js->side[1].label);
	if (es->analyze)
		comet_explain_counters(js->totals, js->batch, es);
}
