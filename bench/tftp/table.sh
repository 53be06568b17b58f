#!/usr/bin/env bash
# Markdown table (median MB/s per case and server, all runs in brackets) from the
# harness's results.tsv: bash bench/tftp/table.sh /tmp/pxmb/results.tsv
set -euo pipefail
awk -F'\t' '
  $1 == "tftp" && $0 ~ /MB\/s=/ {
    mb = ""; for (i = 1; i <= NF; i++) if ($i ~ /^MB\/s=/) mb = substr($i, 6)
    if ($0 !~ /sha=ok/) mb = mb "!"            # wrong checksum: flagged
    name = $3; gsub(/\|/, " + ", name)       # "blksize 1468|windowsize 8": | would split the table
    k = name SUBSEP $2
    if (n[k]++) v[k] = v[k] " " mb; else v[k] = mb
    if (!($2 in seen)) { seen[$2] = 1; srv[++ns] = $2 }
    if (!(name in cseen)) { cseen[name] = 1; cs[++nc] = name }
  }
  function median(s,   a, m, i, j, t) {
    m = split(s, a, " ")
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (m % 2) ? a[(m + 1) / 2] : sprintf("%.1f", (a[m / 2] + a[m / 2 + 1]) / 2)
  }
  END {
    h = "| client, options |"; d = "|---|"
    for (i = 1; i <= ns; i++) { h = h " " srv[i] " |"; d = d "---|" }
    print h; print d
    for (c = 1; c <= nc; c++) {
      line = "| " cs[c] " |"
      for (i = 1; i <= ns; i++) {
        k = cs[c] SUBSEP srv[i]
        line = line ((k in n) ? " **" median(v[k]) "** (" v[k] ") |" : " - |")
      }
      print line
    }
  }' "$1"
