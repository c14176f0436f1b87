#!/usr/bin/env bash
# Regenerates the measured part of docs/BENCHMARKS.md (between the
# "bench:begin" and "bench:end" markers) from bench/results/summary.txt.
#   bench/report.sh SUMMARY DOC
set -euo pipefail
SUMMARY=$1 DOC=$2
v() { awk -v k="$1" '$1 == k {print $2; f = 1} END {if (!f) print "n/a"}' "$SUMMARY"; }
r() { awk -v a="$1" -v b="$2" 'BEGIN {if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a + 0 > 0) printf "%.2f", b / a; else printf "n/a"}'; }
TABLE=$(cat <<MD
| what | ours | knockd 0.8 | fwknop 2.6.10 | peer / ours | target |
| --- | --- | --- | --- | --- | --- |
| knock to open p50 (ms) | $(v open_ours_p50_ms) (8 knocks) | $(v open_knockd_p50_ms) (3 knocks) | $(v open_fwknop_p50_ms) (1 SPA) | $(r "$(v open_ours_p50_ms)" "$(v open_knockd_p50_ms)") / $(r "$(v open_ours_p50_ms)" "$(v open_fwknop_p50_ms)") | ≤ 5 |
| knock to open p99 (ms) | $(v open_ours_p99_ms) | $(v open_knockd_p99_ms) | $(v open_fwknop_p99_ms) | $(r "$(v open_ours_p99_ms)" "$(v open_knockd_p99_ms)") / $(r "$(v open_ours_p99_ms)" "$(v open_fwknop_p99_ms)") | |
| opened in part 1 | $(v open_ours_opened) | $(v open_knockd_opened) | $(v open_fwknop_opened) | | |
| real client \`knock --wait\` p50 (ms) | $(v open_client_wait_p50_ms) | | | | |
| real client exec to exit p50 (ms) | $(v client_exec_ours_wait_p50_ms) (\`--wait\`, open included; \`--dry-run\` $(v client_exec_ours_dry_run_p50_ms)) | $(v client_exec_knockd_p50_ms) (\`knock\`; to open $(v client_exec_knockd_to_open_p50_ms)) | $(v client_exec_fwknop_p50_ms) (\`fwknop\`; to open $(v client_exec_fwknop_to_open_p50_ms)) | | \`--wait\` ≤ \`--dry-run\` + 5 |
| real client exec to exit p99 (ms) | $(v client_exec_ours_wait_p99_ms) (\`--dry-run\` $(v client_exec_ours_dry_run_p99_ms)) | $(v client_exec_knockd_p99_ms) (to open $(v client_exec_knockd_to_open_p99_ms)) | $(v client_exec_fwknop_p99_ms) (to open $(v client_exec_fwknop_to_open_p99_ms)) | | |
| matcher, packets/s per core | $(v match_ours_pps_per_core) | n/a (no replay mode) | $(v match_fwknop_pps_per_core) | $(r "$(v match_fwknop_pps_per_core)" "$(v match_ours_pps_per_core)") (ours/fwknop) | ≥ 2,000,000 |
| matcher grants / planted | $(v match_ours_grants) | | $(v match_fwknop_grants) | | equal |
| under flood: valid knocks opened | $(v flood_ours_opened) | $(v flood_knockd_opened) | $(v flood_fwknop_opened) | | ≥ 99 % |
| under flood: flood rate (pps) | $(v flood_ours_flood_pps) | $(v flood_knockd_flood_pps) | $(v flood_fwknop_flood_pps) | | |
| under flood: open p50 (ms) | $(v flood_ours_open_p50_ms) | $(v flood_knockd_open_p50_ms) | $(v flood_fwknop_open_p50_ms) | | |
| under flood: daemon CPU (% of a core) | $(v flood_ours_cpu_pct) | $(v flood_knockd_cpu_pct) | $(v flood_fwknop_cpu_pct) | | |
| under flood: daemon CPU per flood packet (ns) | $(v flood_ours_ns_per_packet) | $(v flood_knockd_ns_per_packet) | $(v flood_fwknop_ns_per_packet) | | ≤ 100 |
| same, flood alone: 1 / 100 / 10,000 clients (ns) | $(v flood_ours_1_clients_ns_per_packet) / $(v flood_ours_100_clients_ns_per_packet) / $(v flood_ours_10000_clients_ns_per_packet) | | | | ≤ 100 up to 100 |
| same: ports the capture filter passes, of 16,384 | $(v flood_ours_1_clients_filter_ports) / $(v flood_ours_100_clients_filter_ports) / $(v flood_ours_10000_clients_filter_ports) | | | | |
| same: capture at 1 / 100 / 10,000 clients | $(v flood_ours_1_clients_capture) / $(v flood_ours_100_clients_capture) / $(v flood_ours_10000_clients_capture) | | | | no drops |
| same, matching alone (no capture, no wake-ups), per frame the filter passes: 1 / 100 / 10,000 clients (ns) | $(v flood_ours_1_clients_matching_ns_per_frame) / $(v flood_ours_100_clients_matching_ns_per_frame) / $(v flood_ours_10000_clients_matching_ns_per_frame) | | | | |
| under flood: peak RSS (kB) | $(v flood_ours_peak_rss_kb) | $(v flood_knockd_peak_rss_kb) | $(v flood_fwknop_peak_rss_kb) | | |
| under flood: capture drops | $(v flood_ours_capture) | n/a | n/a | | |
| $(v scale_clients) clients × 2 services: start (ms) | $(v scale_ours_start_ms) (matcher alone $(v scale_matcher_start_ms)) | $(v scale_knockd_start_ms) (2 doors per client) | $(v scale_fwknop_start_ms) (1 stanza per client) | | ≤ 1000 |
| same: RSS after start (kB) | $(v scale_ours_rss_kb) | $(v scale_knockd_rss_kb) | $(v scale_fwknop_rss_kb) | | |
| same: CPU per window roll (ms) | $(v scale_roll_cpu_ms) | | | | |
| max_sources 1,000,000, table full: RSS (kB) | $(v full_matcher_rss_kb) matcher, $(v full_replay_peak_rss_kb) \`knockd replay\` peak | | | | ≤ 131072 |
| sources tracked | $(v full_sources_tracked) | | | | |
| under attack, table fill + trickle: valid knocks opened | $(v attack_fill_ours_opened) | $(v attack_fill_knockd_opened) (first 2 of 3 ports) | n/a (no sequence) | | 100 % |
| same: capture drops / evictions | $(v attack_fill_ours_capture) / $(v attack_fill_ours_evictions) | n/a | n/a | | 0 drops |
| same: daemon CPU (% of a core) / peak RSS (kB) | $(v attack_fill_ours_cpu_pct) / $(v attack_fill_ours_peak_rss_kb) | $(v attack_fill_knockd_cpu_pct) / $(v attack_fill_knockd_peak_rss_kb) | n/a | | |
| under attack, blind fill, 1,000 clients: valid knocks opened | $(v attack_blind_ours_opened) | $(v attack_blind_knockd_opened) (1,000 doors) | n/a (TCP flood filtered) | | 100 % |
| same: capture drops / evictions | $(v attack_blind_ours_capture) / $(v attack_blind_ours_evictions) | n/a | n/a | | 0 drops |
| same: daemon CPU (% of a core) / peak RSS (kB) | $(v attack_blind_ours_cpu_pct) / $(v attack_blind_ours_peak_rss_kb) | $(v attack_blind_knockd_cpu_pct) / $(v attack_blind_knockd_peak_rss_kb) | n/a | | |
| under attack, replay flood: valid knocks opened | $(v attack_replay_ours_opened) (audit log on) | $(v attack_replay_knockd_opened) | $(v attack_replay_fwknop_opened) | | 100 % |
| same: flood rate (pps) | $(v attack_replay_ours_flood_pps) | $(v attack_replay_knockd_flood_pps) | $(v attack_replay_fwknop_flood_pps) | | |
| same: replays refused / forged sources opened | $(v attack_replay_ours_replays_refused) refused, $(v attack_replay_ours_audit_records) audit records | $(v attack_replay_knockd_spoofed_opened) forged sources opened | $(v attack_replay_fwknop_replays_refused) refused | | 0 opened |
| same: capture drops | $(v attack_replay_ours_capture) | n/a | n/a | | 0 |
| same: daemon CPU (% of a core) / peak RSS (kB) | $(v attack_replay_ours_cpu_pct) / $(v attack_replay_ours_peak_rss_kb) | $(v attack_replay_knockd_cpu_pct) / $(v attack_replay_knockd_peak_rss_kb) | $(v attack_replay_fwknop_cpu_pct) / $(v attack_replay_fwknop_peak_rss_kb) | | |

Machine: $(v machine), $(v cpu | tr '_' ' '), kernel $(v kernel), load average at the end $(v load_at_end), $(v date).
MD
)
awk -v table="$TABLE" '
  /<!-- bench:begin -->/ {print; print table; skip = 1; next}
  /<!-- bench:end -->/ {skip = 0}
  !skip {print}' "$DOC" >"$DOC.new"
mv "$DOC.new" "$DOC"
