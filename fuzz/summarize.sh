#!/usr/bin/env bash
# Prints the Markdown table of FUZZING.md from the campaign's logs
# (fuzz/logs/<target>.log, written by `make fuzz`).
set -euo pipefail
cd "$(dirname "$0")"
echo "| target | executions | seconds | exec/s | corpus (units) | coverage (cov / ft) | peak RSS | result |"
echo "|---|---|---|---|---|---|---|---|"
for log in logs/*.log; do
  t=$(basename "$log" .log)
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  runs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  rss=$(stat peak_rss_mb)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \/ \2/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  if grep -qE '^==[0-9]+== ERROR|deadly signal|panicked at|Test unit written' "$log"; then
    result="**stopped** (see fuzz/artifacts/$t)"
  else
    result="no crash, timeout or OOM"
  fi
  echo "| \`$t\` | ${runs:-?} | ${secs:-?} | ${rate:-?} | ${corp:-?} | ${cov:-?} | ${rss:-?} MB | $result |"
done
