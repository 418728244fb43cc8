"""Who may do what: each service's Kafka principal and ACLs, its PostgreSQL role (docs/security.md)."""
