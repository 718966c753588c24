# Shared by the benchmark scripts (ab-bench, bench, bench-rtt, fanout-bench, memory-bench, scale-bench,
# restart-bench, spop-bench, stall-bench, wakeup-bench); not run on its own. Source it from the repository root:
#     cd "$(dirname "$0")/.."
#     . scripts/lib.sh
# It makes a fresh work directory `$work` (under `$work_parent` if set before sourcing, else
# $TMPDIR or /tmp), and at exit stops every server whose pid is in `pids` and removes `$work`.
# A server started through a command whose processes are not known in advance (a shell
# wrapper, a launcher that forks) goes in `trees` instead: its whole process tree is stopped.

work=$(mktemp -d "${work_parent:-${TMPDIR:-/tmp}}/tandem-bench.XXXXXX")
pids=()
trees=()

# Prints the pids of every process in the trees rooted at the pids given, roots included
# (one `ps` snapshot; a process that daemonized by forking twice is no longer in its tree).
tree_pids() { # root pid...
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
        { parent[$1] = $2 }
        END {
            do {
                grew = 0
                for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 }
            } while (grew)
            for (p in keep) if (p in parent) print p
        }'
}

# Whether the process exists and has not exited (an exited one waits as a zombie until its
# parent, or init for an orphan, reaps it).
running() { # pid
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

# Stops the servers in `pids` (SIGTERM, then waits for each) and every process of the trees
# in `trees` (SIGTERM to all of them at once, SIGKILL to any still there after 10 s), and
# empties both lists.
stop_all() {
    local pid members=()
    if [ ${#trees[@]} -gt 0 ]; then mapfile -t members < <(tree_pids "${trees[@]}"); fi
    for pid in "${pids[@]}" "${members[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}" "${trees[@]}"; do wait "$pid" 2>/dev/null || true; done
    for pid in "${members[@]}"; do
        for _ in $(seq 100); do running "$pid" || continue 2; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    pids=()
    trees=()
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
# log under $work and exits. Each try is cut off after 2 s: a proxy whose link cannot come up
# answers only at its request deadline, and redis-cli would wait for it.
wait_ready() { # port
    local log deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        timeout 2 redis-cli -p "$1" DBSIZE 2>/dev/null | grep -qE '^[0-9]+$' && return
        sleep 0.1
    done
    echo "server on port $1 did not start; its logs:" >&2
    while IFS= read -r log; do
        echo "--- $log" >&2
        tail -n 5 "$log" >&2
    done < <(find "$work" -name '*.log')
    exit 1
}
