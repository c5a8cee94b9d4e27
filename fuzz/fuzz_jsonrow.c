/*
 * fuzz_jsonrow.c
 *		libFuzzer target for comet_fdw's JSON-to-row decoding (jsonrow.c),
 *		driven by the real endpoint catalogue (endpoints.c), with json-c as a
 *		reference: both parsers must accept and reject the same documents,
 *		and agree on the rows and the values read from them.
 *
 * An input is "<endpoint name>\n<response body>"; when the first line names
 * no endpoint, the first byte picks one.  Every column of every row is
 * decoded as the FDW would, and every byte handed back is read, so that
 * AddressSanitizer sees any out-of-bounds result.
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"

#include "comet_fdw.h"
#include "jsonrow.h"

/* json-c's json_object type, without PostgreSQL's json_object() clash */
#include <json-c/json_object.h>
#include <json-c/json_tokener.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static void
touch(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
		sink += (unsigned char) s[i];
}

/*
 * jr_convert_run (a series' values in one loop) must read every array of
 * scalars exactly as jr_convert reads each of its elements.
 */
static void
check_runs(jr_doc *doc)
{
	static const jr_kind kinds[] = {JR_INT8, JR_FLOAT8, JR_FLOAT8_LENIENT,
	JR_EPOCH_MS, JR_BOOL};
	jr_ref		a;

	for (a = 0; a < doc->nnodes; a++)
	{
		jr_ref		first = jr_first(doc, a);
		int			n = jr_count(doc, a);
		jr_scalar  *out;
		uint8_t    *st;
		int			j,
					k;

		if (jr_type_of(doc, a) != JR_T_ARRAY || n == 0)
			continue;
		for (j = 0; j < n; j++)
			if (doc->nodes[first + j].parent != a ||
				doc->nodes[first + j].type == JR_T_ARRAY ||
				doc->nodes[first + j].type == JR_T_OBJECT)
				break;
		if (j < n)
			continue;
		out = malloc(sizeof(jr_scalar) * n);
		st = malloc(n);
		if (out == NULL || st == NULL)
			abort();
		for (k = 0; k < (int) (sizeof(kinds) / sizeof(kinds[0])); k++)
		{
			if (!jr_convert_run(doc, first, n, kinds[k], out, st))
				abort();
			for (j = 0; j < n; j++)
			{
				jr_value	v;
				jr_status	want = jr_convert(doc, first + j, kinds[k], &v);

				if (st[j] != (uint8_t) want)
					abort();
				if (want != JR_VALUE)
					continue;
				if ((kinds[k] == JR_INT8 || kinds[k] == JR_EPOCH_MS) && out[j].i != v.i)
					abort();
				if ((kinds[k] == JR_FLOAT8 || kinds[k] == JR_FLOAT8_LENIENT) &&
					memcmp(&out[j].d, &v.d, sizeof(double)) != 0)
					abort();
				if (kinds[k] == JR_BOOL && out[j].b != v.b)
					abort();
			}
		}
		if (jr_convert_run(doc, first, n, JR_TEXT, out, st))
			abort();
		free(out);
		free(st);
	}
}

/*
 * A nested answer parsed in the background thread, with its series
 * converted there: the same rows as parsed here, and every converted value
 * as jr_convert reads it.
 */
static void
check_job(const CometEndpoint *ep, const char *body, size_t len)
{
	jr_options	opts;
	int			kinds[8];
	jr_doc		here,
				there;
	jr_error	e1,
				e2;
	jr_job	   *job;
	int			p,
				r;
	jr_ref		last = -1;

	if (ep->nested == NULL || ep->nested->parallel[0] == NULL)
		return;
	memset(&opts, 0, sizeof(opts));
	opts.list_key = ep->list_key;
	opts.list_optional = ep->list_optional;
	opts.members = true;
	opts.member_list = ep->nested->member_list;
	opts.parallel = ep->nested->parallel;
	for (p = 0; p < 8; p++)
		kinds[p] = -1;
	for (p = 0; p < 8 && opts.parallel[p] != NULL; p++)
		kinds[p] = strcmp(opts.parallel[p], "values") == 0 ? JR_FLOAT8_LENIENT :
			strcmp(opts.parallel[p], "timestamps") == 0 ? JR_EPOCH_MS : JR_INT8;
	opts.parallel_kinds = kinds;
	job = jr_job_start(body, len, &opts);
	if (job == NULL)
		abort();				/* nothing else runs jobs here */
	/* parsed here first: the thread usually has finished, and converted all */
	e1 = jr_parse_opts(body, len, &opts, &here);
	e2 = jr_job_wait(job, &there, NULL);
	if (e1 != e2)
		abort();
	if (e1 == JR_OK)
	{
		if (here.nnodes != there.nnodes || here.nrows != there.nrows)
			abort();
		for (r = 0; r < here.nrows; r++)
			if (here.rows[r] != there.rows[r] ||
				jr_row_index(&here, r) != jr_row_index(&there, r))
				abort();
		for (r = 0; there.pre != NULL && r < there.nrows; r++)
		{
			jr_ref		obj = there.rows[r];

			if (obj == last || jr_row_index(&there, r) < 0)
				continue;
			last = obj;
			for (p = 0; p < 8 && opts.parallel[p] != NULL; p++)
			{
				jr_ref		arr = jr_field(&there, obj, opts.parallel[p], NULL);
				int			j;

				if (jr_type_of(&there, arr) != JR_T_ARRAY)
					continue;
				for (j = 0; j < jr_count(&there, arr); j++)
				{
					jr_ref		v = jr_first(&there, arr) + j;
					jr_value	val;
					jr_status	st = jr_convert(&there, v, (jr_kind) kinds[p], &val);

					/* (left for the reader when the caller was already waiting) */
					if (there.pre_status[v] == 0xFF)
						continue;
					if (there.pre_status[v] != (uint8_t) st)
						abort();
					if (st == JR_VALUE && kinds[p] == JR_FLOAT8_LENIENT ?
						memcmp(&there.pre[v].d, &val.d, sizeof(double)) != 0 :
						st == JR_VALUE && there.pre[v].i != val.i)
						abort();
				}
			}
		}
	}
	jr_free(&here);
	jr_free(&there);
}

