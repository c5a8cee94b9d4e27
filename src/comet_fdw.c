/*-------------------------------------------------------------------------
 *
 * comet_fdw.c
 *		Foreign-data wrapper for the Comet ML REST API: the handler, the
 *		FDW callbacks, IMPORT FOREIGN SCHEMA and the SQL-callable functions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "commands/comment.h"
#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "comet_fdw.h"
#include "http.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(comet_fdw_handler);
PG_FUNCTION_INFO_V1(comet_fdw_version);
PG_FUNCTION_INFO_V1(comet_fdw_cache_clear);
PG_FUNCTION_INFO_V1(comet_fdw_stats);
PG_FUNCTION_INFO_V1(comet_fdw_to_float8);
PG_FUNCTION_INFO_V1(comet_fdw_comment_table);

void
_PG_init(void)
{
	comet_connection_init();
	DefineCustomIntVariable("comet_fdw.cache_max_kb",
							"Memory the response cache of one backend may use.",
							NULL,
							&comet_cache_max_kb, 65536, 0, INT_MAX / 1024,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomBoolVariable("comet_fdw.search_narrowing",
							 "Lets Comet's search (project/query) narrow fan-outs filtered on a parameter's or tag's value.",
							 "Only where the comparison means the same on Comet's side (README: Server-side search).",
							 &comet_search_narrowing, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("comet_fdw.background_parse",
							 "Parses the next Comet response in a background thread while the rows of the current one are returned.",
							 "The thread only parses JSON (no PostgreSQL code, every signal blocked); off parses in the backend itself.",
							 &comet_background_parse, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("comet_fdw");
}

/* ---- planning ---- */

static void
cometGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	comet_get_rel_size(root, baserel, foreigntableid);
}

static void
cometGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	comet_get_paths(root, baserel, foreigntableid);
}

static ForeignScan *
base_scan_plan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
					ForeignPath *best_path, List *tlist, List *scan_clauses,
					Plan *outer_plan)
{
	CometFdwRelationInfo *fpinfo = baserel->fdw_private;
	List	   *key_quals;
	List	   *fdw_exprs = NIL;
	List	   *key_info = NIL;
	List	   *attrs = NIL;
	List	   *search;
	Bitmapset  *attrs_used = bms_copy(fpinfo->attrs_used);
	ListCell   *lc;
	int			i;

	key_quals = list_concat(comet_key_quals_from(root, baserel, fpinfo->ep, scan_clauses),
							fpinfo->implied_quals);
	comet_key_exprs(key_quals, &fdw_exprs, &key_info);

	/* join clauses of a parameterized path are checked locally too */
	foreach(lc, scan_clauses)
	{
		RestrictInfo *ri = lfirst(lc);

		pull_varattnos((Node *) ri->clause, baserel->relid, &attrs_used);
	}
	if (bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs_used))
	{
		/* a whole-row reference needs every column */
		Relation	rel = table_open(foreigntableid, NoLock);

		for (i = 1; i <= RelationGetDescr(rel)->natts; i++)
			attrs = lappend_int(attrs, i);
		table_close(rel, NoLock);
	}
	else
	{
		i = -1;
		while ((i = bms_next_member(attrs_used, i)) >= 0)
		{
			AttrNumber	attnum = i + FirstLowInvalidHeapAttributeNumber;

			if (attnum > 0)
				attrs = lappend_int(attrs, attnum);
		}
	}

	/* a search's name and value follow the keys (pushdown.c) */
	search = comet_search_quals(root, baserel, fpinfo->ep, scan_clauses);
	fdw_exprs = list_concat(fdw_exprs, search);

	/* every qual stays a local qual: pushdown never changes a result */
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	return make_foreignscan(tlist, scan_clauses, baserel->relid, fdw_exprs,
							list_make4(makeString(pstrdup(fpinfo->ep->name)),
									   key_info, attrs,
									   makeInteger(list_length(search))),
							NIL, NIL, outer_plan);
}

static ForeignScan *
cometGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
					ForeignPath *best_path, List *tlist, List *scan_clauses,
					Plan *outer_plan)
{
	if (IS_JOIN_REL(baserel))
		return comet_join_plan(root, baserel, best_path, tlist, outer_plan);
	return base_scan_plan(root, baserel, foreigntableid, best_path, tlist,
						  scan_clauses, outer_plan);
}

/* ---- execution ---- */

/* A Comet Join (two tables, one scan) has no relation of its own. */
static bool
is_join_scan(ForeignScanState *node)
{
	return ((ForeignScan *) node->ss.ps.plan)->scan.scanrelid == 0;
}

