/*-------------------------------------------------------------------------
 *
 * convert.c
 *		Comet JSON to PostgreSQL Datums.
 *
 * jsonrow.c parses and classifies (and is fuzzed outside the server); this
 * file turns its results into Datums and errors.  A parsed document (its
 * node array is malloc'd) belongs to a memory context callback, so it is
 * freed on every path, errors included; values taken from it are copied
 * into palloc'd Datums before it goes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "utils/builtins.h"

#include "comet_fdw.h"
#include "jsonrow.h"

struct CometDoc
{
	jr_doc		jr;
	const CometEndpoint *ep;
	const char *request;
	/* raw_body endpoints: the body is the one row's value */
	const char *body;
	size_t		len;
	bool		none;			/* Comet said there is none (none_field) */
};

/* what an error during conversion is about */
typedef struct ConvContext
{
	const char *relname;
	const char *colname;
	const char *request;
	const char *method;
} ConvContext;

static void
conv_error_callback(void *arg)
{
	ConvContext *cc = (ConvContext *) arg;

	if (cc->colname)
		errcontext("column \"%s\" of foreign table \"%s\", from %s %s",
				   cc->colname, cc->relname, cc->method, cc->request);
}

/* The method an endpoint's requests use, for messages. */
const char *
comet_endpoint_method(const CometEndpoint *ep)
{
	return ep->post ? "POST" : "GET";
}

static int	parse_abort_check(void);

static void
doc_free_cb(void *arg)
{
	jr_free(&((CometDoc *) arg)->jr);
}

char *
comet_json_error_msg(const char *body, size_t len)
{
	jr_doc		doc;
	jr_ref		msg;
	jr_value	v;
	char	   *result = NULL;

	if (len == 0 || len > 65536)
		return NULL;
	if (jr_parse(body, len, NULL, &doc) == JR_OK)
	{
		msg = jr_field(&doc, doc.root, "msg", NULL);
		if (jr_type_of(&doc, msg) == JR_T_STRING &&
			jr_convert(&doc, msg, JR_TEXT, &v) == JR_VALUE)
			result = pnstrdup(v.str, v.len);
	}
	jr_free(&doc);
	return result;
}

/*
 * Whether a raw body is Comet's JSON "there is none" answer: an object with
 * the endpoint's none_field.  Only a small body that starts like an object
 * is looked at, so real bytes (a zip) are never parsed.
 */
static bool
body_says_none(const char *body, size_t len, const char *field)
{
	jr_doc		doc;
	size_t		i = 0;
	bool		none = false;

	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
					   body[i] == '\n'))
		i++;
	if (i >= len || body[i] != '{' || len > 65536)
		return false;
	if (jr_parse(body, len, NULL, &doc) == JR_OK)
		none = jr_field(&doc, doc.root, field, NULL) >= 0;
	jr_free(&doc);
	return none;
}

static int
parse_abort_check(void)
{
	return QueryCancelPending || ProcDiePending;
}

/* Where in a nested answer something is wrong: "member K, element N (name)". */
static char *
nested_place(CometDoc *doc)
{
	jr_doc	   *jr = &doc->jr;
	StringInfoData buf;
	size_t		len;
	const char *key = jr_string(jr, jr->err_member, &len);

	initStringInfo(&buf);
	if (key != NULL)
		appendStringInfo(&buf, "member \"%s\"", pnstrdup(key, Min(len, 64)));
	if (jr->err_element >= 0)
	{
		const char *ename = doc->ep->nested->element_name;
		jr_ref		list = jr_field(jr, jr_member(jr, key ? key : "", key ? len : 0),
									doc->ep->nested->member_list, NULL);
		jr_ref		el = jr_element(jr, list, jr->err_element);
		const char *name = ename ? jr_string(jr, jr_field(jr, el, ename, NULL), &len) : NULL;

		appendStringInfo(&buf, ", element %d of \"%s\"", jr->err_element,
						 doc->ep->nested->member_list);
		if (name != NULL)
			appendStringInfo(&buf, " (%s \"%s\")", ename, pnstrdup(name, Min(len, 64)));
	}
	return buf.data;
}

/* A nested answer of the wrong shape: an error naming the request and where. */
static void
nesting_error(CometDoc *doc, jr_error err, const char *method, const char *request)
{
	jr_doc	   *jr = &doc->jr;
	char	   *place = nested_place(doc);

	if (err == JR_UNEQUAL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("Comet sent parallel arrays of unequal length"),
				 errdetail("%s %s: in %s, \"%s\" has %d values and \"%s\" has %d.",
						   method, request, place, jr->err_field[0], jr->err_len[0],
						   jr->err_field[1], jr->err_len[1]),
				 errhint("comet_fdw returns no series shorter than Comet sent; read the metric through raw_metrics instead.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("Comet response has an unexpected shape: %s", jr->what),
			 jr->err_field[0] ?
			 errdetail("%s %s: in %s, field \"%s\".", method, request, place, jr->err_field[0]) :
			 errdetail("%s %s: in %s.", method, request, place)));
}

