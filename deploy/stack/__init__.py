"""The local stack: a real Kafka broker (KRaft, jars from Maven Central), a real
PostgreSQL server and the three services, started and stopped without Docker."""
