#!/usr/bin/env bash
# Convert every book in a folder into an audiobook, incrementally: the shell twin of examples/Makefile.
#
#   convert-all.sh BOOKS_DIR OUT_DIR [extra voxcli convert options...]
#   convert-all.sh ~/books ~/audiobooks -v espeak:en-us --format wav,mp3
#   VOXCLI="python -m voxcli" convert-all.sh ~/books ~/audiobooks
#
# BOOKS_DIR/NAME.epub (or .txt, .md) becomes OUT_DIR/NAME/. A book is skipped when
# OUT_DIR/NAME/.converted (touched once voxcli finished the whole book; the Makefile uses the same
# stamp) is newer than the book. Otherwise voxcli runs, and itself re-speaks only what changed.
# One line per book on stdout (voxcli's own messages go to stderr); a failing book does not stop
# the others, but the script then exits 1 and names it. Ctrl-C stops after voxcli has saved its work.
# Names with spaces are fine. VOXCLI is split on spaces, so its own path must not contain any.
set -euo pipefail

me=${0##*/}
if [ $# -lt 2 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    echo "usage: $me BOOKS_DIR OUT_DIR [extra voxcli convert options...]" >&2
    exit 2
fi
books_dir=${1%/}
out_dir=${2%/}
shift 2
if [ ! -d "$books_dir" ]; then
    echo "$me: $books_dir is not a folder" >&2
    exit 2
fi
read -r -a voxcli <<< "${VOXCLI:-voxcli}"
if [ ${#voxcli[@]} -eq 0 ] || ! command -v "${voxcli[0]}" > /dev/null; then
    echo "$me: ${VOXCLI:-voxcli}: command not found (install voxcli, or set VOXCLI)" >&2
    exit 2
fi

shopt -s nullglob
converted=0
current=0
failed=()
total=0
for book in "$books_dir"/*.epub "$books_dir"/*.txt "$books_dir"/*.md; do
    [ -f "$book" ] || continue
    total=$((total + 1))
    file=${book##*/}
    name=${file%.*}
    dir=$out_dir/$name
    stamp=$dir/.converted
    twins=0
    for ext in epub txt md; do
        if [ -f "$books_dir/$name.$ext" ]; then twins=$((twins + 1)); fi
    done
    if [ "$twins" -gt 1 ]; then
        echo "$file: failed (another book named $name would share $dir)"
        failed+=("$file")
        continue
    fi
    if [ -f "$stamp" ] && [ "$stamp" -nt "$book" ]; then
        echo "$file: up to date"
        current=$((current + 1))
        continue
    fi
    # The stamp gets the time the run started: a book edited during its run is converted again.
    started=$out_dir/.$name.started
    mkdir -p "$out_dir"
    touch "$started"
    status=0
    "${voxcli[@]}" --quiet convert "$book" -o "$dir" "$@" < /dev/null || status=$?
    if [ "$status" -eq 0 ]; then
        mv -f "$started" "$stamp"
        echo "$file: converted"
        converted=$((converted + 1))
    elif [ "$status" -ge 128 ]; then  # interrupted (130: Ctrl-C, 143: SIGTERM): stop here
        rm -f "$started"
        echo "$file: interrupted (exit $status)"
        exit "$status"
    else
        rm -f "$started"
        echo "$file: failed (exit $status)"
        failed+=("$file")
    fi
done

if [ "$total" -eq 0 ]; then
    echo "$me: no books (*.epub, *.txt, *.md) in $books_dir" >&2
    exit 0
fi
echo "$total book(s): $converted converted, $current up to date, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
    echo "$me: these books failed (voxcli's messages above say why):" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
