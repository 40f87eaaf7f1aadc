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
