#!/bin/sh
# san_logs.sh DIR WHAT - fails when a sanitizer wrote a report into DIR.
#
# Sanitized runs set log_path=DIR/<tool>, so every report lands there as
# <tool>.<pid>, whether or not the test that started the process looked at
# its exit status.
dir=$1
what=$2
reports=$(find "$dir" -type f 2>/dev/null | sort)
if [ -n "$reports" ]; then
    for r in $reports; do
        echo "==== $r"
        head -60 "$r"
    done
    echo "$what: $(echo "$reports" | wc -l) report(s) in $dir"
    exit 1
fi
echo "$what: no reports"
