#!/bin/sh
# One-shot set-up of the compose broker, run in the broker's network namespace
# through its local PLAINTEXT listener (127.0.0.1:9094, not reachable from the
# other containers): one SCRAM-SHA-512 principal per service, then every topic
# of shared/topics.py with its partition count (a unit test keeps the list in
# step). Idempotent: run again, it changes nothing.
set -eu
KAFKA=/opt/kafka/bin
BOOTSTRAP=127.0.0.1:9094

scram() {  # principal password
    "$KAFKA/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --alter --entity-type users \
        --entity-name "$1" --add-config "SCRAM-SHA-512=[iterations=8192,password=$2]"
}
scram usage-ingest "$KAFKA_PASSWORD_USAGE_INGEST"
scram balance "$KAFKA_PASSWORD_BALANCE"
scram invoicing "$KAFKA_PASSWORD_INVOICING"
scram portal "$KAFKA_PASSWORD_PORTAL"
scram reconciler "$KAFKA_PASSWORD_RECONCILER"

for spec in \
    wa.message-status.v1:12 billing.directory.v1:3 billing.ratecards.v1:1 billing.payments.v1:6 \
    billing.commands.v1:1 billing.balance-events.v1:6 billing.invoices.v1:6 \
    billing.internal.usage-priced.v1:12 billing.internal.ledger-entries.v1:6 \
    billing.internal.ledger-close.v1:1 billing.internal.ledger-closed.v1:1 \
    billing.internal.invoice-documents.v1:6 billing.internal.balance-moves.v1:6 \
    billing.internal.usage-days.v1:6 billing.internal.topup-requests.v1:3 \
    billing.internal.reconciliation.v1:1 billing.internal.balance-credits.v1:6 \
    wa.message-status.v1.dlq:1 billing.directory.v1.dlq:1 billing.ratecards.v1.dlq:1 \
    billing.payments.v1.dlq:1 billing.commands.v1.dlq:1 billing.internal.usage-priced.v1.dlq:1 \
    billing.internal.ledger-entries.v1.dlq:1 billing.internal.ledger-close.v1.dlq:1 \
    billing.internal.ledger-closed.v1.dlq:1 billing.internal.invoice-documents.v1.dlq:1 \
    billing.internal.balance-moves.v1.dlq:1 billing.internal.usage-days.v1.dlq:1 \
    billing.internal.topup-requests.v1.dlq:1 billing.internal.reconciliation.v1.dlq:1 \
    billing.internal.balance-credits.v1.dlq:1; do
    "$KAFKA/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "${spec%%:*}" --partitions "${spec##*:}" --replication-factor 1
done
# A documents record carries a whole PDF (shared/topics.py INVOICE_DOCUMENTS).
"$KAFKA/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --alter --entity-type topics \
    --entity-name billing.internal.invoice-documents.v1 --add-config max.message.bytes=8388608
echo "kafka-init: principals and topics are in place"
