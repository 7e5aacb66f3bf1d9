# Build with GNU make.  Objects are shared between instances; only auto.o
# (which carries conf-home and friends) and the links differ per instance.
#
#   make                       build for conf-home into build/default
#   make SAN=1                 AddressSanitizer+UBSan build (what tests run)
#   make O=dir QMAILHOME=/x    build an instance whose home is /x into dir
#   make check                 unit and end-to-end tests (as root: real users)
#   make install               install/instance $(QMAILHOME)
#   make fuzz                  run the fuzz targets for a bounded time

QMAILHOME ?= $(shell head -n 1 conf-home)
SPLIT     := $(shell head -n 1 conf-split)
BREAK     := $(shell head -n 1 conf-break)
SPAWN     := $(shell head -n 1 conf-spawn)
CONF_USERS ?= conf-users
user = $(shell awk '$$1 == "$(1)" { print $$2 }' $(CONF_USERS))

ifeq ($(SAN),1)
VARIANT  := san
OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
else
VARIANT  := rel
OPTFLAGS := -O2 -g -D_FORTIFY_SOURCE=2
LDSAN    :=
endif

CC      ?= cc
WARN    := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
           -Wno-unused-parameter
CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) $(OPTFLAGS) -fstack-protector-strong -fPIE -iquote src/lib
LDFLAGS := -pie -Wl,-z,relro,-z,now $(LDSAN)
LIBS    := -lcdb -lresolv -lm
# qmail-smtpd is exec'd for every SMTP connection: in the release build it
# is linked static-pie (still PIE, full RELRO, FORTIFY), which spares the
# dynamic loader's work, about 0.1-0.25 ms of CPU per connection here.  It
# uses nothing of glibc that loads modules at run time (NSS, iconv).  The
# price: a glibc security update reaches it only when it is rebuilt
# (install/instance again).  `make STATIC_PROGS=` links it dynamically.
STATIC_PROGS ?= qmail-smtpd
ifeq ($(SAN),1)
STATIC_PROGS :=
endif

BUILD ?= build
OBJ := $(BUILD)/$(VARIANT)/obj
O   ?= $(BUILD)/$(VARIANT)/default

