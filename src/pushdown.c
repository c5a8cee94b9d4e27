/*-------------------------------------------------------------------------
 *
 * pushdown.c
 *		Planning for comet_fdw: which quals become REST parameters, size
 *		and cost estimates, parameterized paths for joins on key columns.
 *
 * A key qual is "keycol = expr", "keycol = ANY (expr)", "keycol = a OR
 * keycol = b", or a bare boolean key column, where expr holds no Var of the
 * scanned relation and nothing volatile: constants, $n parameters of generic
 * plans, outer columns of a nested loop.  Key quals are evaluated when the
 * scan starts; every qual is still checked locally, so pushdown only ever
 * changes the cost of a query, never its result.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "miscadmin.h"
#include "access/table.h"
#include "parser/parsetree.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "comet_fdw.h"

/*
 * What one round trip to Comet costs, in planner units.  Requests that are
 * independent run max_concurrency at a time, so a path is priced by its
 * rounds of requests, dependent listing steps included: a walk over every
 * experiment of the account must never look cheaper than a keyed or
 * parameterized path.  (Modest, so that ordinary queries stay below
 * jit_above_cost.)
 */
#define COMET_ROUND_COST	100.0
#define COMET_REQUEST_COST	1.0		/* each request, besides its round */
/* the rounds of a path that lacks a required key (it fails when run) */
#define COMET_UNUSABLE_ROUNDS	1.0e8

/* how many children a context has, for estimates */
static const double fanout_guess[] = {
	2,							/* workspaces */
	10,							/* projects per workspace */
	100,						/* experiments per project */
	10,							/* metrics per experiment */
	1
};

/* Deepest level an endpoint (or its by-key variant) can use a key at. */
static CometLevel
usable_level(const CometEndpoint *ep)
{
	CometLevel	l = ep->level;

	if (ep->by_key)
		l = Max(l, comet_endpoint_lookup(ep->by_key)->level);
	return l;
}

static bool
level_keyed(CometLevel level, const bool *keyed)
{
	switch (level)
	{
		case LEVEL_NONE:
			return true;
		case LEVEL_WORKSPACE:
			return keyed[SLOT_WORKSPACE];
		case LEVEL_PROJECT:
			return keyed[SLOT_PROJECT_ID] ||
				(keyed[SLOT_WORKSPACE] && keyed[SLOT_PROJECT_NAME]);
		case LEVEL_EXPERIMENT:
			return keyed[SLOT_EXPERIMENT];
		case LEVEL_METRIC:
			return keyed[SLOT_EXPERIMENT] && keyed[SLOT_METRIC];
	}
	return false;
}

void
comet_plan_shape(const CometEndpoint *ep, const bool *keyed, CometShape *shape)
{
	int			l;

	memset(shape, 0, sizeof(*shape));
	memcpy(shape->keyed, keyed, sizeof(bool) * COMET_NSLOTS);
	shape->target = ep;
	if (ep->by_key)
	{
		const CometEndpoint *bk = comet_endpoint_lookup(ep->by_key);

		if (level_keyed(bk->level, keyed))
			shape->target = bk;
	}
	shape->start = LEVEL_NONE;
	for (l = shape->target->level; l > LEVEL_NONE; l--)
	{
		/* metric names alone can be crossed with listed experiments */
		if (l == LEVEL_METRIC)
			continue;
		if (level_keyed((CometLevel) l, keyed))
		{
			shape->start = (CometLevel) l;
			break;
		}
	}
	if (shape->target->level == LEVEL_METRIC &&
		level_keyed(LEVEL_METRIC, keyed))
		shape->start = LEVEL_METRIC;
}

/* ---- recognising key quals ---- */

typedef struct KeyColumn
{
	AttrNumber	attnum;
	int			slot;			/* -1: the variant column */
	Oid			eqop;
} KeyColumn;

/* The key columns of a foreign table, by attnum. */
static List *
key_columns(Oid relid, const CometEndpoint *ep)
{
	Relation	rel = table_open(relid, NoLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	CometLevel	maxlevel = usable_level(ep);
	List	   *result = NIL;
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const CometColumn *col;
		KeyColumn  *kc;
		int			slot;

		if (att->attisdropped)
			continue;
		col = comet_endpoint_column(ep, NameStr(att->attname));
		if (col == NULL)
			continue;
		if (comet_column_field_option(relid, att->attnum) != NULL)
			continue;			/* the user remapped it: not the key */
		if (ep->variant && strcmp(col->name, ep->variant->column) == 0)
			slot = -1;
		else if (col->slot >= 0 && comet_slot_level(col->slot) <= maxlevel)
			slot = col->slot;
		else
			continue;
		/* keys compare as text, or as boolean for archived */
		if (att->atttypid != TEXTOID && att->atttypid != BOOLOID)
			continue;
		kc = palloc(sizeof(KeyColumn));
		kc->attnum = att->attnum;
		kc->slot = slot;
		kc->eqop = att->atttypid == BOOLOID ? BooleanEqualOperator : TextEqualOperator;
		result = lappend(result, kc);
	}
	table_close(rel, NoLock);
	return result;
}

static KeyColumn *
key_var(Node *node, RelOptInfo *baserel, List *keycols)
{
	ListCell   *lc;
	Var		   *var;

	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL || !IsA(node, Var))
		return NULL;
	var = (Var *) node;
	if (var->varno != baserel->relid || var->varlevelsup != 0)
		return NULL;
	foreach(lc, keycols)
	{
		KeyColumn  *kc = lfirst(lc);

		if (kc->attnum == var->varattno)
			return kc;
	}
	return NULL;
}

static bool
is_key_value(Node *node, RelOptInfo *baserel)
{
	return !bms_is_member(baserel->relid, pull_varnos(NULL, node)) &&
		!contain_volatile_functions(node) &&
		!contain_subplans(node);
}

/*
 * Comet compares keys byte for byte: a comparison whose collation says
 * 'MNIST' = 'mnist' (nondeterministic ICU collations) cannot be pushed, or
 * it would miss rows PostgreSQL would find.  postgres_fdw's rule.
 */
static bool
byte_equality(Oid collid)
{
	return !OidIsValid(collid) || get_collation_isdeterministic(collid);
}