/* How a body of the endpoint's parses into rows. */
static void
doc_options(const CometEndpoint *ep, int64 max_bytes, jr_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->list_key = ep->list_key;
	opts->list_optional = ep->list_optional;
	opts->max_bytes = (size_t) max_bytes;
	opts->abort_check = parse_abort_check;
	if (ep->nested)
	{
		opts->members = true;
		opts->member_list = ep->nested->member_list;
		opts->parallel = ep->nested->parallel[0] ? ep->nested->parallel : NULL;
	}
}

/*
 * Starts parsing a body of the endpoint's in the background (a copy: the
 * body may go); NULL when that cannot be (the thread is busy, the body is
 * no JSON): comet_doc_parse_job() then parses it itself.
 */
void *
comet_doc_start_job(const char *body, size_t len, const CometEndpoint *ep,
					int64 max_bytes, CometRowMap *map)
{
	jr_options	opts;
	int			kinds[8];
	int			i;

	if (ep->raw_body)
		return NULL;
	doc_options(ep, max_bytes, &opts);
	if (opts.parallel != NULL)
	{
		/* the thread also converts the arrays the columns read (run_values) */
		for (i = 0; i < 8; i++)
			kinds[i] = -1;
		for (i = 0; i < map->nused; i++)
		{
			CometAttr  *a = &map->attrs[i];

			if (!a->parallel || a->alt_field != NULL || a->subfield != NULL)
				continue;
			/* two columns reading one array two ways: neither is done ahead */
			kinds[a->parallel_index] = kinds[a->parallel_index] == -1 ? a->kind : -2;
		}
		for (i = 0; i < 8; i++)
			if (kinds[i] == -2)
				kinds[i] = -1;
		opts.parallel_kinds = kinds;
	}
	return jr_job_start(body, len, &opts);
}

void
comet_doc_abandon_job(void *job)
{
	jr_job_abandon((jr_job *) job);
}

/*
 * Parses a response into rows.  max_bytes bounds the memory of the parse
 * itself (besides the body): a small body can describe a huge tree.
 */
CometDoc *
comet_doc_parse(const char *body, size_t len, const CometEndpoint *ep,
				const char *request, MemoryContext cxt, int64 max_bytes)
{
	return comet_doc_parse_job(body, len, ep, request, cxt, max_bytes, NULL);
}

/*
 * A body parsed into rows (by job, when it was started for this body), or
 * a clear error.
 */
CometDoc *
comet_doc_parse_job(const char *body, size_t len, const CometEndpoint *ep,
					const char *request, MemoryContext cxt, int64 max_bytes,
					void *job)
{
	CometDoc   *doc = MemoryContextAllocZero(cxt, sizeof(CometDoc));
	MemoryContextCallback *cb;
	jr_options	opts;
	jr_error	err;
	const char *method = comet_endpoint_method(ep);

	/* from here on the tree is freed with cxt, whatever happens */
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = doc_free_cb;
	cb->arg = doc;
	MemoryContextRegisterResetCallback(cxt, cb);
	doc->ep = ep;
	doc->request = MemoryContextStrdup(cxt, request);
	if (ep->raw_body)
	{
		/* bytes, not JSON: one row whatever they are (the body outlives doc) */
		doc->body = body;
		doc->len = len;
		doc->none = ep->none_field != NULL && body_says_none(body, len, ep->none_field);
		return doc;
	}

	if (job != NULL)
		err = jr_job_wait((jr_job *) job, &doc->jr, parse_abort_check);
	else
	{
		doc_options(ep, max_bytes, &opts);
		err = jr_parse_opts(body, len, &opts, &doc->jr);
	}
	if (err != JR_OK && err != JR_ABORTED)
	{
		comet_backend_counters.errors++;
		comet_malformed_errors++;
	}
	switch (err)
	{
		case JR_OK:
			break;
		case JR_ABORTED:
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling statement due to user request")));
			break;
		case JR_TOO_BIG:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Comet response holds too many values to decode within max_response_bytes"),
					 errdetail("%s %s: decoding its %zu bytes would take more than " INT64_FORMAT " bytes.",
							   method, request, len, max_bytes),
					 errhint("Filter the query further, or raise the server option max_response_bytes.")));
			break;
		case JR_OOM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while parsing a Comet response")));
			break;
		case JR_PARSE:
		case JR_INCOMPLETE:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("malformed JSON in Comet response"),
					 errdetail("%s %s: %s at byte %zu of %zu.", method, request,
							   doc->jr.what, doc->jr.where, len)));
			break;
		case JR_TOO_DEEP:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("malformed JSON in Comet response"),
					 errdetail("%s %s: nesting deeper than %d at byte %zu of %zu.", method, request,
							   JR_MAX_DEPTH, doc->jr.where, len)));
			break;
		case JR_NOT_OBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("Comet response is not a JSON object"),
					 errdetail("%s %s answered a JSON %s.", method, request, doc->jr.what)));
			break;
		case JR_NO_LIST:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Comet response has no \"%s\" list", ep->list_key),
					 errdetail("%s %s answered a JSON object without it.", method, request)));
			break;
		case JR_NOT_LIST:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("\"%s\" in a Comet response is not a list", ep->list_key),
					 errdetail("%s %s answered a JSON %s for it.", method, request, doc->jr.what)));
			break;
		case JR_NOT_MEMBERS:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("\"%s\" in a Comet response is not an object", ep->list_key),
					 errdetail("%s %s answered a JSON %s for it.", method, request, doc->jr.what)));
			break;
		case JR_BAD_NESTING:
		case JR_UNEQUAL:
			nesting_error(doc, err, method, request);
			break;
	}
	return doc;
}

