# tongyuan — top-level Makefile.
#   make            build/libtongyuan.a, build/tongyuan and build/tongyuan-serve (run by `tongyuan serve`)
#   make test       unit tests, CLI golden tests, error-handling tests (then again under ASan+UBSan: make test-asan)
#   make eval       dev-set score (pairwise) with ../shared/score.py
#   make eval-corpus  dev-set score in corpus mode (index + check; EVAL_EXTRA adds documents)
#   make eval-html  HTML main-text extraction measured on generated pages of six layouts
#   make bench      benchmarks; figures to bench/results.csv and bench/last.txt
#   make fuzz       short libFuzzer runs (clang); FUZZ_SECONDS per target
#   make asan / ubsan / tsan   sanitizer builds into build/<name>/; make test-tsan: the threaded tests under TSan
#   make lint       clang-format check

CC      ?= cc
BUILD   ?= build
PKGS    := libutf8proc lmdb jansson zlib libzstd libxxhash
# the extraction stages' libraries: headers at build time, loaded with dlopen() on first use
# (src/extlib.c: a run on UTF-8 text never maps them), by the sonames found here
DLPKGS  := uchardet libxml-2.0 libzip poppler-glib
SERVE_PKGS := libmicrohttpd
GENPKGS := libutf8proc opencc
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-function
# On a fresh machine only `make demo`, `make check` (and deps, check-fresh) work before
# scripts/deps.sh has run: they run it first.
ifeq ($(shell command -v pkg-config 2>/dev/null),)
ifneq ($(filter-out demo check deps check-fresh,$(or $(MAKECMDGOALS),all)),)
$(error pkg-config is missing: run `make demo` or `sh scripts/deps.sh` first (it installs every build dependency))
endif
endif
# Include paths by part: the library sees its private headers, the front ends (cli/, server/)
# only the public ones (include/) — they cannot reach into src/ by accident. CPPFLAGS_ALL
# holds the packages' flags and what single objects add (MPI, sonames).
CPPFLAGS_ALL := $(shell pkg-config --cflags $(PKGS) $(SERVE_PKGS) $(DLPKGS) 2>/dev/null)
$(BUILD)/src/%.o: DIR_CPPFLAGS := -Iinclude -Isrc -I$(BUILD)/gen
$(BUILD)/cli/%.o: DIR_CPPFLAGS := -Iinclude
$(BUILD)/server/%.o: DIR_CPPFLAGS := -Iinclude -I$(BUILD)/gen
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lpthread -lm
soname   = $(shell f=$$(pkg-config --variable=libdir $(1) 2>/dev/null)/$(2); objdump -p "$$f" 2>/dev/null | awk '/SONAME/ { print $$2 }')
SONAMES := -DTY_SONAME_XML='"$(call soname,libxml-2.0,libxml2.so)"' \
           -DTY_SONAME_ZIP='"$(call soname,libzip,libzip.so)"' \
           -DTY_SONAME_UCHARDET='"$(call soname,uchardet,libuchardet.so)"' \
           -DTY_SONAME_POPPLER='"$(call soname,poppler-glib,libpoppler-glib.so)"'
SHARED  ?= ../shared

LIB_SRC := src/util.c src/normalize.c src/doc.c src/sketch.c src/align.c src/passage.c \
           src/input.c src/stream.c src/index_format.c src/index_part.c src/index_merge.c src/index_verify.c \
           src/index_build.c src/index_write.c src/index_add.c src/index_del.c src/index_shard.c \
           src/index.c src/search.c src/search_votes.c src/thread.c \
           src/dedup.c src/dedup_state.c src/dedup_spill.c src/spill.c src/dedup_rules.c src/spans.c src/cluster.c src/minhash.c src/jsonl_fast.c \
           src/report.c src/args.c src/extract.c src/encoding.c src/html.c src/docx.c src/pdf.c src/warc.c src/extlib.c