/* "keycol = value" in either order */
static KeyColumn *
match_equality(Expr *clause, RelOptInfo *baserel, List *keycols, Expr **value)
{
	OpExpr	   *op;
	KeyColumn  *kc;
	Node	   *l,
			   *r;

	if (!IsA(clause, OpExpr))
		return NULL;
	op = (OpExpr *) clause;
	if (list_length(op->args) != 2 || !byte_equality(op->inputcollid))
		return NULL;
	l = linitial(op->args);
	r = lsecond(op->args);
	if ((kc = key_var(l, baserel, keycols)) != NULL && op->opno == kc->eqop &&
		is_key_value(r, baserel))
	{
		*value = (Expr *) r;
		return kc;
	}
	if ((kc = key_var(r, baserel, keycols)) != NULL && op->opno == kc->eqop &&
		is_key_value(l, baserel))
	{
		*value = (Expr *) l;
		return kc;
	}
	return NULL;
}

static CometKeyQual *
match_key_clause(Expr *clause, RelOptInfo *baserel, List *keycols)
{
	CometKeyQual *kq;
	KeyColumn  *kc;
	Expr	   *value;

	if ((kc = match_equality(clause, baserel, keycols, &value)) != NULL)
	{
		kq = palloc0(sizeof(CometKeyQual));
		kq->slot = kc->slot;
		kq->expr = value;
		return kq;
	}

	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;

		if (sa->useOr && list_length(sa->args) == 2 &&
			byte_equality(sa->inputcollid) &&
			(kc = key_var(linitial(sa->args), baserel, keycols)) != NULL &&
			sa->opno == kc->eqop && is_key_value(lsecond(sa->args), baserel))
		{
			kq = palloc0(sizeof(CometKeyQual));
			kq->slot = kc->slot;
			kq->is_array = true;
			kq->expr = (Expr *) lsecond(sa->args);
			return kq;
		}
		return NULL;
	}

	/* WHERE archived / WHERE NOT archived */
	if ((kc = key_var((Node *) clause, baserel, keycols)) != NULL &&
		kc->eqop == BooleanEqualOperator)
	{
		kq = palloc0(sizeof(CometKeyQual));
		kq->slot = kc->slot;
		kq->expr = (Expr *) makeBoolConst(true, false);
		return kq;
	}

	if (IsA(clause, BoolExpr))
	{
		BoolExpr   *be = (BoolExpr *) clause;
		ListCell   *lc;

		if (be->boolop == NOT_EXPR &&
			(kc = key_var(linitial(be->args), baserel, keycols)) != NULL &&
			kc->eqop == BooleanEqualOperator)
		{
			kq = palloc0(sizeof(CometKeyQual));
			kq->slot = kc->slot;
			kq->expr = (Expr *) makeBoolConst(false, false);
			return kq;
		}
		if (be->boolop == OR_EXPR)
		{
			/* col = a OR col = b OR ...: one array of values */
			KeyColumn  *first = NULL;
			List	   *values = NIL;
			ArrayExpr  *arr;

			foreach(lc, be->args)
			{
				kc = match_equality(lfirst(lc), baserel, keycols, &value);
				if (kc == NULL || (first != NULL && kc != first))
					return NULL;
				first = kc;
				values = lappend(values, value);
			}
			if (first == NULL)
				return NULL;
			arr = makeNode(ArrayExpr);
			arr->element_typeid = first->eqop == BooleanEqualOperator ? BOOLOID : TEXTOID;
			arr->array_typeid = get_array_type(arr->element_typeid);
			arr->elements = values;
			arr->multidims = false;
			arr->location = -1;
			kq = palloc0(sizeof(CometKeyQual));
			kq->slot = first->slot;
			kq->is_array = true;
			kq->expr = (Expr *) arr;
			return kq;
		}
	}
	return NULL;
}

/*
 * The key quals among clauses (RestrictInfos or bare expressions).  For a
 * parameterized path the clauses include the join clauses, whose other side
 * becomes a nestloop parameter.
 */
List *
comet_key_quals_from(PlannerInfo *root, RelOptInfo *baserel,
					 const CometEndpoint *ep, List *clauses)
{
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	List	   *keycols = key_columns(rte->relid, ep);
	List	   *result = NIL;
	ListCell   *lc;

	if (keycols == NIL)
		return NIL;
	foreach(lc, clauses)
	{
		Expr	   *clause = lfirst(lc);
		CometKeyQual *kq;

		if (IsA(clause, RestrictInfo))
		{
			RestrictInfo *ri = (RestrictInfo *) clause;

			if (ri->pseudoconstant)
				continue;
			clause = ri->clause;
		}
		kq = match_key_clause(clause, baserel, keycols);
		if (kq != NULL)
			result = lappend(result, kq);
	}
	return result;
}

/* ---- server-side search (CometSearch) ---- */

/* The attnum of a text column the catalogue names, 0 if the table has none. */
static AttrNumber
search_attnum(Oid relid, const char *colname)
{
	Relation	rel = table_open(relid, NoLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	AttrNumber	result = 0;
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), colname) != 0)
			continue;
		/* text compared byte for byte, reading the field the catalogue says */
		if (att->atttypid == TEXTOID &&
			comet_column_field_option(relid, att->attnum) == NULL)
			result = att->attnum;
	}
	table_close(rel, NoLock);
	return result;
}

/* "col = value" for a text column of this relation: the value */
static Expr *
search_value(Expr *clause, RelOptInfo *baserel, AttrNumber attnum)
{
	OpExpr	   *op;
	int			side;

	if (!IsA(clause, OpExpr))
		return NULL;
	op = (OpExpr *) clause;
	if (list_length(op->args) != 2 || op->opno != TextEqualOperator ||
		!byte_equality(op->inputcollid))
		return NULL;
	for (side = 0; side < 2; side++)
	{
		Node	   *col = list_nth(op->args, side);
		Node	   *val = list_nth(op->args, 1 - side);

		while (col && IsA(col, RelabelType))
			col = (Node *) ((RelabelType *) col)->arg;
		if (col && IsA(col, Var) && ((Var *) col)->varno == baserel->relid &&
			((Var *) col)->varlevelsup == 0 && ((Var *) col)->varattno == attnum &&
			is_key_value(val, baserel))
			return (Expr *) val;
	}
	return NULL;
}