int
comet_doc_nrows(CometDoc *doc)
{
	return doc->ep->raw_body ? 1 : doc->jr.nrows;
}

void
comet_doc_sort_points(CometDoc *doc)
{
	if (jr_sort_points(&doc->jr) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while ordering metric points")));
}

static void
split_field(const char *spec, char **field, char **alt)
{
	const char *bar = strchr(spec, '|');

	if (bar == NULL)
	{
		*field = pstrdup(spec);
		*alt = NULL;
	}
	else
	{
		*field = pnstrdup(spec, bar - spec);
		*alt = pstrdup(bar + 1);
	}
}

/* A field (NULL: the row itself) as a palloc'd string; NULL if none. */
char *
comet_doc_string(CometDoc *doc, int row, const char *spec)
{
	jr_ref		obj = jr_row(&doc->jr, row);
	jr_ref		v = obj;
	jr_value	val;

	if (spec != NULL)
	{
		char	   *field,
				   *alt;

		split_field(spec, &field, &alt);
		v = jr_field(&doc->jr, obj, field, alt);
	}
	if (jr_convert(&doc->jr, v, JR_TEXT, &val) != JR_VALUE)
		return NULL;
	return pnstrdup(val.str, val.len);
}

int
comet_doc_bool(CometDoc *doc, int row, const char *spec)
{
	jr_ref		v = jr_field(&doc->jr, jr_row(&doc->jr, row), spec, NULL);
	jr_value	val;
	bool		b;

	switch (jr_convert(&doc->jr, v, JR_BOOL, &val))
	{
		case JR_VALUE:
			return val.b ? 1 : 0;
		case JR_STRING:
			if (parse_bool(val.str, &b))
				return b ? 1 : 0;
			return -1;
		default:
			return -1;
	}
}

/* ---- the row map ---- */

/* "file_name" -> "fileName": the field a column reads by default */
static char *
camel_case(const char *name)
{
	char	   *out = palloc(strlen(name) + 1);
	char	   *o = out;
	bool		up = false;

	for (; *name; name++)
	{
		if (*name == '_')
		{
			up = (o != out);
			continue;
		}
		*o++ = up ? pg_toupper((unsigned char) *name) : *name;
		up = false;
	}
	*o = '\0';
	return out;
}

CometRowMap *
comet_build_row_map(Relation rel, const CometEndpoint *ep, Bitmapset *attrs_used)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	CometRowMap *map = palloc0(sizeof(CometRowMap));
	int			i;

	map->relname = pstrdup(RelationGetRelationName(rel));
	map->ep = ep;
	map->last_elem = -1;
	map->natts = tupdesc->natts;
	map->attrs = palloc0(sizeof(CometAttr) * Max(tupdesc->natts, 1));

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		CometAttr  *a;
		const CometColumn *col;
		char	   *field;
		Oid			infunc;

		if (att->attisdropped)
			continue;
		/* only what the plan reads: count(*) decodes (and converts) nothing */
		if (!bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber,
						   attrs_used))
			continue;

		a = &map->attrs[map->nused++];
		a->attnum = att->attnum;
		a->colname = pstrdup(NameStr(att->attname));
		a->type = att->atttypid;
		a->typmod = att->atttypmod;
		a->slot = -1;
		a->elemtype = get_element_type(att->atttypid);
		a->kind = comet_type_kind(a->type);
		if (a->kind == JR_INPUT && OidIsValid(a->elemtype))
			a->kind = JR_INPUT_ARRAY;	/* JSON arrays may fill other arrays */
		/* varchar(n) and friends need their typmod applied */
		if (a->kind == JR_TEXT && a->typmod >= 0)
			a->kind = JR_INPUT;
		getTypeInputInfo(att->atttypid, &infunc, &a->typioparam);
		fmgr_info(infunc, &a->infunc);

		field = comet_column_field_option(RelationGetRelid(rel), att->attnum);
		col = comet_endpoint_column(ep, a->colname);
		if (field != NULL)
		{
			/* the user named the JSON field: read it as it is */
			a->conv = CONV_FIELD;
			split_field(field, &a->field, &a->alt_field);
		}
		else if (col != NULL)
		{
			a->conv = col->conv;
			a->slot = col->conv == CONV_SLOT ? col->slot : -1;
			if (col->field && col->conv != CONV_SLOT)
			{
				const char *dot = strchr(col->field, '.');

				/* the catalogue's "a.b": field b of the object in field a */
				if (dot != NULL)
				{
					a->field = pnstrdup(col->field, dot - col->field);
					a->subfield = pstrdup(dot + 1);
				}
				else
					split_field(col->field, &a->field, &a->alt_field);
			}
		}
		else
		{
			a->conv = CONV_FIELD;
			a->field = camel_case(a->colname);
		}
		if (a->conv == CONV_SLOT)
			map->need_context[a->slot] = true;
		/* a metric value: a finite number or NULL, never an error */
		if (a->conv == CONV_VALUE && a->kind == JR_FLOAT8)
			a->kind = JR_FLOAT8_LENIENT;
		if (ep->nested && a->field && a->conv != CONV_SLOT)
		{
			const char *const *p;

			for (p = ep->nested->parallel; *p; p++)
				if (strcmp(*p, a->field) == 0)
				{
					a->parallel = true;
					a->parallel_index = (int) (p - ep->nested->parallel);
				}
		}
	}
	return map;
}

