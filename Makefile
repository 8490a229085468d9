# jark — build, test, benchmark, fuzz.  `make help` lists the targets.
CC      ?= cc
ifeq ($(origin CC),default)
CC      := cc
endif
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
CPPFLAGS_ALL := -std=c11 -D_DEFAULT_SOURCE -Iinclude $(shell pkg-config --cflags json-c 2>/dev/null)
LDLIBS  := -lsodium -llmdb $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c) -lm -lpthread
LDLIBS  += $(shell pkg-config --libs gnutls libngtcp2 libngtcp2_crypto_gnutls 2>/dev/null || echo -lngtcp2_crypto_gnutls -lngtcp2 -lgnutls)
LDLIBS  += $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
SHARED  ?= ../shared

LIB_SRC   := $(sort $(wildcard src/*/*.c))
TOOL_SRC  := $(sort $(wildcard tools/*.c))
TEST_SRC  := $(sort $(wildcard tests/*.c tests/*/*.c))


LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_LIB_OBJ := $(filter-out $(BUILD)/obj/tools/main.o,$(TOOL_OBJ))
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all test check-vectors asan bench bench-peers fuzz clean help
all: $(BUILD)/libjark.a $(BUILD)/jark

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

$(BUILD)/libjark.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/jark: $(TOOL_OBJ) $(BUILD)/libjark.a
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The test binary's SDK builds go through tests/sdk_memo.c first (a build
# it has made before is answered from memory: docs/testing.md).
$(BUILD)/tests: LDLIBS += -Wl,--wrap=jk_sdk_build,--wrap=jk_sdk_build_one
$(BUILD)/tests: $(TEST_OBJ) $(TOOL_LIB_OBJ) $(BUILD)/libjark.a
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The unit tests (which include the PVM vectors), then the CLI over the vectors.
# Each vector run is bounded (a recompiler that loops forever fails the run
# with a message instead of hanging it); the unit tests have their own
# per-test watchdog (JK_TEST_TIMEOUT, docs/testing.md).
VECTORS_TIMEOUT ?= 600
VECTORS_RUN = timeout -k 10 $(VECTORS_TIMEOUT)
test: $(BUILD)/tests $(BUILD)/jark
	@$(VECTORS_RUN) $(BUILD)/jark pvm test $(SHARED)/vectors/pvm/programs > $(BUILD)/vectors.log || { cat $(BUILD)/vectors.log; echo "make test: jark pvm test $(SHARED)/vectors/pvm/programs failed, or ran past $(VECTORS_TIMEOUT) s"; exit 1; }
	@tail -n 1 $(BUILD)/vectors.log | sed 's/^/pvm vectors (jark pvm test): /'
	@$(VECTORS_RUN) $(BUILD)/jark pvm test --engine jit $(SHARED)/vectors/pvm/programs > $(BUILD)/vectors-jit.log || { cat $(BUILD)/vectors-jit.log; echo "make test: jark pvm test --engine jit $(SHARED)/vectors/pvm/programs failed, or ran past $(VECTORS_TIMEOUT) s"; exit 1; }
	@tail -n 1 $(BUILD)/vectors-jit.log | sed 's/^/pvm vectors (jark pvm test --engine jit): /'
	@$(VECTORS_RUN) $(BUILD)/jark pvm test tests/pvm/vectors-extra > $(BUILD)/vectors-extra.log || { cat $(BUILD)/vectors-extra.log; echo "make test: jark pvm test tests/pvm/vectors-extra failed, or ran past $(VECTORS_TIMEOUT) s"; exit 1; }
	@$(VECTORS_RUN) $(BUILD)/jark pvm test --engine jit tests/pvm/vectors-extra > $(BUILD)/vectors-extra-jit.log || { cat $(BUILD)/vectors-extra-jit.log; echo "make test: jark pvm test --engine jit tests/pvm/vectors-extra failed, or ran past $(VECTORS_TIMEOUT) s"; exit 1; }
	@tail -n 1 $(BUILD)/vectors-extra-jit.log | sed 's/^/pvm corner vectors (tests\/pvm\/vectors-extra, interp and jit): /'
	JK_SHARED_DIR=$(SHARED) $(BUILD)/tests

asan:
	$(MAKE) BUILD=build/asan CC=clang OPT=-O1 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" test

# Per-area makefiles: benchmarks, fuzz targets, long-running checks. Each
# adds its benchmark targets to BENCH_TARGETS.
BENCH_TARGETS :=
-include $(sort $(wildcard bench/*.mk tests/*/*.mk))

