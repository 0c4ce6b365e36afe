# Shared by start.sh and stop.sh (sourced, not run).

# True when pid $1 is a live process (not a zombie).
running() {
  local pid="$1" st
  [ -r "/proc/$pid/stat" ] || return 1
  st="$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
