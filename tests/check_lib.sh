# check_lib.sh - what the shell tests that run a command and read its
# message share; sourced (by limits.sh and fuzz_found.sh), with W (the work
# folder) set and counters `checks` and `failures` at 0.

fail() {
    echo "$(basename "$0" .sh): FAIL: $*"
    failures=$((failures + 1))
}

# check NAME WANT_STATUS TEXT CMD...: CMD exits WANT_STATUS within CHECK_SECONDS
# (default 60) and says TEXT (an empty TEXT: the status alone)
check() {
    local name=$1 want=$2 text=$3
    shift 3
    checks=$((checks + 1))
    timeout "${CHECK_SECONDS:-60}" "$@" >"$W/out" 2>&1
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit status $got, expected $want: $*"
        sed 's/^/    /' "$W/out" | head -10
    elif [ -n "$text" ] && ! grep -qF -- "$text" "$W/out"; then
        fail "$name: no '$text' in:"
        sed 's/^/    /' "$W/out" | head -10
    fi
}
