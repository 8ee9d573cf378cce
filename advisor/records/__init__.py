"""What keeps the audit trail honest outside its database: the chain's key and its anchor."""
