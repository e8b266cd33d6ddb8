#!/bin/sh
# demo-app: writes JSON log lines like a small shop's checkout and payment
# services (zap- and logrus-style), for the docker-compose demo. Each order is
# one trace: a checkout line and a payment line share its trace id. Some
# payment lines carry a test card number (4111 1111 1111 1111, a Visa test
# number) so Kibana shows it redacted; now and then a line is not JSON at all.
# The file is rotated by rename at MAX_BYTES, like logrotate's default.
set -eu

LOG_FILE="${LOG_FILE:-/var/log/demo/app.log}"
MAX_BYTES="${MAX_BYTES:-5000000}"
INTERVAL="${INTERVAL:-0.5}"

mkdir -p "$(dirname "$LOG_FILE")"

# hex N: N random bytes as lower-case hex.
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

n=0
while :; do
	n=$((n + 1))
	trace=$(hex 16)
	ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	order="A-$n"
	{
		printf '{"level":"info","ts":"%s","msg":"checkout started","service":"checkout","trace_id":"%s","span_id":"%s","order_id":"%s","items":%d}\n' \
			"$ts" "$trace" "$(hex 8)" "$order" $((n % 5 + 1))
		case $((n % 10)) in
		3)
			printf '{"level":"error","time":"%s","msg":"payment declined","service":"payment","traceparent":"00-%s-%s-01","order_id":"%s","card":"4111 1111 1111 1111","reason":"insufficient funds"}\n' \
				"$ts" "$trace" "$(hex 8)" "$order"
			;;
		7)
			printf 'payment: connection reset by peer (order %s), retrying\n' "$order"
			;;
		*)
			printf '{"level":"info","time":"%s","msg":"payment authorized","service":"payment","traceparent":"00-%s-%s-01","order_id":"%s","amount":%d.%02d,"currency":"EUR"}\n' \
				"$ts" "$trace" "$(hex 8)" "$order" $((n % 200)) $((n % 100))
			;;
		esac
	} >>"$LOG_FILE"
	if [ "$(wc -c <"$LOG_FILE")" -gt "$MAX_BYTES" ]; then
		mv -f "$LOG_FILE" "$LOG_FILE.1"
	fi
	sleep "$INTERVAL"
done