CLI_SRC := cli/main.c cli/common.c cli/output.c cli/compare.c \
           cli/index.c cli/check.c cli/dedup.c cli/spans.c cli/extract.c
SERVER_SRC := server/serve.c server/conn.c server/routes.c server/request.c
# make MPI=1 (use another BUILD, e.g. BUILD=build/mpi): the MPI part beside the library,
# $(BUILD)/libtongyuan_mpi.a (src/mpi/, include/tongyuan_mpi.h), and a tongyuan linked to it and
# to Open MPI, so that `mpirun -np N tongyuan dedup` runs across ranks (docs/mpi.md). Only the
# MPI part and the commands that call it (cli/dedup.c, cli/index.c, cli/mpi.c) are compiled
# with MPI; libtongyuan.a and tongyuan-serve are the same with or without MPI=1.
MPI_SRC := src/mpi/xchg.c src/mpi/share.c src/mpi/mdedup.c src/mpi/mdedup_spun.c \
           src/mpi/mdedup_groups.c src/mpi/mdedup_state.c src/mpi/shards.c src/mpi/mspans.c
ifeq ($(MPI),1)
MPI_LIBS := $(shell pkg-config --libs ompi-c 2>/dev/null)
ifeq ($(MPI_LIBS),)
$(error MPI=1: pkg-config cannot find ompi-c (apt-get install libopenmpi-dev))
endif
CLI_SRC += cli/mpi.c
MPI_OBJ := $(MPI_SRC:%.c=$(BUILD)/%.o)
MPI_LIB := $(BUILD)/libtongyuan_mpi.a
$(MPI_OBJ) $(BUILD)/cli/dedup.o $(BUILD)/cli/index.o $(BUILD)/cli/mpi.o: \
    CPPFLAGS_ALL += -DTY_MPI $(shell pkg-config --cflags ompi-c)
endif
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
# `tongyuan serve` runs tongyuan-serve (server/main.c): only it links libmicrohttpd
SERVE_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/server/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all asan bench bench-dedup bench-dedup-big bench-dedup-days bench-mpi check check-fresh clean demo deps eval eval-corpus \
        eval-dedup eval-html eval-repeat eval-spans fuzz lint test test-asan test-browser test-mpi \
        test-tsan tsan ubsan install uninstall shared test-python bench-python

all: $(BUILD)/tongyuan $(BUILD)/tongyuan-serve

# every Debian package the build, tests and benchmarks need (idempotent; root or sudo)
deps:
	sh scripts/deps.sh

# The README's first command: install dependencies, build, run on the bundled example.
demo:
	sh scripts/deps.sh
	$(MAKE) all
	$(BUILD)/tongyuan compare examples/original.txt examples/spun.txt; test $$? -le 1

# The README's second command (and CI's): dependencies, tests, tests under ASan+UBSan,
# the dev-set score, short fuzz runs, and a clang -Werror build.
check:
	sh scripts/deps.sh
	$(MAKE) all
	$(MAKE) test
	$(MAKE) test-python
	$(MAKE) test-asan
	$(MAKE) test-tsan
	$(MAKE) test-browser
	$(MAKE) test-mpi
	$(MAKE) CC=clang BUILD=build/clang all
	EVAL_REQUIRE=1 $(MAKE) eval
	EVAL_REQUIRE=1 $(MAKE) eval-corpus
	EVAL_REQUIRE=1 REPEAT_SIZE=small $(MAKE) eval-repeat
	EVAL_REQUIRE=1 $(MAKE) eval-spans
	FUZZ_SECONDS=$${FUZZ_SECONDS:-10} $(MAKE) fuzz

$(BUILD)/gen/mknormtab: tools/mknormtab.c src/classify.h
	@mkdir -p $(@D)
	$(CC) -O2 $(WARN) -o $@ $< $(shell pkg-config --cflags --libs $(GENPKGS))

$(BUILD)/gen/normtab.inc: $(BUILD)/gen/mknormtab
	$< > $@.tmp && mv $@.tmp $@