/*
 * The name and value (for tags: the value) a search may narrow the scan's
 * fan-out by: "name = N AND value_current = V" among the clauses, both
 * byte equalities of text with values known when the scan starts.  NIL if
 * there is none.  Whether the narrowing is certain is decided at run time,
 * from the column's type in project/column-names.
 */
List *
comet_search_quals(PlannerInfo *root, RelOptInfo *baserel,
				   const CometEndpoint *ep, List *clauses)
{
	RangeTblEntry *rte;
	AttrNumber	vatt,
				natt = 0;
	Expr	   *name = NULL,
			   *value = NULL;
	ListCell   *lc;

	if (ep->search == NULL)
		return NIL;
	rte = planner_rt_fetch(baserel->relid, root);
	vatt = search_attnum(rte->relid, ep->search->value_column);
	if (ep->search->name_column)
		natt = search_attnum(rte->relid, ep->search->name_column);
	if (vatt == 0 || (ep->search->name_column && natt == 0))
		return NIL;
	foreach(lc, clauses)
	{
		Expr	   *clause = lfirst(lc);
		Expr	   *v;

		if (IsA(clause, RestrictInfo))
		{
			if (((RestrictInfo *) clause)->pseudoconstant)
				continue;
			clause = ((RestrictInfo *) clause)->clause;
		}
		if (value == NULL && (v = search_value(clause, baserel, vatt)) != NULL)
			value = v;
		else if (natt != 0 && name == NULL &&
				 (v = search_value(clause, baserel, natt)) != NULL)
			name = v;
	}
	if (value == NULL || (natt != 0 && name == NULL))
		return NIL;
	return natt != 0 ? list_make2(name, value) : list_make1(value);
}

/*
 * Keys another relation's filters give this one through a join on
 * experiment_key (or project_id).  An experiment has one workspace, project
 * and key, the same on both sides of such a join, so in
 *   e.project_id = P AND e.experiment_key = p.experiment_key
 * the scan of p may fan out over project P instead of walking the account:
 * a row of p outside P cannot join.  Only equalities PostgreSQL holds for
 * every row of the result are used (equivalence classes: inner joins, semi
 * joins, WHERE; never an outer join's ON clause), only byte equality, only
 * between tables of the same server, and only keys that need no other row
 * (constants, parameters).  The keys only narrow what is fetched: the
 * relation's own quals are still all checked.
 */
/*
 * The key quals another table's filters give this one, when e (an
 * expression of a member of the same join class) is that table's column of
 * the same join slot.
 */
static List *
keys_through(PlannerInfo *root, RelOptInfo *baserel, List *keycols,
			 KeyColumn *self, Expr *e)
{
	RelOptInfo *other;
	RangeTblEntry *orte;
	const char *oname;
	const CometEndpoint *oep;
	KeyColumn  *okc;
	List	   *result = NIL;
	ListCell   *lq;

	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (e == NULL || !IsA(e, Var) || ((Var *) e)->varno == baserel->relid ||
		((Var *) e)->varlevelsup != 0 ||
		((Var *) e)->varno >= root->simple_rel_array_size)
		return NIL;
	other = root->simple_rel_array[((Var *) e)->varno];
	if (other == NULL || other->reloptkind != RELOPT_BASEREL ||
		other->rtekind != RTE_RELATION || other->serverid != baserel->serverid)
		return NIL;
	orte = planner_rt_fetch(other->relid, root);
	oname = comet_table_endpoint_name(orte->relid, true);
	if (oname == NULL || (oep = comet_endpoint_lookup(oname)) == NULL)
		return NIL;
	okc = key_var((Node *) e, other, key_columns(orte->relid, oep));
	if (okc == NULL || okc->slot != self->slot)
		return NIL;
	foreach(lq, comet_key_quals_from(root, other, oep, other->baserestrictinfo))
	{
		CometKeyQual *kq = lfirst(lq);
		ListCell   *lk;
		bool		usable = false;

		/*
		 * what the joined column determines: its level and above (never a
		 * request's own parameter: the same slot is another key elsewhere)
		 */
		if (kq->slot < 0 || kq->slot == SLOT_METRIC || COMET_IS_PARAM_SLOT(kq->slot) ||
			comet_slot_level(kq->slot) > comet_slot_level(self->slot))
			continue;
		foreach(lk, keycols)
			if (((KeyColumn *) lfirst(lk))->slot == kq->slot)
				usable = true;
		if (!usable)
			continue;
		kq = (CometKeyQual *) memcpy(palloc(sizeof(CometKeyQual)), kq,
									 sizeof(CometKeyQual));
		kq->expr = copyObject(kq->expr);
		kq->implied = true;
		result = lappend(result, kq);
	}
	return result;
}

/* The join column of this relation an expression is, if any. */
static KeyColumn *
join_key(Expr *e, RelOptInfo *baserel, List *keycols)
{
	KeyColumn  *kc = key_var((Node *) e, baserel, keycols);

	if (kc != NULL && (kc->slot == SLOT_EXPERIMENT || kc->slot == SLOT_PROJECT_ID))
		return kc;
	return NULL;
}

/* PostgreSQL 16 wraps outer-join clauses in OuterJoinClauseInfo */
static RestrictInfo *
outer_join_clause(void *item)
{
#if PG_VERSION_NUM >= 160000
	return ((OuterJoinClauseInfo *) item)->rinfo;
#else
	return (RestrictInfo *) item;
#endif
}