/* ---- conversion ---- */

static inline TimestampTz
epoch_ms_ts(int64 ms)
{
	return ms * 1000 - ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
}

static Datum
epoch_ms_datum(int64 ms)
{
	TimestampTz ts = epoch_ms_ts(ms);

	if (!IS_VALID_TIMESTAMP(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("epoch milliseconds " INT64_FORMAT " are out of range for timestamptz",
						ms)));
	return TimestampTzGetDatum(ts);
}

/*
 * Comet speaks UTF-8; the database may not.  Every string that becomes a
 * value goes through here: converted (PostgreSQL's own error when the
 * database encoding cannot hold a character), never passed on as raw bytes.
 */
static char *
db_cstring(const char *s, size_t len)
{
	char	   *c;

	if (GetDatabaseEncoding() == PG_UTF8)
		return pnstrdup(s, len);
	c = pg_any_to_server(s, (int) len, PG_UTF8);
	return c == s ? pnstrdup(s, len) : c;
}

static Datum
db_text(const char *s, size_t len)
{
	char	   *c;

	if (GetDatabaseEncoding() == PG_UTF8)
		return PointerGetDatum(cstring_to_text_with_len(s, len));
	c = pg_any_to_server(s, (int) len, PG_UTF8);
	if (c == s)
		return PointerGetDatum(cstring_to_text_with_len(s, len));
	return PointerGetDatum(cstring_to_text(c));
}

static Datum
input(CometAttr *a, const char *s, size_t len)
{
	return InputFunctionCall(&a->infunc, db_cstring(s, len), a->typioparam, a->typmod);
}

/* An array literal for array_in, from a JSON array's elements. */
static char *
array_literal(jr_doc *doc, jr_ref arr, bool *ok)
{
	StringInfoData buf;
	jr_ref		e;

	*ok = true;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (e = jr_first(doc, arr); e >= 0; e = jr_next(doc, e))
	{
		jr_value	v;
		const char *p;

		if (e != jr_first(doc, arr))
			appendStringInfoChar(&buf, ',');
		if (jr_type_of(doc, e) == JR_T_ARRAY || jr_type_of(doc, e) == JR_T_OBJECT)
		{
			*ok = false;
			return NULL;
		}
		switch (jr_convert(doc, e, JR_TEXT, &v))
		{
			case JR_NULL:
				appendStringInfoString(&buf, "NULL");
				continue;
			case JR_VALUE:
				break;
			default:
				*ok = false;
				return NULL;
		}
		appendStringInfoChar(&buf, '"');
		v.str = db_cstring(v.str, v.len);
		v.len = strlen(v.str);
		for (p = v.str; p < v.str + v.len; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static Datum
text_array_datum(jr_doc *doc, jr_ref arr)
{
	int			n = jr_count(doc, arr);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *enulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1];
	int			lbs[1] = {1};
	int			i;
	jr_ref		e;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	for (i = 0, e = jr_first(doc, arr); e >= 0; i++, e = jr_next(doc, e))
	{
		jr_value	v;

		switch (jr_convert(doc, e, JR_TEXT, &v))
		{
			case JR_VALUE:
				elems[i] = db_text(v.str, v.len);
				enulls[i] = false;
				break;
			case JR_HAS_NUL:
				ereport(ERROR,
						(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
						 errmsg("JSON string contains a NUL character (\\u0000), which text cannot hold")));
				break;
			default:
				elems[i] = (Datum) 0;
				enulls[i] = true;
				break;
		}
	}
	dims[0] = n;
	return PointerGetDatum(construct_md_array(elems, enulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

static void
no_memory(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory while decoding a Comet response")));
}

static Datum
datum_from_json(jr_doc *doc, jr_ref v, CometAttr *a, bool *isnull)
{
	jr_value	val;
	jr_status	st = jr_convert(doc, v, (jr_kind) a->kind, &val);

	*isnull = false;
	switch (st)
	{
		case JR_NULL:
			*isnull = true;
			return (Datum) 0;
		case JR_HAS_NUL:
			ereport(ERROR,
					(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
					 errmsg("JSON string contains a NUL character (\\u0000), which text cannot hold")));
			break;
		case JR_WRONG_KIND:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("Comet sent a JSON %s, which does not fit type %s",
							jr_type_name(doc, v), format_type_be(a->type))));
			break;
		case JR_NO_MEMORY:
			no_memory();
			break;
		case JR_RANGE:
			{
				size_t		len;
				const char *s = jr_json_text(doc, v, &len);

				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("value %s is out of range for type %s",
								pnstrdup(s, Min(len, 64)), format_type_be(a->type))));
				break;
			}
		case JR_STRING:
			return input(a, val.str, val.len);
		case JR_VALUE:
			break;
	}

	switch ((jr_kind) a->kind)
	{
		case JR_TEXT:
			return db_text(val.str, val.len);
		case JR_INT8:
			return Int64GetDatum(val.i);
		case JR_FLOAT8:
		case JR_FLOAT8_LENIENT:
			return Float8GetDatum(val.d);
		case JR_BOOL:
			return BoolGetDatum(val.b);
		case JR_EPOCH_MS:
			return epoch_ms_datum(val.i);
		case JR_JSON:
			return input(a, val.str, val.len);
		case JR_TEXT_ARRAY:
			return text_array_datum(doc, val.arr);
		case JR_INPUT_ARRAY:
			{
				bool		ok;
				char	   *lit = array_literal(doc, val.arr, &ok);

				if (!ok)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
							 errmsg("Comet sent a JSON array with nested values, which does not fit type %s",
									format_type_be(a->type))));
				return InputFunctionCall(&a->infunc, lit, a->typioparam, a->typmod);
			}
		case JR_INPUT:
			break;
	}
	return input(a, val.str, val.len);
}