$(BUILD)/src/normalize.o: $(BUILD)/gen/normtab.inc

# the page of `tongyuan serve` (GET /) as a C string: \ " and ? escaped (no trigraphs)
$(BUILD)/gen/serve_page.inc: server/page.html
	@mkdir -p $(@D)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@

$(BUILD)/server/serve.o: $(BUILD)/gen/serve_page.inc

$(BUILD)/src/extlib.o: CPPFLAGS_ALL += $(SONAMES)

# every object depends on the headers it includes, as the compiler lists them (-MMD -MP:
# $(BUILD)/**/*.d, read below)
$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(DIR_CPPFLAGS) $(CPPFLAGS_ALL) -MMD -MP -c -o $@ $<

# (made anew: ar would keep members whose sources are gone)
$(BUILD)/libtongyuan.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libtongyuan_mpi.a: $(MPI_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tongyuan: $(CLI_OBJ) $(MPI_LIB) $(BUILD)/libtongyuan.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS) $(MPI_LIBS)

$(BUILD)/tongyuan-serve: $(SERVE_OBJ) $(BUILD)/libtongyuan.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS) $(shell pkg-config --libs $(SERVE_PKGS))

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtongyuan.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -Iinclude -Isrc -I$(BUILD)/gen $(CPPFLAGS_ALL) -MMD -MP -o $@ $< \
	    $(BUILD)/libtongyuan.a $(LIBS)

$(BUILD)/tests/test_full: tests/lib/fullfs.c

# a full disk for LD_PRELOAD (tests/serve.sh); no sanitizer: it is preloaded into any build
$(BUILD)/tests/fullfs.so: tests/lib/fullfs.c
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARN) -fPIC -shared -o $@ $< -ldl

# Headless Chromium (Debian's) driven by playwright-core: the HTML report (and the service
# page); screenshots kept in $(BUILD)/artifacts.
test-browser: all
	cd tests/browser && npm install --no-audit --no-fund --silent
	node tests/browser/report.mjs $(BUILD)/tongyuan $(BUILD)/artifacts
	@# the service page: an index of the example's original and a few other texts, served on a
	@# free port (printed by the server) for the length of the test, then stopped
	rm -rf $(BUILD)/artifacts/serve && mkdir -p $(BUILD)/artifacts/serve
	$(BUILD)/tongyuan index build -o $(BUILD)/artifacts/serve/ix examples/original.txt \
	    tests/data/text/src-00109.txt tests/data/text/src-00085.txt tests/data/text/src-00001.txt
	d=$(BUILD)/artifacts/serve; \
	$(BUILD)/tongyuan serve -x $$d/ix --listen 127.0.0.1:0 --threads 2 2> $$d/server.log & pid=$$!; \
	trap 'kill $$pid 2> /dev/null' EXIT; \
	i=0; port=; while [ $$i -lt 100 ] && [ -z "$$port" ]; do sleep 0.1; i=$$((i + 1)); \
	    port=$$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/.*|\1|p' $$d/server.log); done; \
	if [ -z "$$port" ]; then cat $$d/server.log; exit 1; fi; \
	node tests/browser/serve.mjs http://127.0.0.1:$$port/ $(BUILD)/artifacts

test: all $(UNIT_BIN) $(BUILD)/tests/fullfs.so
	@SHARED=$(SHARED) BUILD=$(BUILD) sh tests/run.sh

eval: all
	@sh scripts/eval.sh $(BUILD)/tongyuan $(SHARED)

# tongyuan dedup on dev src/ + sus/ + 100,000 scale_gen documents: pair recall and precision
eval-dedup: all
	@sh scripts/dedup_eval.sh $(BUILD)/tongyuan $(SHARED)

# dedup --mode spans (passage-level cleaning) on spans_gen.py corpora (SPANS_DOCS, default
# 1000): recall by copy kind and precision, beside the exact-only baseline (spans-exact)
eval-spans: all
	@sh scripts/eval_spans.sh $(BUILD)/tongyuan $(SHARED)