static List *
implied_key_quals(PlannerInfo *root, RelOptInfo *baserel, const CometEndpoint *ep)
{
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	List	   *keycols = key_columns(rte->relid, ep);
	List	   *result = NIL;
	ListCell   *lc;
	int			side;

	if (keycols == NIL || !OidIsValid(baserel->serverid))
		return NIL;
	/* inner and semi joins, WHERE: both sides */
	foreach(lc, root->eq_classes)
	{
		EquivalenceClass *ec = lfirst(lc);
		KeyColumn  *self = NULL;
		ListCell   *lm;

		if (ec->ec_has_volatile || !byte_equality(ec->ec_collation) ||
			!bms_is_member(baserel->relid, ec->ec_relids))
			continue;
		foreach(lm, ec->ec_members)
		{
			EquivalenceMember *em = lfirst(lm);

			if (!em->em_is_child && join_key(em->em_expr, baserel, keycols))
				self = join_key(em->em_expr, baserel, keycols);
		}
		if (self == NULL)
			continue;
		foreach(lm, ec->ec_members)
		{
			EquivalenceMember *em = lfirst(lm);

			if (!em->em_is_child)
				result = list_concat(result, keys_through(root, baserel, keycols,
														  self, em->em_expr));
		}
	}

	/*
	 * Outer and anti joins: the kept side's keys narrow the nullable side
	 * (a row of it outside them could never join), never the reverse.
	 */
	for (side = 0; side < 2; side++)
	{
		foreach(lc, side == 0 ? root->left_join_clauses : root->right_join_clauses)
		{
			RestrictInfo *ri = outer_join_clause(lfirst(lc));
			OpExpr	   *op = (OpExpr *) ri->clause;
			Expr	   *kept,
					   *nullable;
			KeyColumn  *self;

			if (!IsA(op, OpExpr) || list_length(op->args) != 2 ||
				!byte_equality(op->inputcollid))
				continue;
			kept = side == 0 ? linitial(op->args) : lsecond(op->args);
			nullable = side == 0 ? lsecond(op->args) : linitial(op->args);
			if ((self = join_key(nullable, baserel, keycols)) != NULL)
				result = list_concat(result, keys_through(root, baserel, keycols,
														  self, kept));
		}
	}
	return result;
}

/* Key quals as a plan holds them: expressions, and COMET_KEY_INFO of each. */
void
comet_key_exprs(List *key_quals, List **fdw_exprs, List **key_info)
{
	ListCell   *lc;

	foreach(lc, key_quals)
	{
		CometKeyQual *kq = lfirst(lc);

		*fdw_exprs = lappend(*fdw_exprs, kq->expr);
		*key_info = lappend_int(*key_info, COMET_KEY_INFO(kq->slot, kq->is_array,
														  kq->implied));
	}
}

/* ---- estimates ---- */

static double
key_count(CometKeyQual *kq)
{
	if (!kq->is_array)
		return 1;
	if (IsA(kq->expr, Const))
	{
		Const	   *c = (Const *) kq->expr;

		if (c->constisnull)
			return 0;
		return ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(c->constvalue)),
							  ARR_DIMS(DatumGetArrayTypeP(c->constvalue)));
	}
	if (IsA(kq->expr, ArrayExpr))
		return list_length(((ArrayExpr *) kq->expr)->elements);
	return 10;
}

/*
 * Requests, rounds of requests (at max_concurrency in flight) and rows a
 * scan with these key quals will need.
 */
static void
estimate(const CometEndpoint *ep, List *key_quals, int concurrency,
		 double *requests, double *rounds, double *rows)
{
	double		nkeys[COMET_NKEYS];
	bool		keyed[COMET_NKEYS];
	double		nvariants;
	CometShape	shape;
	double		contexts;
	ListCell   *lc;
	int			l;

	*rounds = 0;
	memset(keyed, 0, sizeof(keyed));
	for (l = 0; l < COMET_NKEYS; l++)
		nkeys[l] = 1;
	nvariants = ep->variant ? ep->variant->ndefaults : 1;
	foreach(lc, key_quals)
	{
		CometKeyQual *kq = lfirst(lc);
		double		n = key_count(kq);

		if (kq->slot < 0)
		{
			nvariants = n;
			continue;
		}
		nkeys[kq->slot] = keyed[kq->slot] ? Min(nkeys[kq->slot], n) : n;
		keyed[kq->slot] = true;
	}
	comet_plan_shape(ep, keyed, &shape);

	/* a path without a required key fails when run: never the one to pick */
	for (l = 0; l < ep->ncols; l++)
		if (ep->cols[l].required && (ep->cols[l].slot < 0 || !keyed[ep->cols[l].slot]))
			*rounds = COMET_UNUSABLE_ROUNDS;

	switch (shape.start)
	{
		case LEVEL_NONE:
			contexts = 1;
			break;
		case LEVEL_WORKSPACE:
			contexts = nkeys[SLOT_WORKSPACE];
			break;
		case LEVEL_PROJECT:
			contexts = keyed[SLOT_PROJECT_ID] ? nkeys[SLOT_PROJECT_ID] :
				nkeys[SLOT_WORKSPACE] * nkeys[SLOT_PROJECT_NAME];
			break;
		case LEVEL_EXPERIMENT:
			contexts = nkeys[SLOT_EXPERIMENT];
			break;
		default:
			contexts = nkeys[SLOT_EXPERIMENT] * nkeys[SLOT_METRIC];
			break;
	}

	*requests = 0;
	for (l = shape.start; l < shape.target->level; l++)
	{
		double		n;
		bool		project_names = COMET_BATCHED(ep) && ep->post->names_by_project &&
			!keyed[SLOT_METRIC] && shape.start <= LEVEL_PROJECT;

		if (l == LEVEL_EXPERIMENT && keyed[SLOT_METRIC])
		{
			contexts *= nkeys[SLOT_METRIC];
			continue;
		}
		/* a POST endpoint's names came with the project: no request */
		if (l == LEVEL_EXPERIMENT && project_names)
		{
			contexts *= fanout_guess[l];
			continue;
		}
		/* the project's names, then (a round later) its experiments */
		if (l == LEVEL_PROJECT && project_names)
		{
			*requests += contexts * 2;
			*rounds += ceil(contexts * 2 / concurrency);
		}
		n = contexts * (l == LEVEL_PROJECT ? 2 : 1);
		*requests += n;
		*rounds += ceil(n / concurrency);
		/* listed children that key quals filter: about one per key */
		if (l == LEVEL_WORKSPACE && keyed[SLOT_PROJECT_NAME])
			contexts *= nkeys[SLOT_PROJECT_NAME];
		else if (l == LEVEL_PROJECT && keyed[SLOT_EXPERIMENT])
			contexts *= nkeys[SLOT_EXPERIMENT];
		else
			contexts *= fanout_guess[l];
	}
	/* each value of a request's own parameter is a request of its own */
	for (l = COMET_NSLOTS; l < COMET_NKEYS; l++)
		contexts *= nkeys[l];
	if (shape.target == ep && COMET_BATCHED(ep))
	{
		/* many contexts (pairs of key and name) per request */
		double		n = ceil(contexts / ep->post->max_pairs);

		*requests += n;
		*rounds += ceil(n / concurrency);
		*rows = contexts * ep->rows_per_request;
	}
	else if (shape.target == ep)
	{
		*requests += contexts * nvariants;
		*rounds += ceil(contexts * nvariants / concurrency);
		/* variants split one listing (archived or not) */
		*rows = contexts * ep->rows_per_request *
			(ep->variant ? nvariants / ep->variant->ndefaults : 1);
	}
	else
	{
		*requests += contexts;
		*rounds += ceil(contexts / concurrency);
		*rows = contexts;
	}
	*rows = Max(1.0, *rows);
	*rounds = Max(1.0, *rounds);
}

