"""guardrails stage."""
