# Shared by scripts/*: where things are built and how C programs link them.
EMBEDDED_SCRATCH=.build-embedded
EMBEDDED_DIR=$EMBEDDED_SCRATCH/release
CC=${CC:-cc}
CFLAGS_HARNESS=${CFLAGS_HARNESS:--O2 -g -Wall -Wextra -Werror}

# Debian packages the scripts need; a fresh machine has none of them.
ensure_package() { # PACKAGE...
    echo "installing $*"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq "$@" >/dev/null
    fi
}

# Installs Debian package DEB (and pkg-config) unless pkg-config knows PC.
ensure_deb() { # PC DEB
    pkg-config --exists "$1" 2>/dev/null || ensure_package "$2" pkg-config
}

# What the engine links besides libc: liburcu, and elfutils' libelf
# (lp_func_register_object).
ensure_liburcu() {
    ensure_deb liburcu-memb liburcu-dev
    ensure_deb libelf libelf-dev
}

build_embedded() {
    # Its progress lines ([n/m] ...) show, so that a first build (about two
    # minutes) is not silent. The archive is rebuilt whole: SwiftPM adds to an
    # existing one, which would keep the objects of source files since moved
    # or removed (duplicate symbols at the link).
    rm -f "$EMBEDDED_DIR/liblivepatch.a"
    LP_EMBEDDED=1 swift build -c release --scratch-path "$EMBEDDED_SCRATCH" 2>&1 | grep -v '^\[[0-9]*/[0-9]*\] Write'
    # swift build's status, not grep's: after a failed build the libraries of
    # an earlier one are still there and would pass the test below.
    [ "${PIPESTATUS[0]}" -eq 0 ] && [ -f "$EMBEDDED_DIR/liblivepatch.a" ] && [ -f "$EMBEDDED_DIR/liblivepatch-shared.so" ] \
        || return 1
    # The shared library's SONAME is liblivepatch.so.MAJOR (what scripts/install
    # names it): the name a program linked in-tree asks the loader for.
    ln -sfn liblivepatch-shared.so "$EMBEDDED_DIR/liblivepatch.so.$(lp_version | cut -d. -f1)"
}

# The library's version: VERSION, which Package.swift reads for the SONAME.
lp_version() { tr -d '[:space:]' < VERSION; }

# The link lines of the README, as commands.
cc_static_cmd() { # SRC OUT [extra flags]
    local src=$1 out=$2; shift 2
    echo "$CC $CFLAGS_HARNESS $* $src -I CInclude $EMBEDDED_DIR/liblivepatch.a $(pkg-config --libs liburcu-memb liburcu-cds) -lelf -lpthread -o $out"
}
cc_shared_cmd() { # SRC OUT
    echo "$CC $CFLAGS_HARNESS $1 -I CInclude -L $EMBEDDED_DIR -llivepatch-shared -lpthread -o $2"
}
