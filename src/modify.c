/*-------------------------------------------------------------------------
 *
 * modify.c
 *		INSERT and UPDATE on comet_fdw tables: Comet's write endpoints.
 *
 * Each write form is one descriptor in the table below: which table and
 * command, which request, how columns become JSON body fields or query
 * parameters, how rows share a request, what the answer fills in, and which
 * cached reads it makes stale.  The callbacks know no particular endpoint.
 *
 * Comet has no transactions: what was sent stays sent, whatever happens to
 * the statement.  So a write is never sent twice once it may have reached
 * Comet (connection.c retries only a failure to connect), the rows of one
 * experiment go out one request at a time in statement order (different
 * experiments concurrently), and an error lists the rows already sent.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type_d.h"
#include "commands/explain.h"
#include "datatype/timestamp.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "comet_fdw.h"
#include "jsonrow.h"

/* ---------------------------------------------------------------------
 * The write forms
 * --------------------------------------------------------------------- */

typedef enum WriteValue
{
	WV_TEXT,					/* a JSON string */
	WV_TEXT_OR_EMPTY,			/* a JSON string; NULL sends "" */
	WV_INT,						/* a JSON integer */
	WV_EPOCH_MS,				/* a timestamp, as epoch milliseconds */
	WV_BOOL						/* picks the request (archive or restore) */
} WriteValue;

typedef enum WriteRole
{
	WF_FIELD,					/* a body field (or query parameter) */
	WF_LIST,					/* rows sharing a request: one JSON array */
	WF_IDENTITY,				/* UPDATE: which object, from the old row */
	WF_SWITCH					/* UPDATE: the boolean that picks the path */
} WriteRole;

typedef struct WriteField
{
	const char *column;
	const char *key;			/* JSON field or query parameter */
	WriteValue	value;
	WriteRole	role;
	bool		required;		/* NULL is an error */
	bool		shown;			/* names the row in messages */
} WriteField;

/* A read endpoint whose cached answers a write makes stale. */
typedef struct StaleRead
{
	const char *path;
	const char *param;			/* only those for the written object's value
								 * of this parameter; NULL: all */
} StaleRead;

#define MAX_STALE 7

typedef struct CometWrite
{
	const char *table;			/* the endpoint name of the foreign table */
	CmdType		command;
	const char *method;
	const char *path;			/* with a switch: when it is true */
	const char *path_false;		/* with a switch: when it is false */
	bool		in_query;		/* fields go in the query string; no body */
	const WriteField *fields;
	int			nfields;
	const char *order_column;	/* rows with equal values are sent one
								 * request at a time, in statement order */
	bool		group;			/* ... and share one request (WF_LIST) */
	const char *returns_column; /* filled from the answer's returns_field */
	const char *returns_field;
	StaleRead	stale[MAX_STALE];
} CometWrite;

static const WriteField tag_fields[] = {
	{"experiment_key", "experimentKey", WV_TEXT, WF_FIELD, true, true},
	{"tag", "addedTags", WV_TEXT, WF_LIST, true, true},
};

static const WriteField other_fields[] = {
	{"experiment_key", "experimentKey", WV_TEXT, WF_FIELD, true, true},
	{"name", "key", WV_TEXT, WF_FIELD, true, true},
	{"value_current", "value", WV_TEXT, WF_FIELD, true, false},
	{"timestamp_current", "timestamp", WV_EPOCH_MS, WF_FIELD, false, false},
};

static const WriteField param_fields[] = {
	{"experiment_key", "experimentKey", WV_TEXT, WF_FIELD, true, true},
	{"name", "parameterName", WV_TEXT, WF_FIELD, true, true},
	{"value_current", "parameterValue", WV_TEXT, WF_FIELD, true, false},
	{"timestamp_current", "timestamp", WV_EPOCH_MS, WF_FIELD, false, false},
};

static const WriteField metric_fields[] = {
	{"experiment_key", "experimentKey", WV_TEXT, WF_FIELD, true, true},
	{"metric_name", "metricName", WV_TEXT, WF_FIELD, true, true},
	{"metric_value", "metricValue", WV_TEXT, WF_FIELD, true, false},
	{"step", "step", WV_INT, WF_FIELD, false, true},
	{"epoch", "epoch", WV_INT, WF_FIELD, false, false},
	{"timestamp", "timestamp", WV_EPOCH_MS, WF_FIELD, false, false},
	{"run_context", "context", WV_TEXT, WF_FIELD, false, false},
};

static const WriteField create_fields[] = {
	{"workspace_name", "workspaceName", WV_TEXT, WF_FIELD, true, true},
	{"project_name", "projectName", WV_TEXT, WF_FIELD, true, true},
	{"experiment_name", "experimentName", WV_TEXT, WF_FIELD, false, true},
};

static const WriteField archive_fields[] = {
	{"experiment_key", "experimentKey", WV_TEXT, WF_IDENTITY, true, true},
	{"archived", NULL, WV_BOOL, WF_SWITCH, true, true},
};

static const WriteField notes_fields[] = {
	{"project_id", "projectId", WV_TEXT, WF_IDENTITY, true, true},
	{"notes", "notes", WV_TEXT_OR_EMPTY, WF_FIELD, false, false},
};

#define NFIELDS(a) ((int) lengthof(a))
#define PER_EXPERIMENT_STALE(path) \
	{{path, "experimentKey"}, {"project/column-names", NULL}, {"project/query", NULL}}

