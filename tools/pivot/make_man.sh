#!/bin/sh
# Writes pivot's man page: help2man over `pivot --help`, each command's own
# --help as a section, and the sections of pivot.h2m.
#
#   make_man.sh PIVOT_BINARY PIVOT_H2M OUTPUT
set -eu
pivot=$1 include=$2 out=$3
sections=$(mktemp)
trap 'rm -f "$sections"' EXIT
cat "$include" > "$sections"
printf '\n[COMMANDS]\n' >> "$sections"
for cmd in $("$pivot" --help | awk '/^Subcommands:/ { on = 1; next } on && !NF { exit } on { print $1 }'); do
  printf '.SS "pivot %s"\n.nf\n' "$cmd" >> "$sections"
  # Backslashes and leading dots would be roff requests.
  "$pivot" "$cmd" --help | sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/' >> "$sections"
  printf '.fi\n' >> "$sections"
done
help2man --no-info --section=1 \
  --name="ask a running system new questions (Pivot Tracing for C++)" \
  --include="$sections" --output="$out" "$pivot"
