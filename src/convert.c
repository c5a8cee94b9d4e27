/*-------------------------------------------------------------------------
 *
 * convert.c
 *		Comet JSON (json-c) to PostgreSQL Datums.
 *
 * The only file that includes json-c.  A parsed tree is owned by a memory
 * context callback, so it is freed on every path, errors included; values
 * taken from it are copied into palloc'd Datums before the tree goes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type_d.h"
#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* utils/builtins.h declares a json_object() that clashes with json-c */
#define json_object pg_json_object_fn
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#undef json_object

#include <json-c/json.h>

#include "comet_fdw.h"

#define COMET_JSON_MAX_DEPTH 64

struct CometDoc
{
	json_object *root;
	json_object *rows;			/* array of rows, or NULL: root is the row */
	int			nrows;
	int		   *order;			/* sorted row order, or NULL */
	const CometEndpoint *ep;
	const char *request;
};

/* what an error during conversion is about */
typedef struct ConvContext
{
	const char *relname;
	const char *colname;
	const char *request;
} ConvContext;

static void
conv_error_callback(void *arg)
{
	ConvContext *cc = (ConvContext *) arg;

	if (cc->colname)
		errcontext("column \"%s\" of foreign table \"%s\", from GET %s",
				   cc->colname, cc->relname, cc->request);
}

static void
doc_free_cb(void *arg)
{
	json_object_put((json_object *) arg);
}

const char *
comet_jsonc_version(void)
{
	return json_c_version();
}

static json_object *
parse_json(const char *body, size_t len, enum json_tokener_error *err,
		   size_t *where)
{
	json_tokener *tok = json_tokener_new_ex(COMET_JSON_MAX_DEPTH);
	json_object *obj;
	size_t		end;

	if (tok == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while parsing a Comet response")));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int) len);
	*err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (obj != NULL && *err == json_tokener_success)
	{
		/* only white space may follow the document */
		while (end < len && (body[end] == ' ' || body[end] == '\n' ||
							 body[end] == '\r' || body[end] == '\t'))
			end++;
		if (end < len)
		{
			json_object_put(obj);
			obj = NULL;
			*err = json_tokener_error_parse_unexpected;
		}
	}
	else if (obj != NULL)
	{
		json_object_put(obj);
		obj = NULL;
	}
	else if (*err == json_tokener_success || *err == json_tokener_continue)
		*err = json_tokener_continue;	/* ran out of input */
	*where = end;
	return obj;
}

char *
comet_json_error_msg(const char *body, size_t len)
{
	enum json_tokener_error err;
	size_t		where;
	json_object *root;
	json_object *msg;
	char	   *result = NULL;

	if (len == 0 || len > 65536)
		return NULL;
	root = parse_json(body, len, &err, &where);
	if (root == NULL)
		return NULL;
	if (json_object_is_type(root, json_type_object) &&
		json_object_object_get_ex(root, "msg", &msg) &&
		json_object_is_type(msg, json_type_string))
		result = pnstrdup(json_object_get_string(msg),
						  json_object_get_string_len(msg));
	json_object_put(root);
	if (result && memchr(result, '\0', strlen(result) + 1) != result + strlen(result))
		result = NULL;
	return result;
}

CometDoc *
comet_doc_parse(const char *body, size_t len, const CometEndpoint *ep,
				const char *request, MemoryContext cxt)
{
	CometDoc   *doc;
	enum json_tokener_error err;
	size_t		where;
	json_object *root;
	MemoryContextCallback *cb;

	if (len > (size_t) INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet response is too large to parse"),
				 errdetail("GET %s sent %zu bytes.", request, len)));

	root = parse_json(body, len, &err, &where);
	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("malformed JSON in Comet response"),
				 errdetail("GET %s: %s at byte %zu of %zu.", request,
						   err == json_tokener_continue ?
						   "the document ends early" :
						   json_tokener_error_desc(err), where, len)));

	/* from here on the tree is freed with cxt, whatever happens */
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = doc_free_cb;
	cb->arg = root;
	MemoryContextRegisterResetCallback(cxt, cb);

	doc = MemoryContextAllocZero(cxt, sizeof(CometDoc));
	doc->root = root;
	doc->ep = ep;
	doc->request = MemoryContextStrdup(cxt, request);

	if (ep->list_key == NULL)
	{
		if (!json_object_is_type(root, json_type_object))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("Comet response is not a JSON object"),
					 errdetail("GET %s answered a JSON %s.", request,
							   json_type_to_name(json_object_get_type(root)))));
		doc->rows = NULL;
		doc->nrows = 1;
		return doc;
	}

	if (!json_object_is_type(root, json_type_object) ||
		!json_object_object_get_ex(root, ep->list_key, &doc->rows))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Comet response has no \"%s\" list", ep->list_key),
				 errdetail("GET %s answered a JSON %s without it.", request,
						   json_type_to_name(json_object_get_type(root)))));

	if (doc->rows == NULL || json_object_is_type(doc->rows, json_type_null))
	{
		/* Comet sends null for "none" in places (installedPackages) */
		doc->rows = NULL;
		doc->nrows = 0;
		return doc;
	}
	if (!json_object_is_type(doc->rows, json_type_array))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("\"%s\" in a Comet response is not a list", ep->list_key),
				 errdetail("GET %s answered a JSON %s for it.", request,
						   json_type_to_name(json_object_get_type(doc->rows)))));
	doc->nrows = (int) json_object_array_length(doc->rows);
	return doc;
}

