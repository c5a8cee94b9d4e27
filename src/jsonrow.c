/*-------------------------------------------------------------------------
 *
 * jsonrow.c
 *		Parsing and classifying Comet JSON with json-c; no PostgreSQL here.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonrow.h"

/* epoch milliseconds that timestamptz can hold, with room for the µs math */
#define JR_MAX_EPOCH_MS INT64_C(9000000000000)

jr_error
jr_parse(const char *body, size_t len, const char *list_key, jr_doc *doc)
{
	json_tokener *tok;
	enum json_tokener_error err;
	size_t		end;

	memset(doc, 0, sizeof(*doc));
	if (len > (size_t) INT32_MAX)
	{
		doc->what = "document too large";
		return JR_PARSE;
	}
	tok = json_tokener_new_ex(JR_MAX_DEPTH);
	if (tok == NULL)
		return JR_OOM;
	/* strict JSON, and valid UTF-8: text values go straight into text */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	doc->root = json_tokener_parse_ex(tok, body, (int) len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	doc->where = end;

	if (doc->root == NULL || err != json_tokener_success)
	{
		if (doc->root)
			json_object_put(doc->root);
		doc->root = NULL;
		if (err == json_tokener_success || err == json_tokener_continue)
		{
			doc->what = "the document ends early";
			return JR_INCOMPLETE;
		}
		doc->what = json_tokener_error_desc(err);
		return JR_PARSE;
	}
	while (end < len && (body[end] == ' ' || body[end] == '\n' ||
						 body[end] == '\r' || body[end] == '\t'))
		end++;
	if (end < len)
	{
		json_object_put(doc->root);
		doc->root = NULL;
		doc->where = end;
		doc->what = "unexpected data after the document";
		return JR_PARSE;
	}

	if (!json_object_is_type(doc->root, json_type_object))
	{
		doc->what = jr_type_name(doc->root);
		return JR_NOT_OBJECT;
	}
	if (list_key == NULL)
	{
		doc->nrows = 1;
		return JR_OK;
	}
	if (!json_object_object_get_ex(doc->root, list_key, &doc->rows))
	{
		doc->what = "object";
		return JR_NO_LIST;
	}
	if (doc->rows == NULL)
	{
		/* Comet sends null for "none" in places (installedPackages) */
		doc->nrows = 0;
		return JR_OK;
	}
	if (!json_object_is_type(doc->rows, json_type_array))
	{
		doc->what = jr_type_name(doc->rows);
		doc->rows = NULL;
		return JR_NOT_LIST;
	}
	doc->nrows = (int) json_object_array_length(doc->rows);
	return JR_OK;
}

void
jr_free(jr_doc *doc)
{
	if (doc->root)
		json_object_put(doc->root);
	free(doc->order);
	memset(doc, 0, sizeof(*doc));
}

struct json_object *
jr_row(const jr_doc *doc, int i)
{
	if (i < 0 || i >= doc->nrows)
		return NULL;
	if (doc->order)
		i = doc->order[i];
	if (doc->rows == NULL)
		return doc->root;
	return json_object_array_get_idx(doc->rows, i);
}

struct json_object *
jr_field(struct json_object *row, const char *field, const char *alt)
{
	struct json_object *v;

	if (row == NULL || !json_object_is_type(row, json_type_object))
		return NULL;
	if (field && json_object_object_get_ex(row, field, &v) && v != NULL)
		return v;
	if (alt && json_object_object_get_ex(row, alt, &v))
		return v;
	return NULL;
}

const char *
jr_type_name(struct json_object *v)
{
	return v == NULL ? "null" : json_type_to_name(json_object_get_type(v));
}

const char *
jr_json_text(struct json_object *v, size_t *len)
{
	const char *s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, len);

	if (s == NULL)
	{
		*len = 4;
		return "null";
	}
	return s;
}

/* ---- metric point order ---- */

typedef struct jr_point
{
	int64_t		key[3];			/* offset, step, timestamp */
	int			idx;
	unsigned char nulls;		/* bit k: key[k] is NULL */
} jr_point;

static int
point_cmp(const void *a, const void *b)
{
	const jr_point *x = a;
	const jr_point *y = b;
	int			k;

	for (k = 0; k < 3; k++)
	{
		int			xn = (x->nulls >> k) & 1;
		int			yn = (y->nulls >> k) & 1;

		if (xn != yn)
			return xn - yn;		/* NULLs last */
		if (!xn && x->key[k] != y->key[k])
			return x->key[k] < y->key[k] ? -1 : 1;
	}
	return (x->idx > y->idx) - (x->idx < y->idx);
}