static const CometWrite writes[] = {
	{"tags", CMD_INSERT, "POST", "write/experiment/tags", NULL, false,
		tag_fields, NFIELDS(tag_fields), "experiment_key", true, NULL, NULL,
	PER_EXPERIMENT_STALE("experiment/tags")},
	{"raw_others", CMD_INSERT, "POST", "write/experiment/log-other", NULL, false,
		other_fields, NFIELDS(other_fields), "experiment_key", false, NULL, NULL,
	PER_EXPERIMENT_STALE("experiment/log-other")},
	{"raw_params", CMD_INSERT, "POST", "write/experiment/parameter", NULL, false,
		param_fields, NFIELDS(param_fields), "experiment_key", false, NULL, NULL,
	PER_EXPERIMENT_STALE("experiment/parameters")},
	{"raw_metrics", CMD_INSERT, "POST", "write/experiment/metric", NULL, false,
		metric_fields, NFIELDS(metric_fields), "experiment_key", false, NULL, NULL,
		{{"experiment/metrics/summary", "experimentKey"},
		 {"experiment/metrics/get-metric", "experimentKey"},
			{"experiments/multi-metric-chart", NULL},
	{"project/column-names", NULL}, {"project/query", NULL}}},
	{"experiments", CMD_INSERT, "POST", "write/experiment/create", NULL, false,
		create_fields, NFIELDS(create_fields), NULL, false,
		"experiment_key", "experimentKey",
		{{"experiments", NULL}, {"projects", NULL}, {"project", NULL},
	{"project/column-names", NULL}, {"project/query", NULL}}},
	{"experiments", CMD_UPDATE, "GET", "write/experiment/archive",
		"write/experiment/restore", true,
		archive_fields, NFIELDS(archive_fields), "experiment_key", false, NULL, NULL,
		{{"experiments", NULL}, {"experiment/metadata", "experimentKey"},
			{"projects", NULL}, {"project", NULL},
	{"project/column-names", NULL}, {"project/query", NULL}}},
	{"project_notes", CMD_UPDATE, "POST", "write/project/notes", NULL, false,
		notes_fields, NFIELDS(notes_fields), "project_id", false, NULL, NULL,
	{{"project/notes", "projectId"}}},
};

/* the junk column of an UPDATE's plan that identifies the object */
#define ROW_KEY_NAME "comet_row_key"

/* rows named in a message at most; the rest are counted */
#define MAX_LISTED 10

static const CometWrite *
find_write(const char *table, CmdType command)
{
	int			i;

	if (table == NULL)
		return NULL;
	for (i = 0; i < lengthof(writes); i++)
		if (writes[i].command == command && strcmp(writes[i].table, table) == 0)
			return &writes[i];
	return NULL;
}

static const WriteField *
field_of_role(const CometWrite *w, WriteRole role)
{
	int			i;

	for (i = 0; i < w->nfields; i++)
		if (w->fields[i].role == role)
			return &w->fields[i];
	return NULL;
}

static const char *
command_name(CmdType command)
{
	return command == CMD_INSERT ? "INSERT" :
		command == CMD_UPDATE ? "UPDATE" : "DELETE";
}

/* The columns a write form sets, "experiment_key, tag". */
static char *
settable_columns(const CometWrite *w)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < w->nfields; i++)
	{
		if (w->fields[i].role == WF_IDENTITY)
			continue;
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "",
						 quote_identifier(w->fields[i].column));
	}
	return buf.data;
}

/* Every form, for hints: "INSERT INTO tags (experiment_key, tag); ..." */
static char *
all_forms(void)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < lengthof(writes); i++)
	{
		const CometWrite *w = &writes[i];

		if (buf.len)
			appendStringInfoString(&buf, "; ");
		if (w->command == CMD_INSERT)
			appendStringInfo(&buf, "INSERT INTO %s (%s)", w->table,
							 settable_columns(w));
		else
			appendStringInfo(&buf, "UPDATE %s SET %s", w->table,
							 settable_columns(w));
	}
	return buf.data;
}

/* The path(s) of a form, for messages: "write/experiment/archive or ...". */
static char *
form_paths(const CometWrite *w)
{
	if (w->path_false)
		return psprintf("%s %s or %s", w->method, w->path, w->path_false);
	return psprintf("%s %s", w->method, w->path);
}

/* ---------------------------------------------------------------------
 * Planning
 * --------------------------------------------------------------------- */

static void
refuse_not_updatable(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("foreign table \"%s\" is not updatable",
					RelationGetRelationName(rel)),
			 errdetail("The option \"updatable\" of the table or of its server is false; nothing was sent to Comet."),
			 errhint("ALTER FOREIGN TABLE %s OPTIONS (SET updatable 'true') allows writes to Comet.",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)))));
}

/* The write form of a table for a command, or a clear error. */
static const CometWrite *
write_for(Relation rel, CmdType command)
{
	const char *table = comet_table_endpoint_name(RelationGetRelid(rel), false);
	const CometWrite *w = find_write(table, command);
	bool		updatable;
	int			batch_size;

	if (w == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 command == CMD_DELETE ?
				 errmsg("comet_fdw cannot delete from foreign table \"%s\"",
						RelationGetRelationName(rel)) :
				 errmsg("comet_fdw cannot %s foreign table \"%s\" (endpoint %s)",
						command == CMD_INSERT ? "insert into" : "update",
						RelationGetRelationName(rel), table),
				 errdetail("Comet's REST API has no write of this kind."),
				 errhint("The writes comet_fdw makes are: %s.", all_forms())));
	comet_write_options(RelationGetRelid(rel), &updatable, &batch_size);
	if (!updatable)
		refuse_not_updatable(rel);
	return w;
}

/* Refuses a column the statement sets that the write form cannot. */
static void
check_settable(Relation rel, const CometWrite *w, AttrNumber attnum)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Form_pg_attribute att = TupleDescAttr(tupdesc, attnum - 1);
	int			i;

	for (i = 0; i < w->nfields; i++)
	{
		const WriteField *f = &w->fields[i];

		if (f->role != WF_IDENTITY &&
			strcmp(f->column, NameStr(att->attname)) == 0)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("column \"%s\" of foreign table \"%s\" cannot be set by %s",
					NameStr(att->attname), RelationGetRelationName(rel),
					command_name(w->command)),
			 errdetail("%s on %s becomes %s, which sets only %s.",
					   command_name(w->command), RelationGetRelationName(rel),
					   form_paths(w), settable_columns(w)),
			 errhint("Leave \"%s\" out of the statement.", NameStr(att->attname))));
}

/* The table's column for a write field, InvalidAttrNumber if none. */
static AttrNumber
field_attnum(Relation rel, const WriteField *f)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), f->column) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