/*
 * The context columns (the keys the scan knows) are the same for every row
 * of a document: make their Datums once per document, in the current
 * memory context, which must live as long as the document's rows.
 */
void
comet_row_map_set_context(CometRowMap *map, char *const *context)
{
	int			i;

	/* a new document or member: nothing of the last element is kept */
	map->last_elem = -1;
	map->fast = false;
	for (i = 0; i < map->nused; i++)
	{
		CometAttr  *a = &map->attrs[i];
		const char *s;

		if (a->conv != CONV_SLOT)
			continue;
		s = context[a->slot];
		a->slot_null = (s == NULL);
		if (s == NULL)
			a->slot_value = (Datum) 0;
		else if (a->kind == JR_TEXT)
			a->slot_value = db_text(s, strlen(s));
		else
		{
			ErrorContextCallback errcb;
			ConvContext cc;

			cc.relname = map->relname;
			cc.colname = a->colname;
			cc.request = "(a key of the request)";
			cc.method = comet_endpoint_method(map->ep);
			errcb.callback = conv_error_callback;
			errcb.arg = &cc;
			errcb.previous = error_context_stack;
			error_context_stack = &errcb;
			a->slot_value = InputFunctionCall(&a->infunc, db_cstring(s, strlen(s)),
											  a->typioparam, a->typmod);
			error_context_stack = errcb.previous;
		}
	}
}

/* An epoch-milliseconds field of obj, if it holds one. */
static bool
epoch_field(jr_doc *doc, jr_ref obj, const char *field, int64 *ms)
{
	jr_ref		v = jr_field(doc, obj, field, NULL);
	jr_value	val;

	if (jr_type_of(doc, v) != JR_T_NUMBER ||
		jr_convert(doc, v, JR_INT8, &val) != JR_VALUE)
		return false;
	*ms = val.i;
	return true;
}

/*
 * duration_ms: end - start, in milliseconds; while running (no end), the
 * time from start to the start of the statement.  Comet's durationMillis
 * is not used: real servers send it in whole seconds.
 */
