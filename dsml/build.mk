# dsml/: libdsml (static + shared + pkg-config) and the `dsml` command-line tool.
#
# Every dsml/*.c is part of the library; dsml/lexer.re is compiled with re2c into
# $(O)/gen/lexer.c. Every dsml/tool/*.c is part of the tool. Components that add commands
# needing extra libraries append to DSML_TOOL_LIBS.

RE2C       ?= re2c
RE2CFLAGS  := -W -Werror --no-generation-date --no-version -f -c

DSML_SRCS  := $(filter-out dsml/tool/%,$(wildcard dsml/*.c))
DSML_OBJS  := $(DSML_SRCS:%.c=$(O)/%.o) $(O)/gen/lexer.o
DSML_LIB   := $(O)/lib/libdsml.a
DSML_SO    := $(O)/lib/libdsml.so
DSML_PC    := $(O)/lib/pkgconfig/dsml.pc
DSML_TOOL_SRCS := $(wildcard dsml/tool/*.c)
DSML_TOOL_OBJS := $(DSML_TOOL_SRCS:%.c=$(O)/%.o)
DSML_TOOL_LIBS += -lm
DSML_BIN   := $(O)/bin/dsml
DSML_HEADERS := $(wildcard dsml/*.h)

LIBS += $(DSML_LIB) $(DSML_SO) $(DSML_PC)
BINS += $(DSML_BIN)
ALL_OBJS += $(DSML_OBJS) $(DSML_TOOL_OBJS)

$(O)/gen/lexer.c: dsml/lexer.re
	@mkdir -p $(@D)
	$(RE2C) $(RE2CFLAGS) -o $@ $<

$(O)/gen/lexer.o: $(O)/gen/lexer.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Idsml $(ALL_CFLAGS) -Wno-unused-label -c $< -o $@

$(DSML_LIB): $(DSML_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(DSML_SO): $(DSML_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libdsml.so.0 $(LDFLAGS) -o $@ $^ -lm

$(DSML_PC): dsml/build.mk
	@mkdir -p $(@D)
	@printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include/dsml\n\nName: dsml\nDescription: streaming parser, renderer and converters for DeepSeek DSML tool calls\nVersion: 0.1.0\nLibs: -L$${libdir} -ldsml\nLibs.private: -lm\nCflags: -I$${includedir}\n' "$(PREFIX)" > $@

$(DSML_BIN): $(DSML_TOOL_OBJS) $(DSML_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(DSML_TOOL_OBJS) $(DSML_LIB) $(DSML_TOOL_LIBS)

PREFIX ?= /usr/local
install: all ## install libdsml, headers, pkg-config file and binaries under PREFIX
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/dsml $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(DSML_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(DSML_SO) $(DESTDIR)$(PREFIX)/lib/libdsml.so.0
	ln -sf libdsml.so.0 $(DESTDIR)$(PREFIX)/lib/libdsml.so
	install -m 644 $(DSML_PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 $(DSML_HEADERS) $(DESTDIR)$(PREFIX)/include/dsml/
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

dsml: $(DSML_BIN) ## build the dsml tool only