bench: $(BENCH_TARGETS)

# Every benchmark binary, built but not run: CI builds them so that an API
# change cannot break a benchmark unnoticed.
BENCH_BUILD := $(BENCH_BIN) $(BENCH_OUT)/bench_c $(BENCH_CAP_BIN) $(BENCH_CHAIN_BIN) $(BENCH_GAS_BIN) \
               $(BENCH_KERNEL_BIN) $(BENCH_LEDGER_BIN) $(BUILD)/consensus-sim
.PHONY: bench-build
bench-build: $(BENCH_BUILD)

clean:
	rm -rf $(BUILD)

help:
	@echo "make            build build/libjark.a and build/jark"
	@echo "make test       unit tests, PVM vectors; ends with 'N passed, N failed'"
	@echo "make asan       the tests under AddressSanitizer + UBSan (clang)"
	@echo "make CC=clang   build with clang"
	@echo "make test-clang what decides results (vectors, golden roots, digests) from a clang build, compared with gcc's"
	@echo "make bench      benchmarks (BENCH lines); make bench-build only builds them"
	@echo "make bench-peers  jark next to an independent PVM (anan-as)"
	@echo "make fuzz       run the libFuzzer targets for a fixed time"

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# Install: the library, its headers, the SDK (its templates too, with the
# example chains beside it: `jark devnet` runs the demo by default), the jark
# binary and a pkg-config file.
# PREFIX/bin/jark finds PREFIX/share/jark/sdk by itself; an embedder sets
# JARK_SDK_DIR=$(pkg-config --variable=sdkdir jark). DESTDIR for packaging.
PREFIX  ?= /usr/local
.PHONY: install check-install
install: $(BUILD)/libjark.a $(BUILD)/jark
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/jark \
	  $(DESTDIR)$(PREFIX)/share/jark/sdk $(DESTDIR)$(PREFIX)/share/jark/examples
	install -m 755 $(BUILD)/jark $(DESTDIR)$(PREFIX)/bin/jark
	install -m 644 $(BUILD)/libjark.a $(DESTDIR)$(PREFIX)/lib/libjark.a
	install -m 644 include/jark/*.h $(DESTDIR)$(PREFIX)/include/jark/
	cp -R sdk/. $(DESTDIR)$(PREFIX)/share/jark/sdk/
	cp -R $(filter-out examples/driver,$(wildcard examples/*)) $(DESTDIR)$(PREFIX)/share/jark/examples/
	sed 's|@PREFIX@|$(PREFIX)|' scripts/jark.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/jark.pc

# Install into a scratch prefix, build examples/driver against it with
# pkg-config alone, run it on the installed demo spec, and check that the
# installed jark finds its SDK from anywhere, and a copied jark finds an
# SDK beside it. Removes the prefix after.
check-install:
	@rm -rf $(BUILD)/check-install
	@$(MAKE) --no-print-directory install PREFIX=$(abspath $(BUILD)/check-install) > /dev/null
	@P=$(abspath $(BUILD)/check-install); set -e; \
	  PKG_CONFIG_PATH=$$P/lib/pkgconfig $(MAKE) --no-print-directory -s -C examples/driver driver CC=$(CC) \
	    >/dev/null; mv examples/driver/driver $$P/driver; \
	  JARK_SDK_DIR=$$(PKG_CONFIG_PATH=$$P/lib/pkgconfig pkg-config --variable=sdkdir jark) \
	    $$P/driver $$P/share/jark/examples/demo/devnet-spec.json 2 | grep -q '^height 2$$'; \
	  cd /; env -u JARK_SDK_DIR $$P/bin/jark devnet --blocks 1 --events-per-block 2 | grep -q 'same state root at every height: yes'; \
	  env -u JARK_SDK_DIR $$P/bin/jark chain new $$P/mychain > /dev/null && \
	  env -u JARK_SDK_DIR $$P/bin/jark chain genesis $$P/mychain/spec.json | grep -q '^genesis '; \
	  mkdir $$P/copy && cp $$P/bin/jark $$P/copy/ && cp -r $$P/share/jark/sdk $$P/copy/sdk && \
	  printf '#include "jark.h"\nlong f(void) { return 7; }\nJK_ENDPOINT(0, f);\n' > $$P/copy/f.c && \
	  env -u JARK_SDK_DIR $$P/copy/jark cc $$P/copy/f.c -o $$P/copy/f.jkp && \
	  $$P/copy/jark pvm exec $$P/copy/f.jkp 2>&1 | grep -q 'status=halt r7=7 '; \
	  echo "check-install: libjark, headers, pkg-config, SDK and jark work from $$P"
	@rm -rf $(BUILD)/check-install

# The embedder example is built (against the tree's headers and library) by
# every `make test`, so an API change cannot leave it behind unnoticed;
# check-install builds it against an installed jark.
$(BUILD)/examples/driver: examples/driver/driver.c $(BUILD)/libjark.a $(wildcard include/jark/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) $< $(BUILD)/libjark.a $(LDFLAGS) $(LDLIBS) -o $@
test: $(BUILD)/examples/driver

# Determinism across compilers (.ci/run): what decides a result is checked
# from the clang build too — the PVM vectors on both engines, the tests that
# pin golden roots, block hashes, state roots and encodings' hashes — and
# the same seeded runs (simulator digests, devnet state roots with faults,
# the round-robin devnet on the recompiler) of the gcc and the clang build are
# compared line for line, wall-clock figures stripped: any difference is a
# bug. CLANG_SEEDS sets the simulator seeds per validator count.
CLANG_BUILD ?= build/clang
CLANG_SEEDS ?= 25
CLANG_TESTS ?= golden pinned same_roots cons_sim_same cons_sim_no_faults cons_sim_queue cons_cert \
               cap_codec chain_block chain_attest crypto demo_ledger_transfers pvm_vectors pvm_extra \
               devnet_consensus_with_faults
CLANG_RUNS  := "consensus-sim --seeds $(CLANG_SEEDS)" \
               "jark devnet --blocks 6 --seed 3 --drop 0.2 --dup 0.1 --partition --crash 1" \
               "jark devnet --blocks 6 --seed 5 --validators 7 --byzantine 2 --drop 0.1" \
               "jark devnet --blocks 4 --round-robin --engine jit"
.PHONY: test-clang
test-clang: $(BUILD)/jark $(BUILD)/consensus-sim
	@$(MAKE) --no-print-directory CC=clang BUILD=$(CLANG_BUILD) \
	  $(CLANG_BUILD)/jark $(CLANG_BUILD)/tests $(CLANG_BUILD)/consensus-sim
	@for e in interp jit; do \
	  $(CLANG_BUILD)/jark pvm test --engine $$e $(SHARED)/vectors/pvm/programs tests/pvm/vectors-extra \
	    > $(CLANG_BUILD)/vectors-$$e.log || { cat $(CLANG_BUILD)/vectors-$$e.log; exit 1; }; \
	  tail -n 1 $(CLANG_BUILD)/vectors-$$e.log | sed "s/^/clang: pvm vectors and corner vectors ($$e): /"; \
	done
	JK_SHARED_DIR=$(SHARED) $(CLANG_BUILD)/tests $(CLANG_TESTS)
	@set -e; export JARK_SDK_DIR=$(CURDIR)/sdk; for run in $(CLANG_RUNS); do \
	  for b in $(BUILD) $(CLANG_BUILD); do \
	    { $$b/$$run; echo "exit $$?"; } 2>&1 | \
	      sed -E 's/ [0-9.]+ ms$$//; s/ in [0-9.]+ s \([0-9]+ events\/s\)//; s|/tmp/jark-devnet-[A-Za-z0-9]+||' \
	      > $$b/cross.log; \
	  done; \
	  if ! cmp -s $(BUILD)/cross.log $(CLANG_BUILD)/cross.log; then \
	    echo "gcc and clang differ on: $$run"; diff $(BUILD)/cross.log $(CLANG_BUILD)/cross.log | head -20; exit 1; \
	  fi; \
	  if [ "$$(tail -n 1 $(BUILD)/cross.log)" != "exit 0" ]; then \
	    echo "failed under both compilers: $$run"; tail -n 5 $(BUILD)/cross.log; exit 1; \
	  fi; \
	  echo "gcc = clang: $$run: $$(grep -E 'digest|state root [0-9a-f]{64}' $(BUILD)/cross.log | tail -n 1 | \
	    sed -E 's/.*(digest|state root)/\1/')"; \
	done

# Every name libjark.a exports carries its layer's prefix (docs/library.md).
check-names: $(BUILD)/libjark.a
	@scripts/check-names.sh $(BUILD)
test: check-names
.PHONY: check-names