static void
check_columns_exist(Relation rel, const CometWrite *w)
{
	int			i;

	for (i = 0; i < w->nfields; i++)
	{
		const WriteField *f = &w->fields[i];

		if ((f->required || f->role == WF_IDENTITY) &&
			field_attnum(rel, f) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("foreign table \"%s\" has no column \"%s\", which %s needs",
							RelationGetRelationName(rel), f->column, form_paths(w))));
	}
}

void
comet_add_update_targets(PlannerInfo *root, Index rtindex,
						 RangeTblEntry *target_rte, Relation target_relation)
{
	const char *table = comet_table_endpoint_name(RelationGetRelid(target_relation), true);
	const CometWrite *w = find_write(table, CMD_UPDATE);
	const WriteField *idf;
	AttrNumber	attnum;
	Form_pg_attribute att;
	Var		   *var;

	/* no form or no such column: comet_plan_modify says so */
	if (w == NULL || (idf = field_of_role(w, WF_IDENTITY)) == NULL)
		return;
	attnum = field_attnum(target_relation, idf);
	if (attnum == InvalidAttrNumber)
		return;
	att = TupleDescAttr(RelationGetDescr(target_relation), attnum - 1);
	var = makeVar(rtindex, attnum, att->atttypid, att->atttypmod,
				  att->attcollation, 0);
	add_row_identity_var(root, var, rtindex, ROW_KEY_NAME);
}

/*
 * The constant an UPDATE sets the switch column to (1 true, 0 false), or
 * -1 when it is not a constant, so that EXPLAIN names the one request.
 */
static int
switch_constant(ModifyTable *plan, int subplan_index, AttrNumber attnum)
{
	Plan	   *subplan = outerPlan(plan);
	List	   *colnos;
	ListCell   *lc;
	int			i = 0;

	if (subplan == NULL || plan->updateColnosLists == NIL ||
		subplan_index >= list_length(plan->updateColnosLists))
		return -1;
	colnos = list_nth(plan->updateColnosLists, subplan_index);
	foreach(lc, colnos)
	{
		if (lfirst_int(lc) == attnum && i < list_length(subplan->targetlist))
		{
			TargetEntry *tle = list_nth(subplan->targetlist, i);
			Node	   *e = (Node *) tle->expr;

			if (tle->resjunk || tle->resno != i + 1 || !IsA(e, Const) ||
				((Const *) e)->constisnull)
				return -1;
			return DatumGetBool(((Const *) e)->constvalue) ? 1 : 0;
		}
		i++;
	}
	return -1;
}

/*
 * fdw_private of a ModifyTable: the switch constant (-1: none) and the
 * columns the statement names, for EXPLAIN.
 */
List *
comet_plan_modify(PlannerInfo *root, ModifyTable *plan, Index resultRelation,
				  int subplan_index)
{
	CmdType		command = plan->operation;
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel = table_open(rte->relid, NoLock);
	const CometWrite *w = write_for(rel, command);
	Bitmapset  *cols = NULL;
	List	   *given = NIL;
	int			switch_const = -1;
	int			col;

	if (plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("comet_fdw does not support ON CONFLICT"),
				 errdetail("Comet's write endpoints have no conflict handling.")));
	check_columns_exist(rel, w);

	if (command == CMD_INSERT)
	{
#if PG_VERSION_NUM >= 160000
		RTEPermissionInfo *perminfo = getRTEPermissionInfo(root->parse->rteperminfos, rte);

		cols = perminfo->insertedCols;
#else
		cols = rte->insertedCols;
#endif
	}
	else
		cols = get_rel_all_updated_cols(root, find_base_rel(root, resultRelation));

	col = -1;
	while ((col = bms_next_member(cols, col)) >= 0)
	{
		AttrNumber	attnum = col + FirstLowInvalidHeapAttributeNumber;

		if (attnum <= InvalidAttrNumber)
			continue;
		check_settable(rel, w, attnum);
		given = lappend_int(given, attnum);
	}

	if (command == CMD_UPDATE)
	{
		const WriteField *sw = field_of_role(w, WF_SWITCH);

		if (sw != NULL)
			switch_const = switch_constant(plan, subplan_index,
										   field_attnum(rel, sw));
	}
	table_close(rel, NoLock);
	return list_make2(makeInteger(switch_const), given);
}

int
comet_rel_updatable(Relation rel)
{
	const char *table = comet_table_endpoint_name(RelationGetRelid(rel), true);
	bool		updatable;
	int			batch_size;
	int			mask = 0;

	comet_write_options(RelationGetRelid(rel), &updatable, &batch_size);
	if (!updatable)
		return 0;
	if (find_write(table, CMD_INSERT))
		mask |= 1 << CMD_INSERT;
	if (find_write(table, CMD_UPDATE))
		mask |= 1 << CMD_UPDATE;
	return mask;
}

/* ---------------------------------------------------------------------
 * Execution
 * --------------------------------------------------------------------- */

/* One field of one row: the value as it goes out, and as messages show it. */
typedef struct RowValue
{
	char	   *out;			/* UTF-8: text, digits; NULL: SQL NULL */
	char	   *shown;			/* database encoding, shortened */
	bool		flag;			/* WV_BOOL */
} RowValue;

typedef struct WriteRow
{
	RowValue   *v;				/* per field of the form */
	TupleTableSlot *slot;		/* where RETURNING values go */
} WriteRow;

typedef struct WriteReq
{
	CometFetch	fetch;
	int		   *rows;			/* indexes into the call's rows */
	int			nrows;
	const char *order_key;		/* value of the order column, or NULL */
	const char *path;
} WriteReq;

