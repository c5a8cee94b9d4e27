/*
 * fuzz_jsonrow.c
 *		libFuzzer target for comet_fdw's JSON-to-row decoding (jsonrow.c),
 *		driven by the real endpoint catalogue (endpoints.c).
 *
 * An input is "<endpoint name>\n<response body>"; when the first line names
 * no endpoint, the first byte picks one.  For every row the target decodes
 * every column as the FDW would, and touches every byte it is given back,
 * so that AddressSanitizer sees any out-of-bounds result.
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"

#include "comet_fdw.h"
#include "jsonrow.h"

#include <json-c/json.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static void
touch(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
		sink += (unsigned char) s[i];
}

static jr_kind
kind_of(Oid type)
{
	switch (type)
	{
		case TEXTOID:
			return JR_TEXT;
		case INT8OID:
			return JR_INT8;
		case FLOAT8OID:
			return JR_FLOAT8;
		case BOOLOID:
			return JR_BOOL;
		case TIMESTAMPTZOID:
			return JR_EPOCH_MS;
		case JSONBOID:
			return JR_JSON;
		case TEXTARRAYOID:
			return JR_TEXT_ARRAY;
	}
	return JR_INPUT;
}

static void
use(struct json_object *v, jr_kind kind)
{
	jr_value	out;
	jr_status	st = jr_convert(v, kind, &out);
	int			n,
				i;

	if (st == JR_VALUE || st == JR_STRING)
	{
		if (out.str)
			touch(out.str, out.len);
		if (out.arr)
		{
			n = (int) json_object_array_length(out.arr);
			for (i = 0; i < n; i++)
				use(json_object_array_get_idx(out.arr, i), JR_TEXT);
		}
		sink += (unsigned) out.i + (unsigned) out.b + (unsigned) (out.d == out.d);
	}
	else if (st == JR_WRONG_KIND || st == JR_RANGE)
		touch(jr_type_name(v), strlen(jr_type_name(v)));
}

static void
decode(const CometEndpoint *ep, const char *body, size_t len)
{
	jr_doc		doc;
	int			r,
				c;

	if (jr_parse(body, len, ep->list_key, &doc) == JR_OK)
	{
		if (ep->sort_points && jr_sort_points(&doc) != 0)
			abort();
		for (r = 0; r < doc.nrows; r++)
		{
			struct json_object *row = jr_row(&doc, r);

			for (c = 0; c < ep->ncols; c++)
			{
				const CometColumn *col = &ep->cols[c];
				char		field[128];
				char	   *alt = NULL;

				switch (col->conv)
				{
					case CONV_ELEMENT:
						use(row, kind_of(col->type));
						break;
					case CONV_ROW:
						use(row, JR_JSON);
						break;
					case CONV_SLOT:
						break;
					case CONV_DURATION:
						use(jr_field(row, "startTimeMillis", NULL), JR_INT8);
						use(jr_field(row, "endTimeMillis", NULL), JR_INT8);
						/* FALLTHROUGH */
					case CONV_FIELD:
						/* (PostgreSQL's port.h maps snprintf to pg_snprintf) */
						field[0] = '\0';
						strncat(field, col->field, sizeof(field) - 1);
						if ((alt = strchr(field, '|')) != NULL)
							*alt++ = '\0';
						use(jr_field(row, field, alt), kind_of(col->type));
						/* and as a user's column of another type would */
						use(jr_field(row, field, alt), JR_INPUT_ARRAY);
						break;
				}
			}
		}
	}
	else if (doc.what)
		touch(doc.what, strlen(doc.what));
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
	return 0;
}