/* Planner cost of a scan: rounds of requests, requests, rows. */
static void
scan_cost(double requests, double rounds, double rows, Cost *startup,
		  Cost *total)
{
	/* the first rows come after the first round (and its listing steps) */
	*startup = COMET_ROUND_COST;
	*total = rounds * COMET_ROUND_COST + requests * COMET_REQUEST_COST +
		rows * cpu_tuple_cost;
}

static int
server_concurrency(RelOptInfo *baserel)
{
	CometOptions opts;

	comet_server_options(GetForeignServer(baserel->serverid), &opts);
	return opts.max_concurrency;
}

void
comet_get_rel_size(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	CometFdwRelationInfo *fpinfo = palloc0(sizeof(CometFdwRelationInfo));
	const char *name = comet_table_endpoint_name(foreigntableid, false);
	double		requests,
				rounds,
				rows;
	List	   *local = NIL;
	ListCell   *lc;

	fpinfo->ep = comet_endpoint_lookup(name);
	if (fpinfo->ep == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("unknown Comet endpoint \"%s\"", name)));

	/* the columns the scan must decode: output and local quals */
	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid,
				   &fpinfo->attrs_used);
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst(lc);

		pull_varattnos((Node *) ri->clause, baserel->relid, &fpinfo->attrs_used);
	}

	fpinfo->concurrency = server_concurrency(baserel);
	fpinfo->key_quals = comet_key_quals_from(root, baserel, fpinfo->ep,
											 baserel->baserestrictinfo);
	fpinfo->implied_quals = NIL;
	foreach(lc, implied_key_quals(root, baserel, fpinfo->ep))
	{
		CometKeyQual *kq = lfirst(lc);
		ListCell   *lo;
		bool		dup = false;

		/* what the relation's own quals (or another side) say already */
		foreach(lo, list_concat(list_copy(fpinfo->key_quals), fpinfo->implied_quals))
		{
			CometKeyQual *o = lfirst(lo);

			if (o->slot == kq->slot && o->is_array == kq->is_array &&
				equal(o->expr, kq->expr))
				dup = true;
		}
		if (!dup)
			fpinfo->implied_quals = lappend(fpinfo->implied_quals, kq);
	}
	fpinfo->key_quals = list_concat(fpinfo->key_quals,
									list_copy(fpinfo->implied_quals));
	estimate(fpinfo->ep, fpinfo->key_quals, fpinfo->concurrency,
			 &requests, &rounds, &rows);

	/*
	 * The key quals are what the requests answer: count them once.  The
	 * other quals filter the rows as they would any table's.
	 */
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst(lc);

		if (comet_key_quals_from(root, baserel, fpinfo->ep, list_make1(ri)) == NIL)
			local = lappend(local, ri);
	}
	fpinfo->local_selectivity = clauselist_selectivity(root, local, baserel->relid,
													   JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(rows * fpinfo->local_selectivity);
	/* what the planner's distinct-value guesses are made from */
	baserel->tuples = Max(rows, 1);
	baserel->fdw_private = fpinfo;
}

/* create_foreignscan_path() grew arguments in PostgreSQL 17 and 18 */
static ForeignPath *
foreign_path(PlannerInfo *root, RelOptInfo *rel, double rows, Cost startup,
			 Cost total, Relids outer)
{
#if PG_VERSION_NUM >= 180000
	return create_foreignscan_path(root, rel, NULL, rows, 0, startup, total,
								   NIL, outer, NULL, NIL, NIL);
#elif PG_VERSION_NUM >= 170000
	return create_foreignscan_path(root, rel, NULL, rows, startup, total,
								   NIL, outer, NULL, NIL, NIL);
#else
	return create_foreignscan_path(root, rel, NULL, rows, startup, total,
								   NIL, outer, NULL, NIL);
#endif
}

typedef struct EcArg
{
	AttrNumber	attnum;
} EcArg;

static bool
ec_member_is_key(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				 EquivalenceMember *em, void *arg)
{
	Expr	   *e = em->em_expr;

	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	return e && IsA(e, Var) && ((Var *) e)->varno == rel->relid &&
		((Var *) e)->varlevelsup == 0 &&
		((Var *) e)->varattno == ((EcArg *) arg)->attnum;
}

static void
add_path_for(PlannerInfo *root, RelOptInfo *baserel,
			 CometFdwRelationInfo *fpinfo, List *clauses, Relids outer)
{
	double		requests,
				rounds,
				rows;
	Cost		startup,
				total;
	List	   *quals;
	ListCell   *lc;

	/* one path per set of outer relations */
	foreach(lc, baserel->pathlist)
	{
		Path	   *p = lfirst(lc);

		if (p->param_info && bms_equal(p->param_info->ppi_req_outer, outer))
			return;
	}
	/*
	 * every join clause the path will enforce gives keys, not only the one
	 * it was found by: a path joined on experiment_key and asset_id has both
	 */
	clauses = list_concat_unique_ptr(list_copy(clauses),
									 get_baserel_parampathinfo(root, baserel,
															   outer)->ppi_clauses);
	quals = list_concat(list_copy(fpinfo->key_quals),
						comet_key_quals_from(root, baserel, fpinfo->ep, clauses));
	estimate(fpinfo->ep, quals, fpinfo->concurrency, &requests, &rounds, &rows);
	rows = clamp_row_est(rows * fpinfo->local_selectivity);
	scan_cost(requests, rounds, rows, &startup, &total);
	add_path(baserel, (Path *) foreign_path(root, baserel, rows, startup, total, outer));
}