static Datum
duration_datum(jr_doc *doc, jr_ref obj, CometAttr *a, bool *isnull)
{
	int64		start,
				end,
				d;

	*isnull = true;
	if (!epoch_field(doc, obj, "startTimeMillis", &start))
		return (Datum) 0;
	if (!epoch_field(doc, obj, "endTimeMillis", &end))
		end = (GetCurrentStatementStartTimestamp() / 1000) +
			((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000);
	if (pg_sub_s64_overflow(end, start, &d))
		return (Datum) 0;
	*isnull = false;
	if (a->kind == JR_INT8)
		return Int64GetDatum(d);
	return InputFunctionCall(&a->infunc, psprintf(INT64_FORMAT, d),
							 a->typioparam, a->typmod);
}

/*
 * running: Comet's flag where it sends one (experiment metadata); else an
 * experiment with a start and no end is running (Comet's list has no flag).
 */
static Datum
running_datum(jr_doc *doc, jr_ref obj, CometAttr *a, bool *isnull)
{
	jr_ref		v = jr_field(doc, obj, a->field, NULL);
	int64		ms;
	bool		running;

	if (jr_type_of(doc, v) == JR_T_TRUE || jr_type_of(doc, v) == JR_T_FALSE)
		running = jr_type_of(doc, v) == JR_T_TRUE;
	else if (epoch_field(doc, obj, "endTimeMillis", &ms))
		running = false;
	else if (epoch_field(doc, obj, "startTimeMillis", &ms))
		running = true;
	else
	{
		*isnull = true;
		return (Datum) 0;
	}
	*isnull = false;
	if (a->kind == JR_BOOL)
		return BoolGetDatum(running);
	return InputFunctionCall(&a->infunc, running ? "true" : "false",
							 a->typioparam, a->typmod);
}

/*
 * The one row of a raw body: the body itself (bytea as it is; another type
 * gets it as UTF-8 text, checked), NULL where Comet said there is none.
 * The caller has set up the error context and the NULLs.
 */
static void
raw_fill(CometDoc *doc, CometRowMap *map, Datum *values, bool *nulls,
		 ConvContext *cc)
{
	int			i;

	for (i = 0; i < map->nused; i++)
	{
		CometAttr  *a = &map->attrs[i];
		int			k = a->attnum - 1;

		cc->colname = a->colname;
		if (a->conv == CONV_SLOT)
		{
			values[k] = a->slot_value;
			nulls[k] = a->slot_null;
		}
		else if (a->conv == CONV_BODY && !doc->none)
		{
			if (doc->len > MaxAllocSize - VARHDRSZ)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("a Comet response of %zu bytes is too large for one value",
								doc->len)));
			if (a->type == BYTEAOID)
			{
				bytea	   *b = (bytea *) palloc(doc->len + VARHDRSZ);

				SET_VARSIZE(b, doc->len + VARHDRSZ);
				memcpy(VARDATA(b), doc->body, doc->len);
				values[k] = PointerGetDatum(b);
			}
			else
			{
				/* text: valid UTF-8 only (NUL included), then the database's encoding */
				(void) pg_verify_mbstr(PG_UTF8, doc->body, (int) doc->len, false);
				values[k] = input(a, doc->body, doc->len);
			}
			nulls[k] = false;
		}
		/* fields of a JSON row: a raw body has none */
	}
}

/*
 * A parallel array of numbers, times or flags, all converted at once when
 * its element's first row is read: the series' other rows only copy a
 * Datum.  A value that is no plain value or NULL (an error to raise, a
 * string for an input function) is left to datum_from_json, at its row:
 * the same error at the same row as without the run.  False where the
 * kind has no run (or Datums of 8 bytes are references).
 */
static bool
run_values(CometRowMap *map, CometAttr *a, jr_doc *jr)
{
#ifdef USE_FLOAT8_BYVAL
	jr_scalar  *sc;
	uint8	   *st;
	int			n = a->elem_count;
	int			j;

	if (a->kind != JR_INT8 && a->kind != JR_FLOAT8 &&
		a->kind != JR_FLOAT8_LENIENT && a->kind != JR_EPOCH_MS &&
		a->kind != JR_BOOL)
		return false;
	if (n > a->run_cap)
	{
		MemoryContext cxt = GetMemoryChunkContext(map->attrs);
		int32		cap = Max(n, Max(a->run_cap * 2, 1024));

		if (a->run_values)
		{
			pfree(a->run_values);
			pfree(a->run_status);
			pfree(a->run_scratch);
		}
		a->run_values = MemoryContextAlloc(cxt, sizeof(Datum) * cap);
		a->run_status = MemoryContextAlloc(cxt, cap);
		a->run_scratch = MemoryContextAlloc(cxt, sizeof(jr_scalar) * cap);
		a->run_cap = cap;
	}
	if (jr->pre != NULL && a->alt_field == NULL && a->subfield == NULL &&
		jr->pre_kind[a->parallel_index] == a->kind &&
		jr->pre_status[a->elem_ref] != 0xFF)
	{
		/* converted by the thread that parsed it */
		sc = jr->pre + a->elem_ref;
		st = jr->pre_status + a->elem_ref;
	}
	else
	{
		sc = a->run_scratch;
		st = a->run_status;
		if (!jr_convert_run(jr, a->elem_ref, n, (jr_kind) a->kind, sc, a->run_status))
			return false;
	}
	switch ((jr_kind) a->kind)
	{
		case JR_INT8:
		case JR_FLOAT8:
		case JR_FLOAT8_LENIENT:
			/* an int8's or float8's Datum is its 8 bytes: read them in place */
			StaticAssertStmt(sizeof(jr_scalar) == sizeof(Datum),
							 "a converted number is a Datum");
			a->run_vals = (const Datum *) sc;
			a->run_st = st;
			return true;
		case JR_BOOL:
			for (j = 0; j < n; j++)
				if (st[j] == JR_VALUE)
					a->run_values[j] = BoolGetDatum(sc[j].b);
			a->run_vals = a->run_values;
			a->run_st = st;
			return true;
		case JR_EPOCH_MS:
			if (st != a->run_status)
				memcpy(a->run_status, st, n);
			for (j = 0; j < n; j++)
				if (a->run_status[j] == JR_VALUE)
				{
					TimestampTz ts = epoch_ms_ts(sc[j].i);

					if (IS_VALID_TIMESTAMP(ts))
						a->run_values[j] = TimestampTzGetDatum(ts);
					else
						a->run_status[j] = JR_RANGE;
				}
			a->run_vals = a->run_values;
			a->run_st = a->run_status;
			return true;
		default:
			return false;
	}
#else
	return false;
#endif
}