/* json-c's view of a value, for the comparison */
static void
compare(jr_doc *doc, jr_ref v, struct json_object *ref, jr_kind kind)
{
	jr_value	out;
	jr_status	st = jr_convert(doc, v, kind, &out);
	jr_ref		e;

	if (st == JR_VALUE || st == JR_STRING)
	{
		if (out.str)
			touch(out.str, out.len);
		if (out.arr >= 0)
			for (e = jr_first(doc, out.arr); e >= 0; e = jr_next(doc, e))
				compare(doc, e, NULL, JR_TEXT);
		sink += (unsigned) out.i + (unsigned) out.b + (unsigned) (out.d == out.d);
	}
	else
		touch(jr_type_name(doc, v), strlen(jr_type_name(doc, v)));

	if (ref == NULL)
		return;
	/* both see the same kind of value (objects with duplicate keys aside:
	 * json-c reads the last, we the first) ... */
	switch (jr_type_of(doc, v))
	{
		case JR_T_NULL:
			if (!json_object_is_type(ref, json_type_null))
				abort();
			break;
		case JR_T_TRUE:
		case JR_T_FALSE:
			if (!json_object_is_type(ref, json_type_boolean) ||
				json_object_get_boolean(ref) != (jr_type_of(doc, v) == JR_T_TRUE))
				abort();
			break;
		case JR_T_NUMBER:
			if (!json_object_is_type(ref, json_type_int) &&
				!json_object_is_type(ref, json_type_double))
				abort();
			break;
		case JR_T_STRING:
			if (!json_object_is_type(ref, json_type_string))
				abort();
			/* ... and, for strings, the same text */
			if (kind == JR_TEXT && st == JR_VALUE &&
				(out.len != (size_t) json_object_get_string_len(ref) ||
				 memcmp(out.str, json_object_get_string(ref), out.len) != 0))
				abort();
			break;
		case JR_T_ARRAY:
			if (!json_object_is_type(ref, json_type_array) ||
				json_object_array_length(ref) != (size_t) jr_count(doc, v))
				abort();
			break;
		case JR_T_OBJECT:
			if (!json_object_is_type(ref, json_type_object))
				abort();
			break;
	}
}

static struct json_object *
ref_field(struct json_object *row, const char *field, const char *alt)
{
	struct json_object *v = NULL;

	if (row == NULL || !json_object_is_type(row, json_type_object))
		return NULL;
	if (field && json_object_object_get_ex(row, field, &v) && v != NULL &&
		!json_object_is_type(v, json_type_null))
		return v;
	if (alt && json_object_object_get_ex(row, alt, &v))
		return v;
	return v;
}

/* The n-th element of a json-c array that is not null (jsonrow's row n). */
static struct json_object *
nth_non_null(struct json_object *list, int n)
{
	size_t		i,
				len;

	if (!json_object_is_type(list, json_type_array))
		return NULL;
	len = json_object_array_length(list);
	for (i = 0; i < len; i++)
	{
		struct json_object *e = json_object_array_get_idx(list, i);

		if (e != NULL && !json_object_is_type(e, json_type_null) && n-- == 0)
			return e;
	}
	abort();					/* jsonrow has a row json-c does not */
}