void
comet_get_paths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	CometFdwRelationInfo *fpinfo = baserel->fdw_private;
	double		requests,
				rounds,
				rows;
	Cost		startup,
				total;
	List	   *keycols;
	ListCell   *lc;

	estimate(fpinfo->ep, fpinfo->key_quals, fpinfo->concurrency,
			 &requests, &rounds, &rows);
	scan_cost(requests, rounds, baserel->rows, &startup, &total);
	add_path(baserel, (Path *)
			 foreign_path(root, baserel, baserel->rows, startup, total, NULL));

	/* joins on key columns: one request per outer row, not a full walk */
	keycols = key_columns(foreigntableid, fpinfo->ep);
	foreach(lc, keycols)
	{
		KeyColumn  *kc = lfirst(lc);
		EcArg		arg;
		List	   *clauses;
		ListCell   *lc2;

		if (kc->slot < 0)
			continue;
		arg.attnum = kc->attnum;
		clauses = generate_implied_equalities_for_column(root, baserel,
														 ec_member_is_key,
														 &arg,
														 baserel->lateral_referencers);
		foreach(lc2, clauses)
		{
			RestrictInfo *ri = lfirst(lc2);
			Relids		outer = bms_difference(ri->clause_relids, baserel->relids);

			if (bms_is_empty(outer) ||
				bms_overlap(outer, baserel->lateral_referencers))
				continue;
			if (comet_key_quals_from(root, baserel, fpinfo->ep, list_make1(ri)) == NIL)
				continue;
			add_path_for(root, baserel, fpinfo, list_make1(ri), outer);
		}
	}
	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *ri = lfirst(lc);
		Relids		outer;

		if (!join_clause_is_movable_to(ri, baserel))
			continue;
		if (comet_key_quals_from(root, baserel, fpinfo->ep, list_make1(ri)) == NIL)
			continue;
		outer = bms_difference(ri->clause_relids, baserel->relids);
		if (bms_is_empty(outer))
			continue;
		add_path_for(root, baserel, fpinfo, list_make1(ri), outer);
	}
}

/* ---- EXPLAIN texts, from the shape alone (no request is made) ---- */

/* "name={column}" for a slot of a request to ep */
static void
append_placeholder(StringInfo buf, char *sep, const CometEndpoint *ep, int slot)
{
	appendStringInfo(buf, "%c%s={%s}", *sep, comet_slot_param(ep, slot),
					 comet_key_column(ep, slot));
	*sep = '&';
}

char *
comet_describe_request(const CometShape *shape)
{
	const CometEndpoint *t = shape->target;
	StringInfoData buf;
	char		sep = '?';
	int			s;

	initStringInfo(&buf);
	if (COMET_BATCHED(t))
	{
		appendStringInfo(&buf, "POST %s {%s: [{%s} ...], %s: [{%s} ...]} (at most %d %ss and %d pairs a request)",
						 t->path, t->post->keys_field,
						 comet_slot_column(t->nested->key_slot),
						 t->post->names_field, comet_slot_column(SLOT_METRIC),
						 t->post->max_keys, comet_slot_column(t->nested->key_slot),
						 t->post->max_pairs);
		return buf.data;
	}
	appendStringInfo(&buf, "GET %s", t->path);
	switch (t->level)
	{
		case LEVEL_NONE:
			break;
		case LEVEL_WORKSPACE:
			append_placeholder(&buf, &sep, t, SLOT_WORKSPACE);
			break;
		case LEVEL_PROJECT:
			/* a listed project is asked for by id */
			if (shape->keyed[SLOT_PROJECT_ID] || shape->start < LEVEL_PROJECT)
				append_placeholder(&buf, &sep, t, SLOT_PROJECT_ID);
			else
			{
				append_placeholder(&buf, &sep, t, SLOT_WORKSPACE);
				append_placeholder(&buf, &sep, t, SLOT_PROJECT_NAME);
			}
			break;
		case LEVEL_EXPERIMENT:
			append_placeholder(&buf, &sep, t, SLOT_EXPERIMENT);
			break;
		case LEVEL_METRIC:
			append_placeholder(&buf, &sep, t, SLOT_EXPERIMENT);
			append_placeholder(&buf, &sep, t, SLOT_METRIC);
			break;
	}
	for (s = COMET_NSLOTS; s < COMET_NKEYS; s++)
		if (comet_param_column(t, s) != NULL)
			append_placeholder(&buf, &sep, t, s);
	if (t->variant)
	{
		appendStringInfo(&buf, "%c%s={%s}", sep, t->variant->param, t->variant->column);
		sep = '&';
	}
	if (t->fixed_query)
		appendStringInfo(&buf, "%c%s", sep, t->fixed_query);
	return buf.data;
}

