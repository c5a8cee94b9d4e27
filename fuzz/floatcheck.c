/*
 * fuzz/floatcheck.c: jsonrow.c's number reading against strtod().
 *
 * float_value() takes exact fast paths (Clinger's; an extended-precision
 * one for 16 to 19 digits on x86-64) before strtod().  A wrong last bit
 * would be a silently wrong metric value, so this reads millions of
 * numbers of every shape (random doubles printed with 15 to 19 digits,
 * random digit strings, any exponent, values next to halfway points) both
 * ways and requires the same bits.  Run by fuzz/run.sh.
 */
#include "../src/jsonrow.c"

#include <stdio.h>

static uint64_t state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

/* one number of shape i % 8 into buf; false to skip it */
static bool
make_number(long i, char *buf, size_t size)
{
	double		d;
	uint64_t	b;
	int			nd,
				k = 0,
				j;

	switch (i % 8)
	{
		case 0:					/* any finite double, shortest exact form */
			b = rnd();
			memcpy(&d, &b, sizeof(d));
			if (!isfinite(d))
				return false;
			snprintf(buf, size, "%.17g", d);
			break;
		case 1:					/* a metric value in [0, 1) */
			d = (double) (rnd() >> 11) / 9007199254740992.0;
			snprintf(buf, size, "%.17g", d);
			break;
		case 2:					/* 16 digits, exponents -20 .. 19 */
			d = (double) (rnd() >> 11) / 9007199254740992.0 *
				pow(10, (int) (rnd() % 40) - 20);
			snprintf(buf, size, "%.16g", d);
			break;
		case 3:					/* up to 19 random digits around a point */
			nd = 1 + (int) (rnd() % 19);
			{
				int			dot = (int) (rnd() % (nd + 1));

				for (j = 0; j < nd; j++)
				{
					if (j == dot)
						buf[k++] = '.';
					buf[k++] = (char) ('0' + rnd() % 10);
				}
				if (dot == nd)
				{
					buf[k++] = '.';
					buf[k++] = '0';
				}
			}
			buf[k] = '\0';
			break;
		case 4:					/* up to 19 digits and an exponent */
			nd = 1 + (int) (rnd() % 19);
			for (j = 0; j < nd; j++)
				buf[k++] = (char) ('0' + rnd() % 10);
			snprintf(buf + k, size - k, "e%d", (int) (rnd() % 60) - 30);
			break;
		case 6:					/* 17 digits, exponents -330 .. 310 */
			d = 1.0 + (double) (rnd() >> 11) / 9007199254740992.0 * 9.0;
			snprintf(buf, size, "%.16fe%d", d, (int) (rnd() % 641) - 330);
			break;
		case 7:					/* next to a halfway point, any exponent */
			b = (rnd() >> 12) | 0x3FF0000000000000ULL;
			memcpy(&d, &b, sizeof(d));
			d = ldexp(d, (int) (rnd() % 2044) - 1022);
			snprintf(buf, size, "%.19Lg",
					 (long double) d + (long double) (nextafter(d, INFINITY) - d) / 2);
			break;
		default:				/* next to a halfway point between doubles */
			b = (rnd() >> 12) | 0x3FF0000000000000ULL;
			memcpy(&d, &b, sizeof(d));
			snprintf(buf, size, "%.19Lg",
					 (long double) d + (long double) (nextafter(d, 2.0) - d) / 2);
			break;
	}
	return true;
}

int
main(int argc, char **argv)
{
	long		n_try = argc > 1 ? atol(argv[1]) : 3000000;
	long		n = 0,
				fast = 0,
				bad = 0,
				i;
	char		buf[64];

	for (i = 0; i < n_try; i++)
	{
		double		got,
					want,
					tmp;

		if (!make_number(i, buf, sizeof(buf)))
			continue;
		n++;
		fast += fast_float(buf, strlen(buf), &tmp);
		got = float_value(buf, strlen(buf));
		want = strtod(buf, NULL);
		if (memcmp(&got, &want, sizeof(got)) != 0)
		{
			if (bad < 10)
				printf("BAD %s: read %.17g, strtod %.17g\n", buf, got, want);
			bad++;
		}
	}
	printf("floatcheck: %ld numbers, %ld by a fast path, %ld read differently from strtod\n",
		   n, fast, bad);
	return bad != 0;
}