/*
 * Row index of the element's converted run (run_ok): its value, or false
 * for one the full path must read (past the run's end, an error to raise).
 */
static inline bool
run_datum(const CometAttr *a, int index, Datum *value, bool *isnull)
{
	uint8		st;

	if (index >= a->elem_count)
		return false;
	st = a->run_st[index];
	if (st != JR_VALUE && st != JR_NULL)
		return false;
	*isnull = (st == JR_NULL);
	*value = *isnull ? (Datum) 0 : a->run_vals[index];
	return true;
}

/* an element's rows: a column with one value for all (or read from a run) */
typedef struct CometFastConst
{
	int			k;
	Datum		value;
	bool		isnull;
} CometFastConst;


/*
 * Whether every used attr of the element's rows is a constant of the
 * document or element, or a converted run (after the element's first row);
 * if so, the plan fast_fill() follows.
 */
static bool
fast_element(CometRowMap *map)
{
	int			i;

	for (i = 0; i < map->nused; i++)
	{
		CometAttr  *a = &map->attrs[i];

		if (a->conv == CONV_SLOT)
			continue;
		if (a->conv != CONV_FIELD && a->conv != CONV_VALUE)
			return false;
		if (a->parallel && !a->run_ok)
			return false;
	}
	if (map->fast_const == NULL)
	{
		MemoryContext cxt = GetMemoryChunkContext(map->attrs);

		map->fast_const = MemoryContextAlloc(cxt, sizeof(CometFastConst) * map->nused);
		map->fast_run = MemoryContextAlloc(cxt, sizeof(CometAttr *) * map->nused);
	}
	map->nfast_const = map->nfast_run = 0;
	for (i = 0; i < map->nused; i++)
	{
		CometAttr  *a = &map->attrs[i];

		if (a->conv == CONV_SLOT || !a->parallel)
		{
			CometFastConst *c = &map->fast_const[map->nfast_const++];

			c->k = a->attnum - 1;
			c->value = a->conv == CONV_SLOT ? a->slot_value : a->elem_value;
			c->isnull = a->conv == CONV_SLOT ? a->slot_null : a->elem_null;
		}
		else
			map->fast_run[map->nfast_run++] = a;
	}
	return true;
}

/*
 * The element's next row, when fast: only copies; false (nothing to undo)
 * for a value that needs the full path (a run's NULL past its end, an
 * error to raise).
 */
static inline bool
fast_fill(CometRowMap *map, int index, Datum *values, bool *nulls)
{
	int			i;

	for (i = 0; i < map->nfast_run; i++)
	{
		const CometAttr *a = map->fast_run[i];

		if (!run_datum(a, index, &values[a->attnum - 1], &nulls[a->attnum - 1]))
			return false;
	}
	for (i = 0; i < map->nfast_const; i++)
	{
		const CometFastConst *c = &map->fast_const[i];

		values[c->k] = c->value;
		nulls[c->k] = c->isnull;
	}
	return true;
}