typedef struct CometModifyState
{
	Relation	rel;
	const CometWrite *w;
	ForeignServer *server;
	Oid			userid;
	int			batch_size;
	AttrNumber *attnum;			/* per field: the table's column, or 0 */
	FmgrInfo   *outfunc;		/* per field */
	Oid		   *type;			/* per field */
	Bitmapset  *unsettable;		/* INSERT: columns that must stay NULL */
	AttrNumber	row_key_junk;	/* UPDATE: the identity in the plan's output */
	AttrNumber	returns_attnum;
	FmgrInfo	returns_infunc;
	Oid			returns_ioparam;
	int32		returns_typmod;
	MemoryContext cxt;			/* the statement */
	MemoryContext call_cxt;		/* one callback: its rows and requests */
	CometBatch *batch;			/* made at the first request */
	/* the current call, for the detail of a failure */
	WriteRow   *rows;
	WriteReq  **reqs;
	int			nreqs;
	/* what the statement has sent so far */
	int64		rows_seen;
	int64		rows_sent;
	int64		requests_sent;
	StringInfoData sent_list;
	int			nlisted;
} CometModifyState;

static Oid
result_rel_user(EState *estate, ResultRelInfo *rinfo)
{
#if PG_VERSION_NUM >= 160000
	return ExecGetResultRelCheckAsUser(rinfo, estate);
#else
	if (rinfo->ri_RangeTableIndex > 0)
	{
		RangeTblEntry *rte = exec_rt_fetch(rinfo->ri_RangeTableIndex, estate);

		if (OidIsValid(rte->checkAsUser))
			return rte->checkAsUser;
	}
	return GetUserId();
#endif
}

static CometModifyState *
create_state(EState *estate, ResultRelInfo *rinfo, CmdType command)
{
	Relation	rel = rinfo->ri_RelationDesc;
	const CometWrite *w = write_for(rel, command);
	MemoryContext cxt = AllocSetContextCreate(estate->es_query_cxt,
											  "comet_fdw write",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CometModifyState *ms = palloc0(sizeof(CometModifyState));
	TupleDesc	tupdesc = RelationGetDescr(rel);
	bool		updatable;
	int			i;

	check_columns_exist(rel, w);
	ms->rel = rel;
	ms->w = w;
	ms->cxt = cxt;
	ms->call_cxt = AllocSetContextCreate(cxt, "comet_fdw write call",
										 ALLOCSET_DEFAULT_SIZES);
	ms->server = GetForeignServer(GetForeignTable(RelationGetRelid(rel))->serverid);
	ms->userid = result_rel_user(estate, rinfo);
	comet_write_options(RelationGetRelid(rel), &updatable, &ms->batch_size);
	initStringInfo(&ms->sent_list);

	ms->attnum = palloc0(sizeof(AttrNumber) * w->nfields);
	ms->outfunc = palloc0(sizeof(FmgrInfo) * w->nfields);
	ms->type = palloc0(sizeof(Oid) * w->nfields);
	for (i = 0; i < w->nfields; i++)
	{
		AttrNumber	a = field_attnum(rel, &w->fields[i]);
		Oid			outfn;
		bool		varlena;

		ms->attnum[i] = a;
		if (a == InvalidAttrNumber)
			continue;
		ms->type[i] = TupleDescAttr(tupdesc, a - 1)->atttypid;
		getTypeOutputInfo(ms->type[i], &outfn, &varlena);
		fmgr_info(outfn, &ms->outfunc[i]);
	}
	if (command == CMD_INSERT)
	{
		for (i = 0; i < tupdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);
			int			k;
			bool		settable = false;

			if (att->attisdropped)
				continue;
			for (k = 0; k < w->nfields; k++)
				if (ms->attnum[k] == att->attnum)
					settable = true;
			if (!settable)
				ms->unsettable = bms_add_member(ms->unsettable, att->attnum);
		}
	}
	if (w->returns_column)
	{
		WriteField	rf = {w->returns_column};
		Oid			infn;

		ms->returns_attnum = field_attnum(rel, &rf);
		if (ms->returns_attnum != InvalidAttrNumber)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, ms->returns_attnum - 1);

			getTypeInputInfo(att->atttypid, &infn, &ms->returns_ioparam);
			fmgr_info(infn, &ms->returns_infunc);
			ms->returns_typmod = att->atttypmod;
		}
	}
	MemoryContextSwitchTo(old);
	return ms;
}

void
comet_begin_modify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
				   List *fdw_private, int subplan_index, int eflags)
{
	CometModifyState *ms;

	/* EXPLAIN alone makes no request and needs no key */
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	ms = create_state(mtstate->ps.state, rinfo, mtstate->operation);
	if (mtstate->operation == CMD_UPDATE)
	{
		Plan	   *subplan = outerPlanState(mtstate)->plan;

		ms->row_key_junk = ExecFindJunkAttributeInTlist(subplan->targetlist,
														ROW_KEY_NAME);
		if (!AttributeNumberIsValid(ms->row_key_junk))
			elog(ERROR, "could not find junk column %s", ROW_KEY_NAME);
	}
	rinfo->ri_FdwState = ms;
}

/* COPY FROM and rows routed into a partition */
void
comet_begin_insert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	ModifyTable *plan = mtstate ? castNode(ModifyTable, mtstate->ps.plan) : NULL;

	if (plan != NULL && plan->operation == CMD_UPDATE && rinfo->ri_FdwState)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot route rows into foreign table \"%s\" that is also updated by the same statement",
						RelationGetRelationName(rinfo->ri_RelationDesc))));
	if (plan != NULL && plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("comet_fdw does not support ON CONFLICT")));
	rinfo->ri_FdwState = create_state(mtstate->ps.state, rinfo, CMD_INSERT);
}

void
comet_end_modify(EState *estate, ResultRelInfo *rinfo)
{
	CometModifyState *ms = rinfo->ri_FdwState;

	if (ms != NULL && ms->batch != NULL)
	{
		comet_batch_cancel(ms->batch);
		ms->batch = NULL;
	}
}

