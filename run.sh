#!/usr/bin/env bash
# Runs the gateway in the background with a pid file and a log file.
#   ./run.sh start | stop | restart | status | logs [-f]
#   DEMO=true ./run.sh start     # on the built-in Coze emulator, no token needed
set -euo pipefail
cd "$(dirname "$0")"

PID_FILE=${PID_FILE:-./logs/gateway.pid}
LOG_FILE=${LOG_FILE:-./logs/gateway.log}
mkdir -p "$(dirname "$PID_FILE")" "$(dirname "$LOG_FILE")"

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
port() { grep -E '^PORT=' .env 2>/dev/null | tail -1 | cut -d= -f2 || true; }

start() {
  if running; then echo "already running (pid $(cat "$PID_FILE"))"; return 0; fi
  [ -d node_modules ] || npm ci --no-audit --no-fund
  # build when dist/ is missing or older than any file in src/ (e.g. after a git pull)
  if [ ! -f dist/server.js ] || [ -n "$(find src -newer dist/server.js -print -quit 2>/dev/null)" ]; then npm run build; fi
  local args=()
  [ "${DEMO:-false}" = "true" ] && args+=(--demo)
  nohup node dist/server.js "${args[@]}" >>"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  local p=${PORT:-$(port)}; p=${p:-2026}
  for _ in $(seq 1 50); do
    if ! running; then echo "failed to start; last log lines:"; tail -n 20 "$LOG_FILE"; rm -f "$PID_FILE"; return 1; fi
    if curl -fsS "http://127.0.0.1:$p/health" >/dev/null 2>&1; then echo "started (pid $(cat "$PID_FILE")) on port $p"; return 0; fi
    sleep 0.2
  done
  echo "started (pid $(cat "$PID_FILE")), /health not answering yet; see ./run.sh logs"
}

stop() {
  if ! running; then echo "not running"; rm -f "$PID_FILE"; return 0; fi
  local pid; pid=$(cat "$PID_FILE")
  kill -TERM "$pid"
  for _ in $(seq 1 75); do running || break; sleep 0.2; done
  if running; then echo "still running after 15 s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$PID_FILE"
  echo "stopped"
}

status() {
  if running; then echo "running (pid $(cat "$PID_FILE"))"; else echo "not running"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  logs) shift; if [ "${1:-}" = "-f" ]; then tail -n 100 -f "$LOG_FILE"; else tail -n 100 "$LOG_FILE"; fi ;;
  *) echo "usage: $0 {start|stop|restart|status|logs [-f]}"; exit 2 ;;
esac