# the README's two commands in a minimal Debian 12 root made by debootstrap (root, network);
# FRESH_TARGETS="demo check" by default
check-fresh:
	sh scripts/check_fresh.sh

# repetition corpora (scripts/repeat_gen.py): popular copies, near-duplicate families,
# self-repetitive and reordered texts, scored for compare, check and dedup
eval-repeat: all $(BUILD)/tests/test_dedup
	@sh scripts/eval_repeat.sh $(BUILD)/tongyuan $(SHARED)

# dedup speed and memory: exact, near, spun at 1 and 2 threads (DEDUP_BENCH_DOCS, default 1M)
bench-dedup: all
	@sh bench/dedup_bench.sh $(BUILD)/tongyuan $(SHARED)

# dedup with a memory budget: near and spun, --memory 4G vs in memory (BIG_DOCS, default
# 10,000,000: hours; not in make bench, not in CI)
bench-dedup-big: all
	@sh bench/dedup_big.sh $(BUILD)/tongyuan $(SHARED)

# incremental dedup: day 2 --against day 1 vs one run over both (DAYS_DOCS, default 100000;
# DAYS_DAY1, DAYS_DAY2, DAYS_COPIES, DAYS_THREADS, DAYS_LAST: bench/dedup_days.sh)
bench-dedup-days: all
	@sh bench/dedup_days.sh $(BUILD)/tongyuan $(SHARED)

# MPI dedup (tests/mpi.sh) and sharded index (tests/mpi_index.sh): builds the MPI binary into
# build/mpi, then runs it with mpirun -np 1, 2, 4 against the single-process run; fails when
# Open MPI is absent (scripts/deps.sh installs it).
test-mpi:
	@$(MAKE) MPI=1 BUILD=build/mpi all
	@BUILD=build/mpi sh tests/mpi.sh
	@BUILD=build/mpi sh tests/mpi_index.sh

# MPI dedup speed at 1, 2, 4 ranks (MPI_BENCH_DOCS, default 1000000; also part of make bench)
bench-mpi:
	$(MAKE) MPI=1 BUILD=build/mpi all
	@sh bench/mpi_bench.sh build/mpi/tongyuan $(SHARED)

# html.c's boilerplate rule on generated pages of six made-up sites (scripts/html_eval.py):
# recall/precision of the article's text, pairs of different articles reported as reuse
eval-html: all
	@python3 scripts/html_eval.py $(BUILD)/tongyuan $(SHARED)/data/dev --pages $${HTML_EVAL_PAGES:-20} --check

# corpus mode: index dev src/ + haystack/ (+ EVAL_EXTRA), check every sus/ document
eval-corpus: all
	@sh scripts/eval_corpus.sh $(BUILD)/tongyuan $(SHARED)

bench: all
	@sh bench/run.sh $(BUILD)/tongyuan $(SHARED)

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" LDFLAGS=-fsanitize=address,undefined all
ubsan:
	$(MAKE) BUILD=build/ubsan OPT="-O1 -g -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all
tsan:
	$(MAKE) BUILD=build/tsan OPT="-O1 -g -fsanitize=thread" all

# the threaded parts under ThreadSanitizer: every unit test (searchers, dedup workers, index
# writers in threads), and the commands that run threads: compare --pairs, check, index build,
# dedup (tests/cli.sh, index.sh, dedup.sh); any report fails the run
test-tsan:
	TSAN_OPTIONS="halt_on_error=0 exitcode=66 $${TSAN_OPTIONS:-}" TESTS_SH="cli dedup index" \
	    $(MAKE) BUILD=build/tsan OPT="-O1 -g -fsanitize=thread" test

test-asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

fuzz:
	@sh fuzz/run.sh