int
comet_modify_batch_size(ResultRelInfo *rinfo)
{
	CometModifyState *ms = rinfo->ri_FdwState;
	const CometWrite *w;
	bool		updatable;
	int			batch_size;

	/* as postgres_fdw: RETURNING, WITH CHECK OPTION and row triggers want
	 * each row on its own */
	if (rinfo->ri_projectReturning != NULL ||
		rinfo->ri_WithCheckOptions != NIL ||
		(rinfo->ri_TrigDesc &&
		 (rinfo->ri_TrigDesc->trig_insert_before_row ||
		  rinfo->ri_TrigDesc->trig_insert_after_row)))
		return 1;
	if (ms != NULL)
		return ms->w->returns_column ? 1 : ms->batch_size;
	/* EXPLAIN without ANALYZE: no state */
	w = find_write(comet_table_endpoint_name(RelationGetRelid(rinfo->ri_RelationDesc), true),
				   CMD_INSERT);
	if (w == NULL || w->returns_column)
		return 1;
	comet_write_options(RelationGetRelid(rinfo->ri_RelationDesc), &updatable, &batch_size);
	return batch_size;
}

/* ---- what the statement has sent, for messages ---- */

static const char *
column_list(CometModifyState *ms)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < ms->w->nfields; i++)
		if (ms->w->fields[i].shown && ms->attnum[i] != InvalidAttrNumber)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "(",
							 quote_identifier(ms->w->fields[i].column));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

static void
describe_row(CometModifyState *ms, StringInfo buf, WriteRow *row)
{
	int			i;
	bool		first = true;

	for (i = 0; i < ms->w->nfields; i++)
	{
		if (!ms->w->fields[i].shown || ms->attnum[i] == InvalidAttrNumber)
			continue;
		appendStringInfo(buf, "%s%s", first ? "(" : ", ",
						 row->v[i].shown ? row->v[i].shown : "NULL");
		first = false;
	}
	appendStringInfoChar(buf, ')');
}

static void
describe_rows(CometModifyState *ms, StringInfo buf, WriteReq *r)
{
	int			i;

	for (i = 0; i < r->nrows; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		describe_row(ms, buf, &ms->rows[r->rows[i]]);
	}
}

/* "Already sent ...": what a failure now leaves behind in Comet. */
static char *
sent_summary(CometModifyState *ms)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (ms->rows_sent == 0)
	{
		appendStringInfoString(&buf, "No row of this statement had been sent to Comet.");
		return buf.data;
	}
	appendStringInfo(&buf, "Already sent to Comet, where they stay (Comet has no transactions; ROLLBACK does not undo them): " INT64_FORMAT " row%s in " INT64_FORMAT " request%s: %s = %s",
					 ms->rows_sent, ms->rows_sent == 1 ? "" : "s",
					 ms->requests_sent, ms->requests_sent == 1 ? "" : "s",
					 column_list(ms), ms->sent_list.data);
	if (ms->rows_sent > ms->nlisted)
		appendStringInfo(&buf, " and " INT64_FORMAT " more",
						 ms->rows_sent - ms->nlisted);
	appendStringInfoChar(&buf, '.');
	return buf.data;
}

/* connection.c's hook: the detail of a failed write */
static char *
failure_detail(CometBatch *b, CometFetch *failed, void *arg)
{
	CometModifyState *ms = (CometModifyState *) arg;
	StringInfoData buf;
	int			i;
	bool		any = false;

	initStringInfo(&buf);
	if (failed != NULL && failed->arg != NULL)
	{
		appendStringInfo(&buf, "The failed request carried %s = ", column_list(ms));
		describe_rows(ms, &buf, (WriteReq *) failed->arg);
		appendStringInfoString(&buf, ". ");
	}
	for (i = 0; i < ms->nreqs; i++)
	{
		WriteReq   *r = ms->reqs[i];

		if (&r->fetch == failed || r->fetch.batch != b ||
			r->fetch.state != FETCH_RUNNING)
			continue;
		appendStringInfoString(&buf, any ? ", " :
							   "Under way at the same time, and so perhaps applied: ");
		describe_rows(ms, &buf, r);
		any = true;
	}
	if (any)
		appendStringInfoString(&buf, ". ");
	appendStringInfoString(&buf, sent_summary(ms));
	return buf.data;
}

static void
mark_sent(CometModifyState *ms, WriteReq *r)
{
	MemoryContext old = MemoryContextSwitchTo(ms->cxt);
	int			i;

	ms->requests_sent++;
	for (i = 0; i < r->nrows; i++)
	{
		ms->rows_sent++;
		if (ms->nlisted < MAX_LISTED)
		{
			if (ms->nlisted > 0)
				appendStringInfoString(&ms->sent_list, ", ");
			describe_row(ms, &ms->sent_list, &ms->rows[r->rows[i]]);
			ms->nlisted++;
		}
	}
	MemoryContextSwitchTo(old);
}

/* ---- rows to values ---- */

static char *
shorten(const char *s)
{
	int			len = strlen(s);

	if (len <= 40)
		return pstrdup(s);
	len = pg_mbcliplen(s, len, 37);
	return psprintf("%.*s...", len, s);
}

static void
bad_value(CometModifyState *ms, int k, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("column \"%s\" of foreign table \"%s\" must hold %s to be written to Comet",
					ms->w->fields[k].column, RelationGetRelationName(ms->rel), what),
			 errdetail("%s", sent_summary(ms))));
}

/* Epoch milliseconds of a timestamp, rounded down. */
static int64
epoch_ms(CometModifyState *ms, int k, Timestamp ts)
{
	int64		ms_since_2000;

	if (TIMESTAMP_NOT_FINITE(ts))
		bad_value(ms, k, "a finite timestamp");
	ms_since_2000 = ts >= 0 ? ts / 1000 : -((-ts + 999) / 1000);
	return ms_since_2000 +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
}

