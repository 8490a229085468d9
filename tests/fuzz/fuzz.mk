# fuzz.mk — libFuzzer targets (clang-19). `make fuzz` runs each target for
# FUZZ_SECONDS (default 60) with ASan + UBSan + LeakSanitizer, starting from
# tests/fuzz/corpus/<target>/ and writing new inputs under $(BUILD)/fuzz/.
# Any crash, leak or sanitizer report fails the target; copy the reproducer
# into tests/fuzz/corpus/<target>/ with the fix, so `make test` replays it.
FUZZ_CC      ?= clang-19
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := pvm asm
FUZZ_FLAGS   := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DJK_FUZZ_LIBFUZZER
FUZZ_LIB_SRC := $(LIB_SRC)
FUZZ_TARGETS += sdk

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRC) $(wildcard src/*/*.h src/*/*.inc include/jark/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_FLAGS) $(WARN) $< $(FUZZ_LIB_SRC) $(LDLIBS) -o $@

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
