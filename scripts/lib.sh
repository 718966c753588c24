# Shared by the benchmark scripts (ab-bench, bench, fanout-bench, memory-bench, scale-bench,
# spop-bench, stall-bench, wakeup-bench); not run on its own. Source it from the repository root:
#     cd "$(dirname "$0")/.."
#     . scripts/lib.sh
# It makes a fresh work directory `$work` (under `$work_parent` if set before sourcing, else
# $TMPDIR or /tmp), and at exit stops every server whose pid is in `pids` and removes `$work`.

work=$(mktemp -d "${work_parent:-${TMPDIR:-/tmp}}/tandem-bench.XXXXXX")
pids=()

# Stops the servers in `pids` (SIGTERM, then waits for each) and empties the list.
stop_all() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

# Exits with a message naming the package unless every tool given is on the PATH.
need() { # tool...
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "$tool not found: run scripts/test once, or apt-get install redis-server redis-tools python3" >&2
            exit 1
        }
    done
}

# Prints a TCP port nothing listens on, other than the ports given: pick every port of a
# run before starting any server, so one probed free cannot be picked twice.
free_port() { # [taken port...]
    local port taken
    while :; do
        # Below the kernel's ephemeral range (32768 and up): a client's local port there
        # can make a later bind fail although nothing listens on it.
        port=$((20000 + RANDOM % 12000))
        for taken in "$@"; do [ "$port" = "$taken" ] && continue 2; done
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

# Waits (up to 30 s) until the server on the port answers a storage-bound command (DBSIZE),
# so for tandem the proxy's link to storaged is up too. Otherwise prints the tail of every
# log under $work and exits.
wait_ready() { # port
    local log
    for _ in $(seq 300); do
        redis-cli -p "$1" DBSIZE 2>/dev/null | grep -qE '^[0-9]+$' && return
        sleep 0.1
    done
    echo "server on port $1 did not start; its logs:" >&2
    while IFS= read -r log; do
        echo "--- $log" >&2
        tail -n 5 "$log" >&2
    done < <(find "$work" -name '*.log')
    exit 1
}