static void
read_value(CometModifyState *ms, int k, Datum d, bool isnull, RowValue *rv)
{
	const WriteField *f = &ms->w->fields[k];
	Oid			type = ms->type[k];
	char	   *text;

	if (isnull)
	{
		if (f->required)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("column \"%s\" of foreign table \"%s\" must not be NULL in a write to Comet",
							f->column, RelationGetRelationName(ms->rel)),
					 errdetail("%s", sent_summary(ms))));
		/* a NULL is left out of the request, or clears the value */
		if (f->value == WV_TEXT_OR_EMPTY)
			rv->out = pstrdup("");
		return;
	}
	text = OutputFunctionCall(&ms->outfunc[k], d);
	rv->shown = shorten(text);
	switch (f->value)
	{
		case WV_TEXT:
		case WV_TEXT_OR_EMPTY:
			rv->out = pg_server_to_any(text, strlen(text), PG_UTF8);
			break;
		case WV_BOOL:
			if (type != BOOLOID)
				bad_value(ms, k, "a boolean");
			rv->flag = DatumGetBool(d);
			rv->out = pstrdup(rv->flag ? "true" : "false");
			break;
		case WV_EPOCH_MS:
			if (type == TIMESTAMPTZOID || type == TIMESTAMPOID)
			{
				rv->out = psprintf(INT64_FORMAT, epoch_ms(ms, k, DatumGetTimestamp(d)));
				break;
			}
			/* a number is taken as epoch milliseconds */
			/* FALLTHROUGH */
		case WV_INT:
			{
				char	   *end;
				long long	v;

				errno = 0;
				v = strtoll(text, &end, 10);
				if (end == text || *end != '\0' || errno != 0)
					bad_value(ms, k, f->value == WV_INT ? "a whole number" :
							  "a timestamp");
				rv->out = psprintf("%lld", v);
				break;
			}
	}
}

static void
read_row(CometModifyState *ms, TupleTableSlot *slot, TupleTableSlot *planSlot,
		 WriteRow *row)
{
	const CometWrite *w = ms->w;
	int			k;

	slot_getallattrs(slot);
	ms->rows_seen++;
	row->v = palloc0(sizeof(RowValue) * w->nfields);
	row->slot = slot;

	/* COPY and column defaults can fill columns a write cannot send */
	if (ms->unsettable != NULL)
	{
		int			a = -1;

		while ((a = bms_next_member(ms->unsettable, a)) >= 0)
			if (!slot->tts_isnull[a - 1])
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("column \"%s\" of foreign table \"%s\" cannot be set by INSERT",
								NameStr(TupleDescAttr(slot->tts_tupleDescriptor, a - 1)->attname),
								RelationGetRelationName(ms->rel)),
						 errdetail("INSERT into %s becomes %s, which sets only %s. %s",
								   RelationGetRelationName(ms->rel), form_paths(w),
								   settable_columns(w), sent_summary(ms))));
	}

	for (k = 0; k < w->nfields; k++)
	{
		Datum		d;
		bool		isnull;

		if (ms->attnum[k] == InvalidAttrNumber)
			continue;
		if (w->fields[k].role == WF_IDENTITY)
			d = ExecGetJunkAttribute(planSlot, ms->row_key_junk, &isnull);
		else
		{
			d = slot->tts_values[ms->attnum[k] - 1];
			isnull = slot->tts_isnull[ms->attnum[k] - 1];
		}
		read_value(ms, k, d, isnull, &row->v[k]);
	}
}

/* ---- requests ---- */

static void
append_json_value(StringInfo buf, const WriteField *f, const char *out)
{
	if (f->value == WV_TEXT || f->value == WV_TEXT_OR_EMPTY)
		escape_json(buf, out);
	else
		appendStringInfoString(buf, out);
}

static int
field_index(const CometWrite *w, const char *column)
{
	int			i;

	for (i = 0; column && i < w->nfields; i++)
		if (strcmp(w->fields[i].column, column) == 0)
			return i;
	return -1;
}

/* Builds the request for rows (all of the same path and order key). */
static void
build_request(CometModifyState *ms, WriteReq *r)
{
	const CometWrite *w = ms->w;
	WriteRow   *first = &ms->rows[r->rows[0]];
	StringInfoData q;
	int			k,
				i;
	bool		any = false;
	int			sw = -1;

	for (k = 0; k < w->nfields; k++)
		if (w->fields[k].role == WF_SWITCH)
			sw = k;
	r->path = w->path;
	if (sw >= 0 && !first->v[sw].flag)
		r->path = w->path_false;

	initStringInfo(&q);
	appendStringInfoString(&q, r->path);
	if (w->in_query)
	{
		for (k = 0; k < w->nfields; k++)
		{
			if (w->fields[k].role == WF_SWITCH || first->v[k].out == NULL)
				continue;
			appendStringInfo(&q, "%c%s=", any ? '&' : '?', w->fields[k].key);
			comet_url_encode(&q, first->v[k].out);
			any = true;
		}
	}
	else
	{
		StringInfoData body;

		initStringInfo(&body);
		appendStringInfoChar(&body, '{');
		for (k = 0; k < w->nfields; k++)
		{
			const WriteField *f = &w->fields[k];

			if (f->role == WF_SWITCH)
				continue;
			if (f->role == WF_LIST)
			{
				appendStringInfo(&body, "%s\"%s\": [", any ? ", " : "", f->key);
				for (i = 0; i < r->nrows; i++)
				{
					if (i > 0)
						appendStringInfoString(&body, ", ");
					append_json_value(&body, f, ms->rows[r->rows[i]].v[k].out);
				}
				appendStringInfoChar(&body, ']');
				any = true;
				continue;
			}
			/* NULL columns are left out */
			if (first->v[k].out == NULL)
				continue;
			appendStringInfo(&body, "%s\"%s\": ", any ? ", " : "", f->key);
			append_json_value(&body, f, first->v[k].out);
			any = true;
		}
		appendStringInfoChar(&body, '}');
		r->fetch.body_out = body.data;
		r->fetch.body_out_len = body.len;
	}
	r->fetch.method = w->method;
	r->fetch.write = true;
	r->fetch.request = q.data;
	r->fetch.url = psprintf("%s/%s", ms->batch->opts.url, q.data);
	r->fetch.arg = r;
}

/* The request's value of a JSON field or parameter, for cache keys. */
static const char *
request_value(CometModifyState *ms, WriteReq *r, const char *key)
{
	int			k;

	for (k = 0; k < ms->w->nfields; k++)
		if (ms->w->fields[k].key && strcmp(ms->w->fields[k].key, key) == 0)
			return ms->rows[r->rows[0]].v[k].out;
	return NULL;
}