int
jr_sort_points(jr_doc *doc)
{
	static const char *const fields[3] = {"offset", "step", "timestamp"};
	jr_point   *pts;
	int			i,
				k;
	bool		sorted = true;

	if (doc->rows == NULL || doc->nrows < 2)
		return 0;
	pts = malloc(sizeof(jr_point) * (size_t) doc->nrows);
	if (pts == NULL)
		return -1;
	for (i = 0; i < doc->nrows; i++)
	{
		struct json_object *row = json_object_array_get_idx(doc->rows, i);

		pts[i].idx = i;
		pts[i].nulls = 0;
		for (k = 0; k < 3; k++)
		{
			struct json_object *v = jr_field(row, fields[k], NULL);

			if (v && (json_object_is_type(v, json_type_int) ||
					  json_object_is_type(v, json_type_double)))
				pts[i].key[k] = json_object_get_int64(v);
			else
			{
				pts[i].key[k] = 0;
				pts[i].nulls |= (unsigned char) (1 << k);
			}
		}
		if (i > 0 && sorted && point_cmp(&pts[i - 1], &pts[i]) > 0)
			sorted = false;
	}
	if (!sorted)
	{
		free(doc->order);
		doc->order = malloc(sizeof(int) * (size_t) doc->nrows);
		if (doc->order == NULL)
		{
			free(pts);
			return -1;
		}
		qsort(pts, (size_t) doc->nrows, sizeof(jr_point), point_cmp);
		for (i = 0; i < doc->nrows; i++)
			doc->order[i] = pts[i].idx;
	}
	free(pts);
	return 0;
}

/* ---- values ---- */

static jr_status
epoch_ms(int64_t ms, jr_value *out)
{
	if (ms > JR_MAX_EPOCH_MS || ms < -JR_MAX_EPOCH_MS)
		return JR_RANGE;
	out->i = ms;
	return JR_VALUE;
}

static jr_status
from_string(struct json_object *v, jr_kind kind, jr_value *out)
{
	const char *s = json_object_get_string(v);
	size_t		len = (size_t) json_object_get_string_len(v);
	size_t		i;
	bool		digits;

	if (memchr(s, '\0', len) != NULL)
		return JR_HAS_NUL;
	out->str = s;
	out->len = len;
	switch (kind)
	{
		case JR_TEXT:
			return JR_VALUE;
		case JR_JSON:
			/* a string stays a JSON string */
			out->str = jr_json_text(v, &out->len);
			return JR_VALUE;
		case JR_EPOCH_MS:
			/* some servers send epoch milliseconds as strings */
			digits = len > 0 && len < 19;
			for (i = 0; i < len && digits; i++)
				if (!isdigit((unsigned char) s[i]) && !(i == 0 && s[i] == '-' && len > 1))
					digits = false;
			if (digits)
				return epoch_ms(strtoll(s, NULL, 10), out);
			return JR_STRING;
		default:
			return JR_STRING;
	}
}

jr_status
jr_convert(struct json_object *v, jr_kind kind, jr_value *out)
{
	json_type	t;

	memset(out, 0, sizeof(*out));
	if (v == NULL || json_object_is_type(v, json_type_null))
		return JR_NULL;
	t = json_object_get_type(v);
	if (t == json_type_string)
		return from_string(v, kind, out);

	switch (kind)
	{
		case JR_TEXT:
		case JR_JSON:
			out->str = jr_json_text(v, &out->len);
			return JR_VALUE;
		case JR_INT8:
			if (t == json_type_int)
			{
				out->i = json_object_get_int64(v);
				/* json-c keeps integers over INT64_MAX as unsigned */
				if (out->i == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX)
					return JR_RANGE;
				return JR_VALUE;
			}
			if (t == json_type_double)
			{
				double		d = json_object_get_double(v);

				if (isnan(d) || d != floor(d) || d >= 9223372036854775808.0 ||
					d < -9223372036854775808.0)
					return JR_RANGE;
				out->i = (int64_t) d;
				return JR_VALUE;
			}
			return JR_WRONG_KIND;
		case JR_FLOAT8:
			if (t == json_type_int)
			{
				if (json_object_get_int64(v) == INT64_MAX)
					out->d = (double) json_object_get_uint64(v);
				else
					out->d = (double) json_object_get_int64(v);
				return JR_VALUE;
			}
			if (t == json_type_double)
			{
				out->d = json_object_get_double(v);
				return JR_VALUE;
			}
			return JR_WRONG_KIND;
		case JR_BOOL:
			if (t == json_type_boolean)
			{
				out->b = json_object_get_boolean(v);
				return JR_VALUE;
			}
			return JR_WRONG_KIND;
		case JR_EPOCH_MS:
			if (t == json_type_int)
			{
				if (json_object_get_int64(v) == INT64_MAX)
					return JR_RANGE;
				return epoch_ms(json_object_get_int64(v), out);
			}
			if (t == json_type_double)
			{
				double		d = json_object_get_double(v);

				if (isnan(d) || d > (double) JR_MAX_EPOCH_MS || d < -(double) JR_MAX_EPOCH_MS)
					return JR_RANGE;
				return epoch_ms((int64_t) d, out);
			}
			return JR_WRONG_KIND;
		case JR_TEXT_ARRAY:
			if (t == json_type_array)
			{
				out->arr = v;
				return JR_VALUE;
			}
			return JR_WRONG_KIND;
		case JR_INPUT:
			if (t == json_type_object || t == json_type_array)
				return JR_WRONG_KIND;
			out->str = jr_json_text(v, &out->len);
			return JR_STRING;
		case JR_INPUT_ARRAY:
			if (t == json_type_array)
			{
				out->arr = v;
				return JR_VALUE;
			}
			if (t == json_type_object)
				return JR_WRONG_KIND;
			out->str = jr_json_text(v, &out->len);
			return JR_STRING;
	}
	return JR_WRONG_KIND;
}