lint:
	clang-format --dry-run -Werror include/*.h src/*.c src/*.h src/mpi/*.c src/mpi/*.h cli/*.c cli/*.h server/*.c server/*.h tools/*.c \
	    tests/unit/*.c tests/unit/*.h fuzz/*.c fuzz/*.h bench/*.c

# ---- installable library (issue 11) --------------------------------------------------------
# The shared library is built from position-independent objects of its own ($(BUILD)/pic/,
# the static build's objects stay as they are); a version script exports only the public
# ty_ names (not ty__ internals). $(BUILD)/pic/libtongyuan_pic.a (the same objects) is what
# the Python extension links (setup.py), so `pip install .` needs no installed library.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
VERSION := $(shell sed -n 's/^\#define TY_VERSION_STRING "\(.*\)"/\1/p' include/tongyuan.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME  := libtongyuan.so.$(SOMAJOR)
PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
$(BUILD)/pic/src/%.o: DIR_CPPFLAGS := -Iinclude -Isrc -I$(BUILD)/gen
$(BUILD)/pic/src/normalize.o: $(BUILD)/gen/normtab.inc
$(BUILD)/pic/src/extlib.o: CPPFLAGS_ALL += $(SONAMES)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC $(WARN) $(DIR_CPPFLAGS) $(CPPFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/pic/libtongyuan_pic.a: $(PIC_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libtongyuan.so.$(VERSION): $(PIC_OBJ) python/exports.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=python/exports.map \
	    -Wl,--no-undefined -o $@ $(PIC_OBJ) $(LIBS)

$(BUILD)/libtongyuan.so: $(BUILD)/libtongyuan.so.$(VERSION)
	ln -sf libtongyuan.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libtongyuan.so.$(VERSION) $@

# (made anew each time: PREFIX and LIBDIR come from the command line)
$(BUILD)/tongyuan.pc: python/tongyuan.pc.in FORCE
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES@|$(PKGS)|' $< > $@.tmp && mv $@.tmp $@

FORCE:

shared: $(BUILD)/libtongyuan.so $(BUILD)/libtongyuan.a $(BUILD)/tongyuan.pc

install: all shared
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/tongyuan $(BUILD)/tongyuan-serve $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/libtongyuan.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libtongyuan.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libtongyuan.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libtongyuan.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtongyuan.so
	install -m 644 include/tongyuan.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/tongyuan.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 644 docs/tongyuan.1 $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tongyuan $(DESTDIR)$(BINDIR)/tongyuan-serve \
	    $(DESTDIR)$(LIBDIR)/libtongyuan.a $(DESTDIR)$(LIBDIR)/libtongyuan.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libtongyuan.so \
	    $(DESTDIR)$(INCLUDEDIR)/tongyuan.h $(DESTDIR)$(PKGCONFIGDIR)/tongyuan.pc \
	    $(DESTDIR)$(MANDIR)/man1/tongyuan.1

# The Python package (python/, docs/python.md): built with Debian's python3 (where
# python3-cffi and python3-pytest live) into $(BUILD)/python, then pytest (python/tests/),
# which also installs the C library into a DESTDIR and compiles a program against it.
PYTHON ?= /usr/bin/python3
test-python: all shared $(BUILD)/pic/libtongyuan_pic.a
	rm -rf $(BUILD)/python && $(PYTHON) -m pip install --no-build-isolation --no-deps \
	    --no-index --quiet --target $(BUILD)/python .
	TY_BUILD=$(BUILD) TY_SHARED=$(SHARED) PYTHONPATH=$(BUILD)/python \
	    $(PYTHON) -m pytest -q -p no:cacheprovider python/tests

# Python against the CLI: compare calls/s, dedup overhead per document (bench/python_bench.sh)
bench-python: test-python
	@PYTHON=$(PYTHON) sh bench/python_bench.sh $(BUILD) $(SHARED)

clean:
	rm -rf build

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/pic/src/*.d $(BUILD)/src/mpi/*.d $(BUILD)/cli/*.d $(BUILD)/server/*.d \
                    $(BUILD)/tests/*.d)