/* Cached answers the write makes stale go, before and after it is sent. */
static void
drop_stale(CometModifyState *ms, WriteReq *r)
{
	CometBatch *b = ms->batch;
	int			i;

	for (i = 0; i < MAX_STALE && ms->w->stale[i].path; i++)
	{
		const StaleRead *s = &ms->w->stale[i];
		char	   *prefix = psprintf("%s/%s", b->opts.url, s->path);

		if (s->param == NULL)
			comet_cache_drop(b->serverid, b->umid, prefix, NULL, NULL);
		else
		{
			const char *v = request_value(ms, r, s->param);
			StringInfoData enc;

			initStringInfo(&enc);
			if (v != NULL)
				comet_url_encode(&enc, v);
			comet_cache_drop(b->serverid, b->umid, prefix, s->param, enc.data);
		}
	}
}

/*
 * What a successful answer says: Comet may answer 200 with an error code
 * in its envelope, and experiment/create with the new key.
 */
static void
check_answer(CometModifyState *ms, WriteReq *r)
{
	CometFetch *f = &r->fetch;
	jr_doc		doc;
	jr_value	v;
	jr_ref		ref;
	int64		sdk_error = 0;
	char	   *msg = NULL;
	char	   *returned = NULL;
	bool		parsed;

	parsed = jr_parse(f->body, f->len, NULL, &doc) == JR_OK;
	if (parsed)
	{
		ref = jr_field(&doc, doc.root, "sdk_error_code", NULL);
		if (jr_type_of(&doc, ref) == JR_T_NUMBER &&
			jr_convert(&doc, ref, JR_INT8, &v) == JR_VALUE)
			sdk_error = v.i;
		ref = jr_field(&doc, doc.root, "msg", NULL);
		if (jr_type_of(&doc, ref) == JR_T_STRING &&
			jr_convert(&doc, ref, JR_TEXT, &v) == JR_VALUE)
			msg = pnstrdup(v.str, Min(v.len, 200));
		if (ms->w->returns_field)
		{
			ref = jr_field(&doc, doc.root, ms->w->returns_field, NULL);
			if (jr_type_of(&doc, ref) == JR_T_STRING &&
				jr_convert(&doc, ref, JR_TEXT, &v) == JR_VALUE)
				returned = pnstrdup(v.str, v.len);
		}
	}
	/* json-c style: the document is malloc'd, free it before any ereport */
	jr_free(&doc);

	if (sdk_error != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet refused the write %s %s: %s", f->method, f->request,
						msg && pg_verifymbstr(msg, strlen(msg), true) ? msg : "(no message)"),
				 errdetail("%s", failure_detail(ms->batch, f, ms)),
				 errhint("Check the keys and values the statement writes.")));
	if (ms->w->returns_field == NULL)
		return;
	if (returned == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("Comet's answer to %s %s has no \"%s\"", f->method, f->request,
						ms->w->returns_field),
				 errdetail("The write was applied. %s", failure_detail(ms->batch, f, ms))));
	if (ms->returns_attnum != InvalidAttrNumber)
	{
		TupleTableSlot *slot = ms->rows[r->rows[0]].slot;
		TupleDesc	tupdesc = slot->tts_tupleDescriptor;
		Datum	   *values = palloc(sizeof(Datum) * tupdesc->natts);
		bool	   *nulls = palloc(sizeof(bool) * tupdesc->natts);
		char	   *s = pg_any_to_server(returned, strlen(returned), PG_UTF8);
		MemoryContext old;
		HeapTuple	tuple;

		memcpy(values, slot->tts_values, sizeof(Datum) * tupdesc->natts);
		memcpy(nulls, slot->tts_isnull, sizeof(bool) * tupdesc->natts);
		values[ms->returns_attnum - 1] =
			InputFunctionCall(&ms->returns_infunc, s, ms->returns_ioparam,
							  ms->returns_typmod);
		nulls[ms->returns_attnum - 1] = false;
		/* the slot owns the new tuple: it outlives this call's memory */
		old = MemoryContextSwitchTo(slot->tts_mcxt);
		tuple = heap_form_tuple(tupdesc, values, nulls);
		MemoryContextSwitchTo(old);
		ExecForceStoreHeapTuple(tuple, slot, true);
	}
}

static bool
key_listed(const char **keys, int n, const char *key)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

/*
 * Sends the requests in waves: concurrently, but never two of one
 * experiment (order key) at once and never one before an earlier one of
 * its experiment, so that Comet gets each experiment's points, values and
 * tags in statement order.
 */
static void
send_requests(CometModifyState *ms)
{
	CometBatch *b = ms->batch;
	bool	   *done = palloc0(sizeof(bool) * ms->nreqs);
	const char **seen = palloc(sizeof(char *) * ms->nreqs);
	int			first = 0;

	while (first < ms->nreqs)
	{
		int			nseen = 0;
		int			inwave = 0;
		int			i;
		CometFetch *f;

		for (i = first; i < ms->nreqs && inwave < b->max_inflight; i++)
		{
			WriteReq   *r = ms->reqs[i];
			bool		blocked;

			if (done[i])
				continue;
			blocked = r->order_key && key_listed(seen, nseen, r->order_key);
			if (r->order_key && !blocked)
				seen[nseen++] = r->order_key;
			if (blocked)
				continue;
			drop_stale(ms, r);
			comet_batch_add(b, &r->fetch, false);
			done[i] = true;
			inwave++;
		}
		while ((f = comet_batch_next(b)) != NULL)
		{
			WriteReq   *r = (WriteReq *) f->arg;

			check_answer(ms, r);
			mark_sent(ms, r);
			drop_stale(ms, r);
			comet_batch_done_with(b, f);
		}
		while (first < ms->nreqs && done[first])
			first++;
	}
}

static void
ensure_batch(CometModifyState *ms)
{
	if (ms->batch != NULL)
		return;
	ms->batch = comet_batch_begin(ms->server, ms->userid, ms->cxt);
	ms->batch->write_detail = failure_detail;
	ms->batch->write_detail_arg = ms;
}