int
comet_doc_nrows(CometDoc *doc)
{
	return doc->nrows;
}

static json_object *
doc_row(CometDoc *doc, int row)
{
	if (doc->order)
		row = doc->order[row];
	if (doc->rows == NULL)
		return doc->root;
	return json_object_array_get_idx(doc->rows, row);
}

/* A field of a row object, trying "a|b" alternatives; NULL if absent. */
static json_object *
row_field(json_object *obj, const char *field, const char *alt)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (json_object_object_get_ex(obj, field, &v) && v != NULL)
		return v;
	if (alt && json_object_object_get_ex(obj, alt, &v))
		return v;
	return NULL;
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

char *
comet_doc_string(CometDoc *doc, int row, const char *spec)
{
	json_object *obj = doc_row(doc, row);
	json_object *v;
	char	   *field,
			   *alt;

	if (spec == NULL)
		v = obj;
	else
	{
		split_field(spec, &field, &alt);
		v = row_field(obj, field, alt);
	}
	if (v == NULL || json_object_is_type(v, json_type_null))
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return pnstrdup(json_object_get_string(v), json_object_get_string_len(v));
	return pstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

int
comet_doc_bool(CometDoc *doc, int row, const char *spec)
{
	json_object *v = row_field(doc_row(doc, row), spec, NULL);

	if (v == NULL || json_object_is_type(v, json_type_null))
		return -1;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? 1 : 0;
	if (json_object_is_type(v, json_type_string))
	{
		bool		b;

		if (parse_bool(json_object_get_string(v), &b))
			return b ? 1 : 0;
	}
	return -1;
}

/* ---- sorting of metric points ---- */

typedef struct PointKey
{
	int64		offset;
	int64		step;
	int64		ts;
	int			idx;
	uint8		nulls;			/* bit 0 offset, 1 step, 2 ts */
} PointKey;

static int64
int_field(json_object *obj, const char *field, bool *isnull)
{
	json_object *v = row_field(obj, field, NULL);

	*isnull = true;
	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int) ||
		json_object_is_type(v, json_type_double))
	{
		*isnull = false;
		return json_object_get_int64(v);
	}
	return 0;
}

static int
cmp_nullable(int64 a, bool an, int64 b, bool bn)
{
	if (an || bn)
		return (an ? 1 : 0) - (bn ? 1 : 0);	/* NULLs last */
	return (a > b) - (a < b);
}

static int
point_cmp(const void *a, const void *b)
{
	const PointKey *x = a;
	const PointKey *y = b;
	int			c;

	c = cmp_nullable(x->offset, x->nulls & 1, y->offset, y->nulls & 1);
	if (c == 0)
		c = cmp_nullable(x->step, x->nulls & 2, y->step, y->nulls & 2);
	if (c == 0)
		c = cmp_nullable(x->ts, x->nulls & 4, y->ts, y->nulls & 4);
	if (c == 0)
		c = (x->idx > y->idx) - (x->idx < y->idx);
	return c;
}

/* Comet returns points in no order: order them by offset, step, time. */
void
comet_doc_sort_points(CometDoc *doc)
{
	PointKey   *keys;
	int			i;
	bool		sorted = true;

	if (doc->rows == NULL || doc->nrows < 2)
		return;
	keys = palloc(sizeof(PointKey) * doc->nrows);
	for (i = 0; i < doc->nrows; i++)
	{
		json_object *obj = json_object_array_get_idx(doc->rows, i);
		bool		n1,
					n2,
					n3;

		keys[i].offset = int_field(obj, "offset", &n1);
		keys[i].step = int_field(obj, "step", &n2);
		keys[i].ts = int_field(obj, "timestamp", &n3);
		keys[i].nulls = (n1 ? 1 : 0) | (n2 ? 2 : 0) | (n3 ? 4 : 0);
		keys[i].idx = i;
		if (i > 0 && sorted && point_cmp(&keys[i - 1], &keys[i]) > 0)
			sorted = false;
	}
	if (!sorted)
	{
		qsort(keys, doc->nrows, sizeof(PointKey), point_cmp);
		doc->order = palloc(sizeof(int) * doc->nrows);
		for (i = 0; i < doc->nrows; i++)
			doc->order[i] = keys[i].idx;
	}
	pfree(keys);
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
		if (attrs_used != NULL &&
			!bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber,
						   attrs_used))
			continue;

		a = &map->attrs[map->nused++];
		a->attnum = att->attnum;
		a->colname = pstrdup(NameStr(att->attname));
		a->type = att->atttypid;
		a->typmod = att->atttypmod;
		a->slot = -1;
		a->elemtype = get_element_type(att->atttypid);
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
			if (col->field)
				split_field(col->field, &a->field, &a->alt_field);
		}
		else
		{
			a->conv = CONV_FIELD;
			a->field = camel_case(a->colname);
		}
		if (a->conv == CONV_SLOT)
			map->need_context[a->slot] = true;
	}
	return map;
}