static void
cometBeginForeignScan(ForeignScanState *node, int eflags)
{
	if (is_join_scan(node))
		node->fdw_state = comet_join_begin(node, eflags);
	else
		node->fdw_state = comet_scan_begin(node, eflags);
}

static TupleTableSlot *
cometIterateForeignScan(ForeignScanState *node)
{
	if (is_join_scan(node))
		return comet_join_next((CometJoinState *) node->fdw_state,
							   node->ss.ss_ScanTupleSlot);
	return comet_scan_next((CometScanState *) node->fdw_state,
						   node->ss.ss_ScanTupleSlot);
}

static void
cometReScanForeignScan(ForeignScanState *node)
{
	if (is_join_scan(node))
		comet_join_rescan((CometJoinState *) node->fdw_state);
	else
		comet_scan_rescan((CometScanState *) node->fdw_state);
}

static void
cometEndForeignScan(ForeignScanState *node)
{
	if (node->fdw_state == NULL)
		return;
	if (is_join_scan(node))
		comet_join_end((CometJoinState *) node->fdw_state);
	else
		comet_scan_end((CometScanState *) node->fdw_state);
}

static void
cometExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	if (is_join_scan(node))
		comet_join_explain((CometJoinState *) node->fdw_state, es);
	else
		comet_scan_explain((CometScanState *) node->fdw_state, es);
}

static void
cometGetForeignJoinPaths(PlannerInfo *root, RelOptInfo *joinrel,
						 RelOptInfo *outerrel, RelOptInfo *innerrel,
						 JoinType jointype, JoinPathExtraData *extra)
{
	comet_get_join_paths(root, joinrel, outerrel, innerrel, jointype, extra);
}

/* ---- IMPORT FOREIGN SCHEMA ---- */

static bool
table_listed(ImportForeignSchemaStmt *stmt, const char *name)
{
	ListCell   *lc;

	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = lfirst(lc);

		if (strcmp(rv->relname, name) == 0)
			return true;
	}
	return false;
}

static List *
cometImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	List	   *commands = NIL;
	int			i,
				c;

	if (strcmp(stmt->remote_schema, "comet") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("comet_fdw has no remote schema \"%s\"", stmt->remote_schema),
				 errhint("Use IMPORT FOREIGN SCHEMA comet FROM SERVER %s INTO ...;",
						 quote_identifier(server->servername))));

	for (i = 0; i < comet_endpoint_count(); i++)
	{
		const CometEndpoint *ep = comet_endpoint_at(i);
		StringInfoData buf;

		if (!comet_endpoint_is_table(ep))
			continue;
		if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO &&
			!table_listed(stmt, ep->name))
			continue;
		if (stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT &&
			table_listed(stmt, ep->name))
			continue;

		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (",
						 quote_identifier(ep->name));
		for (c = 0; c < ep->ncols; c++)
			appendStringInfo(&buf, "%s%s %s", c ? ", " : "",
							 quote_identifier(ep->cols[c].name),
							 format_type_be(ep->cols[c].type));
		appendStringInfo(&buf, ") SERVER %s OPTIONS (endpoint %s)",
						 quote_identifier(server->servername),
						 quote_literal_cstr(ep->name));
		commands = lappend(commands, buf.data);
	}
	/* COMMENTs follow from the extension's ddl_command_end trigger */
	return commands;
}

Datum
comet_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = cometGetForeignRelSize;
	routine->GetForeignPaths = cometGetForeignPaths;
	routine->GetForeignPlan = cometGetForeignPlan;
	routine->BeginForeignScan = cometBeginForeignScan;
	routine->IterateForeignScan = cometIterateForeignScan;
	routine->ReScanForeignScan = cometReScanForeignScan;
	routine->EndForeignScan = cometEndForeignScan;
	routine->ExplainForeignScan = cometExplainForeignScan;
	routine->GetForeignJoinPaths = cometGetForeignJoinPaths;
	routine->ImportForeignSchema = cometImportForeignSchema;

	/* writes (modify.c) */
	routine->AddForeignUpdateTargets = comet_add_update_targets;
	routine->PlanForeignModify = comet_plan_modify;
	routine->BeginForeignModify = comet_begin_modify;
	routine->ExecForeignInsert = comet_exec_insert;
	routine->ExecForeignBatchInsert = comet_exec_batch_insert;
	routine->GetForeignModifyBatchSize = comet_modify_batch_size;
	routine->ExecForeignUpdate = comet_exec_update;
	routine->EndForeignModify = comet_end_modify;
	routine->BeginForeignInsert = comet_begin_insert;
	routine->EndForeignInsert = comet_end_modify;
	routine->IsForeignRelUpdatable = comet_rel_updatable;
	routine->ExplainForeignModify = comet_explain_modify;
	PG_RETURN_POINTER(routine);
}