LIBSRC  := $(filter-out src/lib/auto.c,$(wildcard src/lib/*.c))
LIBOBJ  := $(patsubst src/lib/%.c,$(OBJ)/lib/%.o,$(LIBSRC))
# every src/NAME.c is the program NAME (code shared by programs lives in
# src/lib); PROGS may be narrowed on the command line
PROGS   ?= $(patsubst src/%.c,%,$(wildcard src/*.c))
SCRIPTS ?= $(patsubst src/%.sh,%,$(wildcard src/*.sh))

UNITSRC := $(wildcard tests/unit/*_test.c)
UNITS   := $(patsubst tests/unit/%.c,$(OBJ)/unit/%,$(UNITSRC))

.PHONY: all check unit install clean fuzz progs FORCE
.SECONDARY:

all: progs

progs: $(addprefix $(O)/,$(PROGS) $(SCRIPTS))

$(OBJ)/lib/%.o: src/lib/%.c $(wildcard src/lib/*.h) | $(OBJ)/lib
	$(CC) $(CFLAGS) -c -o $@ $<

$(OBJ)/%.o: src/%.c $(wildcard src/lib/*.h) | $(OBJ)/lib
	$(CC) $(CFLAGS) -c -o $@ $<

$(OBJ)/libq.a: $(LIBOBJ)
	rm -f $@ && ar rcs $@ $^

$(OBJ)/lib $(O) $(OBJ)/unit:
	mkdir -p $@

# auto.o is rebuilt whenever the settings that go into it change
$(O)/auto.settings: FORCE | $(O)
	@printf '%s\n' '$(QMAILHOME)' '$(SPLIT)' '$(BREAK)' '$(SPAWN)' '$(call user,alias)' \
	  '$(call user,qmaild)' '$(call user,qmaill)' '$(call user,qmailp)' '$(call user,qmailq)' \
	  '$(call user,qmailr)' '$(call user,qmails)' '$(call user,group.qmail)' \
	  '$(call user,group.nofiles)' '$(VARIANT)' > $@.new
	@if cmp -s $@ $@.new; then rm -f $@.new; else mv $@.new $@; fi
FORCE:

$(O)/auto.o: src/lib/auto.c src/lib/auto.h $(O)/auto.settings
	$(CC) $(CFLAGS) -c -o $@ $< \
	  -DAUTO_QMAIL='"$(QMAILHOME)"' -DAUTO_SPLIT=$(SPLIT) -DAUTO_BREAK='"$(BREAK)"' \
	  -DAUTO_SPAWN=$(SPAWN) \
	  -DAUTO_USER_ALIAS='"$(call user,alias)"' -DAUTO_USER_QMAILD='"$(call user,qmaild)"' \
	  -DAUTO_USER_QMAILL='"$(call user,qmaill)"' -DAUTO_USER_QMAILP='"$(call user,qmailp)"' \
	  -DAUTO_USER_QMAILQ='"$(call user,qmailq)"' -DAUTO_USER_QMAILR='"$(call user,qmailr)"' \
	  -DAUTO_USER_QMAILS='"$(call user,qmails)"' -DAUTO_GROUP_QMAIL='"$(call user,group.qmail)"' \
	  -DAUTO_GROUP_NOFILES='"$(call user,group.nofiles)"'

$(O)/%: $(OBJ)/%.o $(OBJ)/libq.a $(O)/auto.o
	$(CC) $(LDFLAGS) -o $@ $< $(O)/auto.o $(OBJ)/libq.a $(LIBS)

$(addprefix $(O)/,$(STATIC_PROGS)): LDFLAGS := -static-pie -Wl,-z,relro,-z,now
# libraries only one program needs are linked into that program only:
# checkpassword verifies crypt(3) hashes (libxcrypt, Debian's libcrypt-dev)
$(O)/checkpassword: LIBS += -lcrypt

$(O)/%: src/%.sh $(O)/auto.settings
	sed -e 's|@QMAILHOME@|$(QMAILHOME)|g' -e 's|@SPLIT@|$(SPLIT)|g' $< > $@.new && chmod 755 $@.new && mv $@.new $@

# unit tests link the library with a fixed test configuration (their own
# auto.o), so results never depend on conf-*, O= or QMAILHOME=, and a test
# can never reach a real installation: QMAILHOME does not exist.
UNITAUTO := -DAUTO_QMAIL='"/nonexistent/qmail-unit"' -DAUTO_SPLIT=23 -DAUTO_BREAK='"-"' \
  -DAUTO_SPAWN=120 -DAUTO_USER_ALIAS='"alias"' -DAUTO_USER_QMAILD='"qmaild"' \
  -DAUTO_USER_QMAILL='"qmaill"' -DAUTO_USER_QMAILP='"qmailp"' -DAUTO_USER_QMAILQ='"qmailq"' \
  -DAUTO_USER_QMAILR='"qmailr"' -DAUTO_USER_QMAILS='"qmails"' -DAUTO_GROUP_QMAIL='"qmail"' \
  -DAUTO_GROUP_NOFILES='"nofiles"'

$(OBJ)/unit/auto.o: src/lib/auto.c src/lib/auto.h Makefile | $(OBJ)/unit
	$(CC) $(CFLAGS) -c -o $@ $< $(UNITAUTO)

$(OBJ)/unit/%_test: tests/unit/%_test.c tests/unit/t.h $(OBJ)/libq.a $(OBJ)/unit/auto.o | $(OBJ)/unit
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(OBJ)/unit/auto.o $(OBJ)/libq.a $(LIBS)

unit: $(UNITS)

check:
	$(MAKE) SAN=1 unit progs
	tests/run

install:
	install/instance $(QMAILHOME)

fuzz:
	tests/fuzz/run

clean:
	rm -rf build