char *
comet_describe_fanout(const CometShape *shape)
{
	StringInfoData buf;
	int			l;
	static const char *const listed[] = {
		"workspaces", "projects of each workspace",
		"experiments of each project (archived and active)",
		"metric names of each experiment"
	};

	if (shape->start >= shape->target->level)
		return NULL;
	initStringInfo(&buf);
	for (l = shape->start; l < shape->target->level; l++)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, " -> ");
		if (l == LEVEL_EXPERIMENT && shape->keyed[SLOT_METRIC])
			appendStringInfoString(&buf, "the metric_name keys for each experiment");
		else if (COMET_BATCHED(shape->target) && shape->target->post->names_by_project &&
				 !shape->keyed[SLOT_METRIC] && shape->start <= LEVEL_PROJECT &&
				 l == LEVEL_PROJECT)
			appendStringInfo(&buf, "GET %s of each project (its metric names, archived and active) -> GET %s",
							 comet_endpoint_lookup(shape->target->post->names_by_project)->path,
							 listed[l]);
		else if (COMET_BATCHED(shape->target) && shape->target->post->names_by_project &&
				 !shape->keyed[SLOT_METRIC] && shape->start <= LEVEL_PROJECT &&
				 l == LEVEL_EXPERIMENT)
			appendStringInfoString(&buf, "the project's metric names for each experiment");
		else
			appendStringInfo(&buf, "GET %s", listed[l]);
	}
	if (shape->start == LEVEL_NONE)
	{
		bool		any = false;

		for (l = 0; l < COMET_NSLOTS; l++)
			any |= shape->keyed[l];
		appendStringInfoString(&buf, any ? " (children filtered by the keys)" :
							   " (no key filter: every object the API key can see)");
	}
	return buf.data;
}

/* ---- joins: two comet_fdw tables on experiment_key, as one scan ---- */

/*
 * What the planner found for a join it runs as one scan ("Comet Join"):
 * both sides' requests go through one batch, concurrently, and rows are
 * joined on experiment_key as they arrive.
 */
typedef struct CometJoinInfo
{
	RelOptInfo *side[2];
	AttrNumber	key_attno[2];
	List	   *joinclauses;	/* RestrictInfos of the join itself */
} CometJoinInfo;

/* A side's experiment_key column, as a Var of the side. */
static KeyColumn *
experiment_key_of(PlannerInfo *root, RelOptInfo *rel, Node *e)
{
	CometFdwRelationInfo *fp = rel->fdw_private;
	RangeTblEntry *rte = planner_rt_fetch(rel->relid, root);
	KeyColumn  *kc = key_var(e, rel, key_columns(rte->relid, fp->ep));

	return (kc != NULL && kc->slot == SLOT_EXPERIMENT) ? kc : NULL;
}

/* Does the clause equate the two sides' experiment keys, byte for byte? */
static bool
joins_experiments(PlannerInfo *root, RestrictInfo *ri, RelOptInfo *a,
				  RelOptInfo *b, AttrNumber *aatt, AttrNumber *batt)
{
	OpExpr	   *op = (OpExpr *) ri->clause;
	KeyColumn  *ka,
			   *kb;

	if (!IsA(op, OpExpr) || list_length(op->args) != 2 ||
		op->opno != TextEqualOperator || !byte_equality(op->inputcollid))
		return false;
	if ((ka = experiment_key_of(root, a, linitial(op->args))) != NULL &&
		(kb = experiment_key_of(root, b, lsecond(op->args))) != NULL)
	{
		*aatt = ka->attnum;
		*batt = kb->attnum;
		return true;
	}
	if ((ka = experiment_key_of(root, a, lsecond(op->args))) != NULL &&
		(kb = experiment_key_of(root, b, linitial(op->args))) != NULL)
	{
		*aatt = ka->attnum;
		*batt = kb->attnum;
		return true;
	}
	return false;
}

/*
 * Does the endpoint give at most one row per experiment (the experiment's
 * metadata, its system details ...)?  Such a side is what a Comet Join
 * keeps: its rows are no more than the experiments it covers, while the
 * other side's rows stream through.
 */
static bool
one_row_per_experiment(const CometEndpoint *ep)
{
	if (ep->level == LEVEL_EXPERIMENT && ep->list_key == NULL)
		return true;
	if (ep->by_key != NULL)
	{
		const CometEndpoint *bk = comet_endpoint_lookup(ep->by_key);

		return bk->level == LEVEL_EXPERIMENT && bk->list_key == NULL;
	}
	return false;
}

static bool
is_comet_baserel(RelOptInfo *rel)
{
	CometFdwRelationInfo *fp = rel->fdw_private;

	return rel->reloptkind == RELOPT_BASEREL && fp != NULL &&
		fp->ep != NULL && rel->rtekind == RTE_RELATION &&
		/* no whole-row reference: the join builds its rows column by column */
		!bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, fp->attrs_used);
}

void
comet_get_join_paths(PlannerInfo *root, RelOptInfo *joinrel,
					 RelOptInfo *outerrel, RelOptInfo *innerrel,
					 JoinType jointype, JoinPathExtraData *extra)
{
	CometJoinInfo *ji;
	CometFdwRelationInfo *fp[2];
	RelOptInfo *sides[2];
	AttrNumber	att[2];
	bool		found = false;
	double		requests[2],
				rounds[2],
				rows[2],
				req,
				rnd;
	Cost		startup,
				total;
	ListCell   *lc;
	int			i;

	/* inner joins of two tables, in a plain SELECT; once per join rel */
	if (joinrel->fdw_private != NULL || jointype != JOIN_INNER ||
		root->parse->commandType != CMD_SELECT || root->parse->rowMarks != NIL ||
		!is_comet_baserel(outerrel) || !is_comet_baserel(innerrel) ||
		!bms_is_empty(joinrel->lateral_relids))
		return;
	foreach(lc, joinrel->reltarget->exprs)
		if (!IsA(lfirst(lc), Var))
			return;
	foreach(lc, extra->restrictlist)
		if (joins_experiments(root, lfirst(lc), outerrel, innerrel, &att[0], &att[1]))
			found = true;
	if (!found)
		return;

	/*
	 * The side kept whole comes first: one with a row per experiment.
	 * Without one (two tables of many rows per experiment), PostgreSQL's own
	 * joins, which spill to disk past work_mem, do it better.
	 */
	if (one_row_per_experiment(((CometFdwRelationInfo *) outerrel->fdw_private)->ep))
	{
		sides[0] = outerrel;
		sides[1] = innerrel;
	}
	else if (one_row_per_experiment(((CometFdwRelationInfo *) innerrel->fdw_private)->ep))
	{
		AttrNumber	t = att[0];

		sides[0] = innerrel;
		sides[1] = outerrel;
		att[0] = att[1];
		att[1] = t;
	}
	else
		return;
	for (i = 0; i < 2; i++)
	{
		fp[i] = sides[i]->fdw_private;
		estimate(fp[i]->ep, fp[i]->key_quals, fp[i]->concurrency,
				 &requests[i], &rounds[i], &rows[i]);
		/* a side that needs a key only a join parameter can give (asset_id) */
		if (rounds[i] >= COMET_UNUSABLE_ROUNDS)
			return;
	}

	/*
	 * Both sides' requests share max_concurrency, and their listing steps
	 * overlap: the rounds of the busier side, or of all requests together.
	 */
	req = requests[0] + requests[1];
	rnd = Max(Max(rounds[0], rounds[1]), ceil(req / fp[0]->concurrency));
	scan_cost(req, rnd, joinrel->rows, &startup, &total);
	/* building and probing the two sides' rows */
	total += (outerrel->rows + innerrel->rows) * cpu_operator_cost * 2;
	/* what the join keeps: the first side's rows (cf. a hash join's table) */
	if (sides[0]->rows * sides[0]->reltarget->width > work_mem * 1024.0)
		return;

	ji = palloc0(sizeof(CometJoinInfo));
	ji->side[0] = sides[0];
	ji->side[1] = sides[1];
	ji->key_attno[0] = att[0];
	ji->key_attno[1] = att[1];
	ji->joinclauses = extra->restrictlist;
	joinrel->fdw_private = ji;

	add_path(joinrel, (Path *)
#if PG_VERSION_NUM >= 180000
			 create_foreign_join_path(root, joinrel, NULL, joinrel->rows, 0,
									  startup, total, NIL, NULL, NULL,
									  extra->restrictlist, NIL)
#elif PG_VERSION_NUM >= 170000
			 create_foreign_join_path(root, joinrel, NULL, joinrel->rows,
									  startup, total, NIL, NULL, NULL,
									  extra->restrictlist, NIL)
#else
			 create_foreign_join_path(root, joinrel, NULL, joinrel->rows,
									  startup, total, NIL, NULL, NULL, NIL)
#endif
		);
}

