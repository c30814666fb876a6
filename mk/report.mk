# mk/report.mk: issue 3's build pieces: the HTML report's assets embedded as C strings, and
# the test-only profile generator (tests/tools/mkprofile.c) used by e2e tests and bench/.

# tests/tools/mkprofile: sanitizer build for the tests, release build for the benchmark.
$(BUILD)/san/tools/mkprofile: tests/tools/mkprofile.c $(BUILD)/san/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(SAN_FLAGS) -o $@ $< $(BUILD)/san/libferret.a $(LDLIBS)
$(BUILD)/rel/tools/mkprofile: tests/tools/mkprofile.c $(BUILD)/rel/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(REL_FLAGS) -o $@ $< $(BUILD)/rel/libferret.a $(LDLIBS)
E2E_DEPS += $(BUILD)/san/tools/mkprofile

# The HTML report's template (src/report/report.html) as a C string in build/gen. '?' is
# escaped so JavaScript's '??' can never become a C trigraph.
$(BUILD)/gen/report_html.h: src/report/report.html mk/report.mk
	@mkdir -p $(@D)
	{ echo '/* generated from src/report/report.html by mk/report.mk: do not edit */'; \
	  echo 'static const char report_html_template[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@
CPPFLAGS += -I$(BUILD)/gen
$(BUILD)/obj/rel/src/report/htmlpage.o $(BUILD)/obj/san/src/report/htmlpage.o: $(BUILD)/gen/report_html.h
$(BUILD)/obj/fuzz/src/report/htmlpage.o: $(BUILD)/gen/report_html.h
