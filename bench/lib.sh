# Shared by bench/run.sh and bench/bundle.sh: one measured run, and the median of several.

measure() { # dir, name, command...: one run under /usr/bin/time -v; its stdout in dir/name.out,
            # "wall_seconds max_rss_kib" appended to dir/name.runs
    local dir=$1 name=$2; shift 2
    /usr/bin/time -v "$@" > "$dir/$name.out" 2> "$dir/$name.time"
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1;i<=n;i++) s=s*60+p[i]; w=s}
                /Maximum resident set size/ {r=$2} END {print w, r}' "$dir/$name.time" >> "$dir/$name.runs"
}

median() { # file, column: the median of that column
    sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}

duckdb_python() { # dir of bench/: the Python of bench/.venv, with DuckDB installed if needed
    if [ ! -x "$1/.venv/bin/python" ] || ! "$1/.venv/bin/python" -c 'import duckdb' 2>/dev/null; then
        python3 -m venv "$1/.venv"
        "$1/.venv/bin/pip" install -q duckdb >&2
    fi
    echo "$1/.venv/bin/python"
}

config_head() { # repo: the start of a benchmark config, up to its sources' first list
    printf 'organization: Benchmark\nreport:\n  period: { start: 2026-07-01, end: 2026-09-30 }\n'
    printf 'sources:\n  mlflow:\n    - path: %s/sample-evidence/mlflow/mlflow.db\n' "$1"
}
