# comet_fdw: PGXS build.  `make`, `make install`, `make installcheck`.
# `make WERROR=1` turns warnings into errors (CI does).

MODULE_big = comet_fdw
OBJS = \
	src/comet_fdw.o \
	src/option.o \
	src/pushdown.o \
	src/scan.o \
	src/modify.o \
	src/join.o \
	src/endpoints.o \
	src/connection.o \
	src/http.o \
	src/convert.o \
	src/jsonrow.o \
	src/cache.o

EXTENSION = comet_fdw
DATA = comet_fdw--1.0.sql comet_fdw--1.0--1.1.sql
PGFILEDESC = "comet_fdw - foreign-data wrapper for the Comet ML REST API"

REGRESS ?= setup options keys tables more_tables experiment_tables recorded import pushdown explain views context encoding collation corpus seed metric_chart search grafana cache hostile errors write


CURL_CONFIG ?= curl-config
PKG_CONFIG ?= pkg-config
PG_CPPFLAGS = -Isrc \
	$(shell $(CURL_CONFIG) --cflags)
SHLIB_LINK = $(shell $(CURL_CONFIG) --libs)

ifdef WERROR
PG_CFLAGS += -Werror
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Objects built with other flags (`make` without WERROR, another compiler, another PostgreSQL)
# are rebuilt: .build-flags changes only when the flags do.
BUILD_FLAGS := $(CC) $(CFLAGS) $(CPPFLAGS) $(PGXS)
.build-flags: FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != '$(BUILD_FLAGS)' ]; then echo '$(BUILD_FLAGS)' >$@; fi
$(OBJS): .build-flags
EXTRA_CLEAN += .build-flags
.PHONY: FORCE

# every object depends on the project's headers (a changed struct must never meet an old object)
$(OBJS): src/comet_fdw.h src/http.h src/jsonrow.h