/* The position (1-based) of a side's Var in the scan tlist, added if new. */
static int
tlist_var(List **tlist, Index varno, AttrNumber attno, Oid type, int32 typmod,
		  Oid collid)
{
	ListCell   *lc;
	Var		   *v;

	foreach(lc, *tlist)
	{
		TargetEntry *tle = lfirst(lc);

		v = (Var *) tle->expr;
		if (v->varno == varno && v->varattno == attno)
			return tle->resno;
	}
	v = makeVar(varno, attno, type, typmod, collid, 0);
	*tlist = lappend(*tlist, makeTargetEntry((Expr *) v, list_length(*tlist) + 1,
											 NULL, false));
	return list_length(*tlist);
}

/*
 * The plan of a Comet Join.  fdw_scan_tlist holds the columns of both
 * sides the query needs (each side's experiment_key first among them);
 * every qual of the join and of both sides stays a local qual, so nothing
 * is ever left unchecked; fdw_exprs are the two sides' key expressions.
 */
ForeignScan *
comet_join_plan(PlannerInfo *root, RelOptInfo *joinrel, ForeignPath *best_path,
				List *tlist, Plan *outer_plan)
{
	CometJoinInfo *ji = joinrel->fdw_private;
	List	   *scan_tlist = NIL;
	List	   *quals = NIL;
	List	   *fdw_exprs = NIL;
	List	   *fdw_private = NIL;
	List	   *vars;
	ListCell   *lc;
	int			i;

	quals = list_concat(quals, extract_actual_clauses(ji->joinclauses, false));
	for (i = 0; i < 2; i++)
		quals = list_concat(quals,
							extract_actual_clauses(ji->side[i]->baserestrictinfo, false));

	/* each side's join key first: the join reads it from every row */
	for (i = 0; i < 2; i++)
	{
		RelOptInfo *rel = ji->side[i];
		RangeTblEntry *rte = planner_rt_fetch(rel->relid, root);
		Oid			type;
		int32		typmod;
		Oid			collid;

		get_atttypetypmodcoll(rte->relid, ji->key_attno[i], &type, &typmod, &collid);
		tlist_var(&scan_tlist, rel->relid, ji->key_attno[i], type, typmod, collid);
	}
	vars = pull_var_clause((Node *) list_concat(list_copy(joinrel->reltarget->exprs),
												list_copy(quals)),
						   PVC_RECURSE_PLACEHOLDERS);
	foreach(lc, vars)
	{
		Var		   *v = lfirst(lc);

		tlist_var(&scan_tlist, v->varno, v->varattno, v->vartype, v->vartypmod,
				  v->varcollid);
	}

	for (i = 0; i < 2; i++)
	{
		RelOptInfo *rel = ji->side[i];
		CometFdwRelationInfo *fp = rel->fdw_private;
		List	   *key_quals;
		List	   *key_info = NIL;
		List	   *attrs = NIL;
		List	   *search;
		ListCell   *lt;
		int			pos = 0;

		key_quals = list_concat(comet_key_quals_from(root, rel, fp->ep,
													 rel->baserestrictinfo),
								fp->implied_quals);
		comet_key_exprs(key_quals, &fdw_exprs, &key_info);
		/* a search narrows a side as it narrows a scan of its own */
		search = comet_search_quals(root, rel, fp->ep, rel->baserestrictinfo);
		fdw_exprs = list_concat(fdw_exprs, search);
		/* the side's columns the scan decodes: those in the scan tlist */
		foreach(lt, scan_tlist)
		{
			Var		   *v = (Var *) ((TargetEntry *) lfirst(lt))->expr;

			if (v->varno == rel->relid && v->varattno > 0)
				attrs = lappend_int(attrs, v->varattno);
			if (v->varno == rel->relid && v->varattno == ji->key_attno[i])
				pos = ((TargetEntry *) lfirst(lt))->resno;
		}
		fdw_private = lappend(fdw_private,
							  lappend(list_make5(makeString(pstrdup(fp->ep->name)),
												 key_info, attrs,
												 makeInteger(pos),
												 makeInteger(list_length(key_quals) +
															 list_length(search))),
									  makeInteger(list_length(search))));
	}

	return make_foreignscan(tlist, quals, 0, fdw_exprs, fdw_private,
							scan_tlist, NIL, outer_plan);
}