/* ---- conversion ---- */

static Datum
epoch_ms_datum(int64 ms)
{
	TimestampTz ts;

	/* beyond what timestamptz holds: an error, never a wrapped value */
	if (ms > INT64CONST(9000000000000000) / 1000 ||
		ms < -INT64CONST(9000000000000000) / 1000)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("epoch milliseconds %lld are out of range for timestamptz",
						(long long) ms)));
	ts = ms * 1000 - ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	if (!IS_VALID_TIMESTAMP(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("epoch milliseconds %lld are out of range for timestamptz",
						(long long) ms)));
	return TimestampTzGetDatum(ts);
}

static void
check_no_nul(const char *s, int len)
{
	if (memchr(s, '\0', len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
				 errmsg("JSON string contains a NUL character (\\u0000), which text cannot hold")));
}

/* A value that arrived as a string (JSON string or context slot). */
static Datum
datum_from_string(const char *s, int len, CometAttr *a)
{
	char	   *cstr;
	bool		digits;
	int			i;

	check_no_nul(s, len);
	switch (a->type)
	{
		case TEXTOID:
			return PointerGetDatum(cstring_to_text_with_len(s, len));
		case TIMESTAMPTZOID:
			/* some servers send epoch milliseconds as strings */
			digits = len > 0;
			for (i = 0; i < len; i++)
				if (!isdigit((unsigned char) s[i]) && !(i == 0 && s[i] == '-' && len > 1))
					digits = false;
			if (digits && len < 19)
				return epoch_ms_datum(strtoll(s, NULL, 10));
			break;
		case JSONBOID:
		case JSONOID:
			{
				/* a string becomes a JSON string, escaped by json-c */
				json_object *js = json_object_new_string_len(s, len);
				Datum		d;

				if (js == NULL)
					ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
									errmsg("out of memory")));
				PG_TRY();
				{
					cstr = pstrdup(json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
				}
				PG_FINALLY();
				{
					json_object_put(js);
				}
				PG_END_TRY();
				d = InputFunctionCall(&a->infunc, cstr, a->typioparam, a->typmod);
				return d;
			}
	}
	cstr = pnstrdup(s, len);
	return InputFunctionCall(&a->infunc, cstr, a->typioparam, a->typmod);
}

static void
wrong_kind(json_object *v, CometAttr *a)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("Comet sent a JSON %s, which does not fit type %s",
					json_type_to_name(json_object_get_type(v)),
					format_type_be(a->type))));
}