static void
decode(const CometEndpoint *ep, const char *body, size_t len)
{
	jr_doc		doc;
	jr_options	opts = {ep->list_key, ep->list_optional, 0, NULL};
	jr_error	err = jr_parse_opts(body, len, &opts, &doc);
	struct json_object *root = NULL;
	struct json_tokener *tok;
	bool		ref_ok;
	int			r,
				c;

	/* json-c, strict and UTF-8 validating, as the reference */
	tok = json_tokener_new_ex(JR_MAX_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int) len);
	ref_ok = root != NULL && json_tokener_get_error(tok) == json_tokener_success &&
		json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);

	/*
	 * Whatever we accept, json-c must accept too (ours is the stricter: it
	 * refuses leading zeros and lone surrogates that json-c 0.16 lets
	 * through).  json-c stops at a NUL byte and refuses trailing white
	 * space in strict mode, so those documents are not compared.
	 */
	if (memchr(body, '\0', len) == NULL &&
		(len == 0 || (body[len - 1] != ' ' && body[len - 1] != '\n' &&
					  body[len - 1] != '\r' && body[len - 1] != '\t')))
	{
		/* (a top-level scalar is left out: json-c waits for more input) */
		bool		ours_ok = (err == JR_OK || err == JR_NO_LIST || err == JR_NOT_LIST);

		if (ours_ok && !ref_ok)
			abort();
	}

	if (err == JR_OK)
	{
		struct json_object *list = NULL;

		/* with duplicate keys at the top, the two read different lists */
		if (ref_ok && json_object_is_type(root, json_type_object) &&
			json_object_object_length(root) != jr_count(&doc, doc.root))
			ref_ok = false;
		if (ref_ok && ep->list_key)
			json_object_object_get_ex(root, ep->list_key, &list);
		check_runs(&doc);
		if (ep->sort_points && jr_sort_points(&doc) != 0)
			abort();
		for (r = 0; r < doc.nrows; r++)
		{
			jr_ref		row = jr_row(&doc, r);
			struct json_object *rrow = NULL;

			/* rows come in the same order unless sorted; null elements are no rows */
			if (ref_ok && !ep->sort_points)
				rrow = ep->list_key ? (list ? nth_non_null(list, r) : NULL) : root;
			/* a row with duplicate keys reads differently in json-c */
			if (rrow && json_object_is_type(rrow, json_type_object) &&
				json_object_object_length(rrow) != jr_count(&doc, row))
				rrow = NULL;

			for (c = 0; c < ep->ncols; c++)
			{
				const CometColumn *col = &ep->cols[c];
				char		field[128];
				char	   *alt = NULL;

				switch (col->conv)
				{
					case CONV_ELEMENT:
						compare(&doc, row, rrow, (jr_kind) comet_type_kind(col->type));
						break;
					case CONV_ROW:
						compare(&doc, row, rrow, JR_JSON);
						break;
					case CONV_SLOT:
					case CONV_ROOT:
					case CONV_BODY:
						break;
					case CONV_DURATION:
						compare(&doc, jr_field(&doc, row, "startTimeMillis", NULL),
								ref_field(rrow, "startTimeMillis", NULL), JR_INT8);
						compare(&doc, jr_field(&doc, row, "endTimeMillis", NULL),
								ref_field(rrow, "endTimeMillis", NULL), JR_INT8);
						break;
					case CONV_RUNNING:
					case CONV_FLAG:
					case CONV_FIELD:
					case CONV_VALUE:
						/* (PostgreSQL's port.h maps snprintf to pg_snprintf) */
						field[0] = '\0';
						strncat(field, col->field, sizeof(field) - 1);
						if ((alt = strchr(field, '|')) != NULL)
							*alt++ = '\0';
						compare(&doc, jr_field(&doc, row, field, alt),
								ref_field(rrow, field, alt), (jr_kind) comet_type_kind(col->type));
						/* and as a user's column of another type would */
						compare(&doc, jr_field(&doc, row, field, alt), NULL, JR_INPUT_ARRAY);
						break;
				}
			}
		}
	}
	else if (doc.what)
		touch(doc.what, strlen(doc.what));
	if (root)
		json_object_put(root);
	jr_free(&doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl;
	const CometEndpoint *ep = NULL;
	const char *body = (const char *) data;
	size_t		len = size;

	if (size == 0)
		return 0;
	nl = memchr(data, '\n', size < 64 ? size : 64);
	if (nl != NULL)
	{
		char		name[64];
		size_t		n = nl - (const char *) data;

		memcpy(name, data, n);
		name[n] = '\0';
		ep = comet_endpoint_lookup(name);
		if (ep != NULL)
		{
			body = nl + 1;
			len = size - n - 1;
		}
	}
	if (ep == NULL)
		ep = comet_endpoint_at(data[0] % comet_endpoint_count());
	decode(ep, body, len);
	check_job(ep, body, len);
	return 0;
}
