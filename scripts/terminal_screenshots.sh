#!/usr/bin/env bash
# Screenshots of the review screen in real terminals (xterm -ti vt340, mlterm, kitty) under Xvfb.
#
# For people, not CI: needs Xvfb, the terminals, xdotool and ImageMagick
#   apt-get install -y xvfb xterm mlterm kitty imagemagick x11-apps xdotool
# Usage: scripts/terminal_screenshots.sh [OUT_DIR] [TERMINAL...]   (default: shots/, all three)
# Writes OUT_DIR/<terminal>-ultrasound.png, -after-t.png, -small.png and the mode auto chose
# (read from the status line) in OUT_DIR/<terminal>-mode.txt. Each terminal gets a fresh demo copy.
# When xterm is among them, also xterm at exact sizes (-geometry COLSxROWS):
#   xterm-halfcell-t-120x40.png, -t-next-120x40.png, xterm-halfcell-t-80x24.png, -t-next-80x24.png:
#       t in half-cell blocks (the first line, then > the next: each whole, in stacked parts when wide)
#   xterm-sixel-toast.png:  M on the ultrasound in sixel: the toast beside the picture, not under it
#   xterm-100x30.png:       the README's size, the ultrasound row in sixel
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-shots}"); shift || true
terminals=("$@"); [ ${#terminals[@]} -eq 0 ] && terminals=(xterm mlterm kitty)
mkdir -p "$out"
work=$(mktemp -d); trap 'kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
export DISPLAY=${SHOT_DISPLAY:-:97}
Xvfb "$DISPLAY" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
sleep 1
"$here/.venv/bin/phi-review" demo "$work/base" --no-screen >/dev/null

wait_window() {  # class -> window id
  local wid=""
  for _ in $(seq 100); do
    wid=$(xdotool search --onlyvisible --class "$1" 2>/dev/null | head -1 || true)
    [ -n "$wid" ] && { echo "$wid"; return; }
    sleep 0.2
  done
  echo "no $1 window" >&2; return 1
}

keys() { xdotool windowfocus --sync "$1" 2>/dev/null || true; shift; xdotool "$@"; }

for term in "${terminals[@]}"; do
  rm -rf "$work/$term"; cp -r "$work/base" "$work/$term"
  report=$(ls "$work/$term"/*.xlsx | head -1)
  run="cd '$work/$term' && PHI_REVIEW_PROBE_TIMEOUT=3 exec '$here/.venv/bin/phi-review' review '$report'"
  case $term in
    xterm) xterm -ti vt340 -xrm 'XTerm*numColorRegisters: 256' \
             -fa 'DejaVu Sans Mono' -fs 10 -geometry 150x44+0+0 -e bash -c "$run" & class=XTerm ;;
    mlterm) mlterm --geometry 150x44+0+0 --fontsize 13 -e bash -c "$run" & class=mlterm ;;
    kitty) LIBGL_ALWAYS_SOFTWARE=1 kitty -o font_size=10 -o initial_window_width=150c \
             -o initial_window_height=44c -o remember_window_size=no bash -c "$run" & class=kitty ;;
    *) echo "unknown terminal $term" >&2; continue ;;
  esac
  pid=$!
  wid=$(wait_window "$class")
  sleep 6                                    # probe, demo index, first preview
  keys "$wid" type "/"                       # filter to the ultrasound row
  sleep 1
  keys "$wid" type --delay 80 "US_00001"
  keys "$wid" key Return
  sleep 12                                   # the row loads and its burned-in text is read
  import -window "$wid" "$out/$term-ultrasound.png"
  keys "$wid" type t
  sleep 3
  import -window "$wid" "$out/$term-after-t.png"
  xdotool windowsize "$wid" 660 420 2>/dev/null || true   # a small window (about 80x24)
  sleep 3
  keys "$wid" type p                         # at 80x24 p swaps the header for the preview
  sleep 4
  import -window "$wid" "$out/$term-small.png"
  keys "$wid" type q
  sleep 2
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$term: $out/$term-*.png"
done

# ----- xterm at exact sizes: t in half-cell, a toast beside a sixel picture, 100x30 ----------------
shoot() {  # name COLSxROWS graphics then steps: a key to type, "shot:SUFFIX", or "wait:SECONDS"
  local name=$1 geometry=$2 graphics=$3; shift 3
  rm -rf "$work/$name"; cp -r "$work/base" "$work/$name"
  local report; report=$(ls "$work/$name"/*.xlsx | head -1)
  local run="cd '$work/$name' && PHI_REVIEW_PROBE_TIMEOUT=3 exec '$here/.venv/bin/phi-review' review '$report' --graphics $graphics"
  xterm -ti vt340 -xrm 'XTerm*numColorRegisters: 256' -fa 'DejaVu Sans Mono' -fs 10 -geometry "$geometry+0+0" \
    -e bash -c "$run" &
  local pid=$! wid
  wid=$(wait_window XTerm)
  sleep 6
  keys "$wid" type "/"; sleep 1
  keys "$wid" type --delay 80 "US_00001"; keys "$wid" key Return
  sleep 12                                   # the row loads and its burned-in text is read
  for step in "$@"; do
    case $step in
      shot:*) import -window "$wid" "$out/$name${step#shot:}.png" ;;
      wait:*) sleep "${step#wait:}" ;;
      *) keys "$wid" type "$step"; sleep 3 ;;
    esac
  done
  keys "$wid" type q; sleep 2
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  echo "$name: $out/$name*.png"
}

if [[ " ${terminals[*]} " == *" xterm "* ]]; then
  shoot xterm-halfcell-t 120x40 halfcell t shot:-120x40 ">" shot:-next-120x40
  shoot xterm-halfcell-t 80x24 halfcell t shot:-80x24 ">" shot:-next-80x24
  shoot xterm-sixel-toast 120x40 sixel M wait:0.5 shot:
  shoot xterm-100x30 100x30 sixel shot:
fi