/* Writes rows: reads them, groups them into requests, sends those. */
static void
write_rows(CometModifyState *ms, TupleTableSlot **slots,
		   TupleTableSlot *planSlot, int n)
{
	const CometWrite *w = ms->w;
	int			order = field_index(w, w->order_column);
	MemoryContext old;
	int			i,
				j;

	MemoryContextReset(ms->call_cxt);
	ms->rows = NULL;
	ms->reqs = NULL;
	ms->nreqs = 0;
	old = MemoryContextSwitchTo(ms->call_cxt);

	ms->rows = palloc0(sizeof(WriteRow) * n);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		read_row(ms, slots[i], planSlot, &ms->rows[i]);
	}

	/* the key is resolved here, after the rows passed their checks */
	MemoryContextSwitchTo(old);
	ensure_batch(ms);
	MemoryContextSwitchTo(ms->call_cxt);

	ms->reqs = palloc0(sizeof(WriteReq *) * n);
	for (i = 0; i < n; i++)
	{
		const char *key = order >= 0 ? ms->rows[i].v[order].out : NULL;
		WriteReq   *r = NULL;

		if (w->group && key != NULL)
			for (j = 0; j < ms->nreqs && r == NULL; j++)
				if (ms->reqs[j]->order_key &&
					strcmp(ms->reqs[j]->order_key, key) == 0)
					r = ms->reqs[j];
		if (r == NULL)
		{
			r = palloc0(sizeof(WriteReq));
			r->rows = palloc(sizeof(int) * n);
			r->order_key = key;
			ms->reqs[ms->nreqs++] = r;
		}
		r->rows[r->nrows++] = i;
	}
	for (i = 0; i < ms->nreqs; i++)
		build_request(ms, ms->reqs[i]);

	send_requests(ms);
	MemoryContextSwitchTo(old);
}

TupleTableSlot *
comet_exec_insert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
				  TupleTableSlot *planSlot)
{
	write_rows((CometModifyState *) rinfo->ri_FdwState, &slot, planSlot, 1);
	return slot;
}

TupleTableSlot **
comet_exec_batch_insert(EState *estate, ResultRelInfo *rinfo,
						TupleTableSlot **slots, TupleTableSlot **planSlots,
						int *numSlots)
{
	write_rows((CometModifyState *) rinfo->ri_FdwState, slots, NULL, *numSlots);
	return slots;
}

TupleTableSlot *
comet_exec_update(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
				  TupleTableSlot *planSlot)
{
	write_rows((CometModifyState *) rinfo->ri_FdwState, &slot, planSlot, 1);
	return slot;
}

/* ---------------------------------------------------------------------
 * EXPLAIN
 * --------------------------------------------------------------------- */

static bool
int_member(List *list, int v)
{
	ListCell   *lc;

	foreach(lc, list)
		if (lfirst_int(lc) == v)
			return true;
	return false;
}

/* "POST write/experiment/tags {"experimentKey": {experiment_key}, ...}" */
static char *
describe_form(Relation rel, const CometWrite *w, const char *path, List *given)
{
	StringInfoData buf;
	int			k;
	bool		any = false;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s %s", w->method, path);
	if (!w->in_query)
		appendStringInfoString(&buf, " {");
	for (k = 0; k < w->nfields; k++)
	{
		const WriteField *f = &w->fields[k];
		AttrNumber	a = field_attnum(rel, f);

		if (f->role == WF_SWITCH || a == InvalidAttrNumber)
			continue;
		/* what the statement leaves out is left out of the request */
		if (w->command == CMD_INSERT && !f->required && !int_member(given, a))
			continue;
		if (w->command == CMD_UPDATE && f->role == WF_FIELD && !int_member(given, a))
			continue;
		if (w->in_query)
			appendStringInfo(&buf, "%c%s={%s}", any ? '&' : '?', f->key, f->column);
		else if (f->role == WF_LIST)
			appendStringInfo(&buf, "%s\"%s\": [{%s}, ...]", any ? ", " : "",
							 f->key, f->column);
		else
			appendStringInfo(&buf, "%s\"%s\": {%s}", any ? ", " : "", f->key,
							 f->column);
		any = true;
	}
	if (!w->in_query)
		appendStringInfoChar(&buf, '}');
	return buf.data;
}

void
comet_explain_modify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
					 List *fdw_private, int subplan_index, ExplainState *es)
{
	Relation	rel = rinfo->ri_RelationDesc;
	CometModifyState *ms = rinfo->ri_FdwState;
	const CometWrite *w = find_write(comet_table_endpoint_name(RelationGetRelid(rel), true),
									 mtstate->operation);
	int			switch_const = -1;
	List	   *given = NIL;

	if (w == NULL)
		return;
	if (fdw_private != NIL)
	{
		switch_const = intVal(linitial(fdw_private));
		given = lsecond(fdw_private);
	}
	if (w->path_false == NULL || switch_const == 1)
		ExplainPropertyText("Comet Write", describe_form(rel, w, w->path, given), es);
	else if (switch_const == 0)
		ExplainPropertyText("Comet Write", describe_form(rel, w, w->path_false, given), es);
	else
	{
		const WriteField *sw = field_of_role(w, WF_SWITCH);

		ExplainPropertyText("Comet Write",
							psprintf("%s if %s, else %s",
									 describe_form(rel, w, w->path, given),
									 sw->column,
									 describe_form(rel, w, w->path_false, given)),
							es);
	}
	if (w->command == CMD_INSERT && rinfo->ri_BatchSize > 1)
		ExplainPropertyText("Comet Batching",
							w->group ?
							psprintf("rows of one %s share a request, %d rows at a time",
									 w->order_column, rinfo->ri_BatchSize) :
							psprintf("one request per row, %d rows at a time; rows of one %s in order, others concurrently",
									 rinfo->ri_BatchSize, w->order_column),
							es);
	if (es->analyze && ms != NULL)
	{
		ExplainPropertyInteger("Comet Write Requests", NULL, ms->requests_sent, es);
		ExplainPropertyInteger("Comet Rows Sent", NULL, ms->rows_sent, es);
		if (ms->batch != NULL)
			ExplainPropertyInteger("Comet Retries", NULL, ms->batch->counters.retries, es);
	}
}