/* ---- SQL functions ---- */

Datum
comet_fdw_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("comet_fdw %s, %s, JSON: built-in parser (jsonrow.c)",
											  COMET_FDW_VERSION,
											  chttp_version())));
}

Datum
comet_fdw_cache_clear(PG_FUNCTION_ARGS)
{
	int64		entries,
				bytes;

	comet_cache_sizes(&entries, &bytes);
	comet_cache_clear(InvalidOid);
	PG_RETURN_INT64(entries);
}

Datum
comet_fdw_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};
	int64		entries,
				bytes;
	StringInfoData js;
	int			i;
	bool		first = true;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	comet_cache_sizes(&entries, &bytes);
	initStringInfo(&js);
	appendStringInfoChar(&js, '{');
	for (i = 0; i < COMET_MAX_STATUS; i++)
	{
		if (comet_status_errors[i] == 0)
			continue;
		appendStringInfo(&js, "%s\"%s\": " INT64_FORMAT, first ? "" : ", ",
						 i == 0 ? "transport" : psprintf("%d", i),
						 comet_status_errors[i]);
		first = false;
	}
	if (comet_malformed_errors > 0)
		appendStringInfo(&js, "%s\"malformed\": " INT64_FORMAT, first ? "" : ", ",
						 comet_malformed_errors);
	appendStringInfoChar(&js, '}');

	values[0] = Int64GetDatum(comet_backend_counters.requests);
	values[1] = Int64GetDatum(comet_backend_counters.retries);
	values[2] = Int64GetDatum(comet_backend_counters.cache_hits);
	values[3] = Int64GetDatum(comet_backend_counters.bytes);
	values[4] = Int64GetDatum(comet_backend_counters.errors);
	values[5] = Float8GetDatum(comet_backend_counters.http_ms);
	values[6] = Int64GetDatum(entries);
	values[7] = Int64GetDatum(bytes);
	values[8] = DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * Comet sends metric and parameter values as strings that may or may not
 * be numbers; the views want a finite number or NULL, never an error.
 * "NaN" and "Infinity" are NULL too: one of them would make every avg() or
 * sum() over a dashboard's bucket NaN or infinite.
 */
Datum
comet_fdw_to_float8(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char	   *s = text_to_cstring(t);
	char	   *end;
	double		v;

	while (*s && isspace((unsigned char) *s))
		s++;
	if (*s == '\0')
		PG_RETURN_NULL();
	/* strtod also reads hexadecimal, which float8in (and Comet) do not */
	if (strpbrk(s, "xX") != NULL)
		PG_RETURN_NULL();
	errno = 0;
	v = strtod(s, &end);
	if (end == s)
		PG_RETURN_NULL();
	while (*end && isspace((unsigned char) *end))
		end++;
	if (*end != '\0')
		PG_RETURN_NULL();
	if (isnan(v) || isinf(v))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}

/* COMMENTs from the catalogue, for a table made by IMPORT FOREIGN SCHEMA */
Datum
comet_fdw_comment_table(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	const char *epname;
	const CometEndpoint *ep;
	Relation	rel;
	TupleDesc	tupdesc;
	ForeignTable *ft;
	ForeignServer *server;
	ForeignDataWrapper *fdw;
	int			i;

	if (get_rel_relkind(relid) != RELKIND_FOREIGN_TABLE)
		PG_RETURN_BOOL(false);
#if PG_VERSION_NUM >= 160000
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
#else
	if (!pg_class_ownercheck(relid, GetUserId()))
#endif
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_FOREIGN_TABLE, get_rel_name(relid));
	ft = GetForeignTable(relid);
	server = GetForeignServer(ft->serverid);
	fdw = GetForeignDataWrapper(server->fdwid);
	if (!OidIsValid(fdw->fdwhandler) ||
		strcmp(get_func_name(fdw->fdwhandler), "comet_fdw_handler") != 0)
		PG_RETURN_BOOL(false);
	epname = comet_table_endpoint_name(relid, true);
	if (epname == NULL || (ep = comet_endpoint_lookup(epname)) == NULL)
		PG_RETURN_BOOL(false);

	CreateComments(relid, RelationRelationId, 0, ep->comment);
	rel = table_open(relid, AccessShareLock);
	tupdesc = RelationGetDescr(rel);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const CometColumn *col;

		if (att->attisdropped)
			continue;
		col = comet_endpoint_column(ep, NameStr(att->attname));
		if (col && col->comment)
			CreateComments(relid, RelationRelationId, att->attnum, col->comment);
	}
	table_close(rel, AccessShareLock);
	PG_RETURN_BOOL(true);
}