static Datum
text_array_datum(json_object *v, CometAttr *a)
{
	int			n = (int) json_object_array_length(v);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *enulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1];
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
	{
		json_object *e = json_object_array_get_idx(v, i);

		enulls[i] = (e == NULL || json_object_is_type(e, json_type_null));
		if (enulls[i])
			elems[i] = (Datum) 0;
		else if (json_object_is_type(e, json_type_string))
		{
			check_no_nul(json_object_get_string(e), json_object_get_string_len(e));
			elems[i] = PointerGetDatum(cstring_to_text_with_len(json_object_get_string(e),
																json_object_get_string_len(e)));
		}
		else
			elems[i] = CStringGetTextDatum(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
	}
	dims[0] = n;
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(elems, enulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

static Datum
datum_from_json(json_object *v, CometAttr *a, bool *isnull)
{
	json_type	t;

	*isnull = false;
	if (v == NULL || json_object_is_type(v, json_type_null))
	{
		*isnull = true;
		return (Datum) 0;
	}
	t = json_object_get_type(v);

	if (t == json_type_string)
	{
		/* JSON-typed columns keep a string as a JSON string */
		return datum_from_string(json_object_get_string(v),
								 json_object_get_string_len(v), a);
	}

	switch (a->type)
	{
		case INT8OID:
			if (t == json_type_int)
			{
				int64		i = json_object_get_int64(v);

				if (i == PG_INT64_MAX && json_object_get_uint64(v) > (uint64) PG_INT64_MAX)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("value %s is out of range for type bigint",
									json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN))));
				return Int64GetDatum(i);
			}
			if (t == json_type_double)
			{
				double		d = json_object_get_double(v);

				if (d != floor(d) || d >= 9223372036854775808.0 ||
					d < -9223372036854775808.0 || isnan(d))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("value %s does not fit type bigint",
									json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN))));
				return Int64GetDatum((int64) d);
			}
			wrong_kind(v, a);
			break;
		case FLOAT8OID:
			if (t == json_type_int)
				return Float8GetDatum((double) json_object_get_int64(v));
			if (t == json_type_double)
				return Float8GetDatum(json_object_get_double(v));
			wrong_kind(v, a);
			break;
		case BOOLOID:
			if (t == json_type_boolean)
				return BoolGetDatum(json_object_get_boolean(v));
			wrong_kind(v, a);
			break;
		case TIMESTAMPTZOID:
			if (t == json_type_int)
				return epoch_ms_datum(json_object_get_int64(v));
			if (t == json_type_double)
			{
				double		d = json_object_get_double(v);

				if (isnan(d) || d > 9.0e15 || d < -9.0e15)
					wrong_kind(v, a);
				return epoch_ms_datum((int64) d);
			}
			wrong_kind(v, a);
			break;
		case TEXTARRAYOID:
			if (t == json_type_array)
				return text_array_datum(v, a);
			wrong_kind(v, a);
			break;
		case TEXTOID:
		case JSONBOID:
		case JSONOID:
			break;
		default:
			/* objects and arrays only fit JSON and text types */
			if ((t == json_type_object || t == json_type_array) &&
				a->elemtype == InvalidOid)
				wrong_kind(v, a);
			break;
	}

	/* everything else goes through the type's input function */
	{
		const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		if (a->type == TEXTOID)
			return CStringGetTextDatum(s);
		return InputFunctionCall(&a->infunc, pstrdup(s), a->typioparam, a->typmod);
	}
}

static Datum
duration_datum(json_object *obj, CometAttr *a, bool *isnull)
{
	json_object *s = row_field(obj, "startTimeMillis", NULL);
	json_object *e = row_field(obj, "endTimeMillis", NULL);

	/* durationMillis is sometimes whole seconds: prefer end - start */
	if (s && e && json_object_is_type(s, json_type_int) &&
		json_object_is_type(e, json_type_int) && a->type == INT8OID)
	{
		*isnull = false;
		return Int64GetDatum(json_object_get_int64(e) - json_object_get_int64(s));
	}
	return datum_from_json(row_field(obj, a->field, NULL), a, isnull);
}

void
comet_doc_fill(CometDoc *doc, int row, CometRowMap *map, char *const *context,
			   Datum *values, bool *nulls)
{
	json_object *obj = doc_row(doc, row);
	ErrorContextCallback errcb;
	ConvContext cc;
	int			i;

	cc.relname = map->relname;
	cc.colname = NULL;
	cc.request = doc->request;
	errcb.callback = conv_error_callback;
	errcb.arg = &cc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (!doc->ep->scalar_rows && obj != NULL &&
		!json_object_is_type(obj, json_type_object))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("Comet sent a JSON %s where a row object was expected",
						json_type_to_name(json_object_get_type(obj))),
				 errdetail("Element %d of \"%s\" from GET %s.", row,
						   doc->ep->list_key ? doc->ep->list_key : "", doc->request)));

	for (i = 0; i < map->natts; i++)
		nulls[i] = true;

	for (i = 0; i < map->nused; i++)
	{
		CometAttr  *a = &map->attrs[i];
		int			k = a->attnum - 1;

		cc.colname = a->colname;
		switch (a->conv)
		{
			case CONV_SLOT:
				if (context[a->slot] != NULL)
				{
					values[k] = datum_from_string(context[a->slot],
												  strlen(context[a->slot]), a);
					nulls[k] = false;
				}
				break;
			case CONV_ELEMENT:
				values[k] = datum_from_json(obj, a, &nulls[k]);
				break;
			case CONV_ROW:
				{
					const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);

					values[k] = InputFunctionCall(&a->infunc, pstrdup(s),
												  a->typioparam, a->typmod);
					nulls[k] = false;
					break;
				}
			case CONV_DURATION:
				values[k] = duration_datum(obj, a, &nulls[k]);
				break;
			case CONV_FIELD:
				values[k] = datum_from_json(row_field(obj, a->field, a->alt_field),
											a, &nulls[k]);
				break;
		}
	}
	error_context_stack = errcb.previous;
}