void
comet_doc_fill(CometDoc *doc, int row, CometRowMap *map,
			   Datum *values, bool *nulls)
{
	jr_doc	   *jr = &doc->jr;
	jr_ref		obj = jr_row(jr, row);
	ErrorContextCallback errcb;
	ConvContext cc;
	int			i;
	int			index = jr_row_index(jr, row);
	bool		same_elem;

	/* the thousands of points of one series after its first */
	if (map->fast && index >= 0 && obj == map->last_elem)
	{
		memset(nulls, true, sizeof(bool) * map->natts);
		if (fast_fill(map, index, values, nulls))
			return;
	}

	cc.relname = map->relname;
	cc.colname = NULL;
	cc.request = doc->request;
	cc.method = comet_endpoint_method(doc->ep);
	errcb.callback = conv_error_callback;
	errcb.arg = &cc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (i = 0; i < map->natts; i++)
		nulls[i] = true;
	if (doc->ep->raw_body)
	{
		raw_fill(doc, map, values, nulls, &cc);
		error_context_stack = errcb.previous;
		return;
	}
	if (!doc->ep->scalar_rows && jr_type_of(jr, obj) != JR_T_OBJECT &&
		jr_type_of(jr, obj) != JR_T_NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("Comet sent a JSON %s where a row object was expected",
						jr_type_name(jr, obj)),
				 errdetail("Element %d of \"%s\" from %s %s.", row,
						   doc->ep->list_key ? doc->ep->list_key : "",
						   cc.method, doc->request)));

	/*
	 * Rows from one element of parallel arrays (thousands of points of one
	 * series) share its arrays and its other fields: look those up once.
	 * The scan sets the context (and so forgets the element) per document.
	 */
	same_elem = index >= 0 && obj == map->last_elem;
	if (index >= 0)
		map->last_elem = obj;

	for (i = 0; i < map->nused; i++)
	{
		CometAttr  *a = &map->attrs[i];
		int			k = a->attnum - 1;

		cc.colname = a->colname;
		switch (a->conv)
		{
			case CONV_SLOT:
				values[k] = a->slot_value;
				nulls[k] = a->slot_null;
				break;
			case CONV_ELEMENT:
				values[k] = datum_from_json(jr, obj, a, &nulls[k]);
				break;
			case CONV_ROW:
				{
					size_t		len;
					const char *s = jr_json_text(jr, obj, &len);

					values[k] = input(a, s, len);
					nulls[k] = false;
					break;
				}
			case CONV_DURATION:
				values[k] = duration_datum(jr, obj, a, &nulls[k]);
				break;
			case CONV_RUNNING:
				values[k] = running_datum(jr, obj, a, &nulls[k]);
				break;
			case CONV_FLAG:
				values[k] = datum_from_json(jr, jr_field_hinted(jr, obj, a->field,
																a->alt_field, &a->hint),
											a, &nulls[k]);
				/* absent or null: false, as the scan's variant rule says */
				if (nulls[k] && a->kind == JR_BOOL)
				{
					values[k] = BoolGetDatum(false);
					nulls[k] = false;
				}
				break;
			case CONV_FIELD:
			case CONV_VALUE:
				if (index >= 0 && a->parallel)
				{
					/*
					 * row i of the parallel arrays: their element i (the
					 * parse checked they hold scalars, so it is node first + i)
					 */
					if (!same_elem)
					{
						jr_ref		arr = jr_field_hinted(jr, obj, a->field,
														  a->alt_field, &a->hint);

						a->elem_ref = jr_type_of(jr, arr) == JR_T_ARRAY ? jr_first(jr, arr) : -1;
						a->elem_count = a->elem_ref >= 0 ? jr_count(jr, arr) : 0;
						a->run_ok = a->elem_count > 0 && run_values(map, a, jr);
					}
					if (a->run_ok && run_datum(a, index, &values[k], &nulls[k]))
						break;
					values[k] = datum_from_json(jr, index < a->elem_count ?
												a->elem_ref + index : -1,
												a, &nulls[k]);
				}
				else if (index >= 0)
				{
					/* the element's own field: one Datum, as long as the document */
					if (!same_elem)
					{
						MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(doc));

						a->elem_value = datum_from_json(jr, jr_field_hinted(jr, obj, a->field,
																			a->alt_field, &a->hint),
														a, &a->elem_null);
						MemoryContextSwitchTo(old);
					}
					values[k] = a->elem_value;
					nulls[k] = a->elem_null;
				}
				else
				{
					jr_ref		v = jr_field_hinted(jr, obj, a->field, a->alt_field,
													&a->hint);

					/* a field of a field (experimentModel.experimentKey) */
					if (a->subfield)
						v = jr_field(jr, v, a->subfield, NULL);
					values[k] = datum_from_json(jr, v, a, &nulls[k]);
				}
				break;
			case CONV_ROOT:
				/* rows are elements of a list: a field of the object holding it */
				values[k] = datum_from_json(jr, jr_field(jr, jr->root, a->field,
														 a->alt_field),
											a, &nulls[k]);
				break;
			case CONV_BODY:
				/* only raw_body endpoints have the body as a value */
				nulls[k] = true;
				break;
		}
	}
	if (index >= 0 && !same_elem)
		map->fast = fast_element(map);
	error_context_stack = errcb.previous;
}

/* The row's object (for nested rows: its element), to tell elements apart. */
int32
comet_doc_row_ref(CometDoc *doc, int row)
{
	return jr_row(&doc->jr, row);
}

int32
comet_doc_member_ref(CometDoc *doc, int row)
{
	return jr_row_member(&doc->jr, row);
}

char *
comet_doc_member_key(CometDoc *doc, int row)
{
	size_t		len;
	const char *s = jr_string(&doc->jr, jr_row_member(&doc->jr, row), &len);

	if (s == NULL)
		return NULL;
	return pnstrdup(s, len);
}

/* Is key a member of a nested answer (a null member is none)? */
bool
comet_doc_has_member(CometDoc *doc, const char *key)
{
	jr_ref		m = jr_member(&doc->jr, key, strlen(key));

	return m >= 0 && jr_type_of(&doc->jr, m) != JR_T_NULL;
}
