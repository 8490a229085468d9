# fuzz.mk — libFuzzer targets (clang-19). `make fuzz` runs each target for
# FUZZ_SECONDS (default 60) with ASan + UBSan + LeakSanitizer, starting from
# tests/fuzz/corpus/<target>/ and writing new inputs under $(BUILD)/fuzz/.
# Any crash, leak or sanitizer report fails the target; copy the reproducer
# into tests/fuzz/corpus/<target>/ with the fix, so `make test` replays it.
FUZZ_CC      ?= clang-19
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := pvm asm
FUZZ_FLAGS   := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DJK_FUZZ_LIBFUZZER
# The library (and the fake RPC node fuzz_rpc answers from) is built ONCE with
# the sanitizers and libFuzzer's coverage hooks (fuzzer-no-link: no main) into
# $(BUILD)/fuzz/libjark-fuzz.a, and every target links it: a target costs one
# compile of its own file, not a rebuild of the library.
FUZZ_LIB_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -DJK_FUZZ_LIBFUZZER
FUZZ_LIB_SRC := $(LIB_SRC) tests/rpc/rpc_fake.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_LIB     := $(BUILD)/fuzz/libjark-fuzz.a
FUZZ_TARGETS += sdk

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_LIB_FLAGS) $(WARN) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) $(wildcard tests/fuzz/*.h tests/rpc/*.h src/*/*.h include/jark/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_FLAGS) $(WARN) $< $(FUZZ_LIB) $(LDLIBS) -o $@

-include $(FUZZ_LIB_OBJ:.o=.d)

# Other .mk files add targets with FUZZ_TARGETS += name; the list is read
# when the recipe runs, after every makefile has been included.
fuzz:
	@$(MAKE) --no-print-directory $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/fuzz_$(t))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t && cp -n tests/fuzz/corpus/$$t/* $(BUILD)/fuzz/corpus-$$t/ 2>/dev/null; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  if ! $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$$(case $$t in sdk) echo 65536;; *) echo 4096;; esac) \
	      -timeout=10 -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus-$$t > $(BUILD)/fuzz/$$t.log 2>&1; then \
	    tail -n 40 $(BUILD)/fuzz/$$t.log; echo "fuzz: $$t FAILED (reproducer under $(BUILD)/fuzz/$$t-*)"; exit 1; \
	  fi; \
	  tail -n 1 $(BUILD)/fuzz/$$t.log; \
	done
	@echo "fuzz: no crash, leak or sanitizer report"
